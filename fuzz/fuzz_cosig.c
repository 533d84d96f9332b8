/*
 * fuzz_cosig.c: arbitrary bytes as a cosigned note into the cosignature
 * line parser and the counter. Invariants:
 *  - no crash; the parser's only failure is SCITT_EMALFORMED;
 *  - a line that parses has its name inside the line, a time up to 2^63-1,
 *    and prints back (name, base64 of id || time || signature) to exactly
 *    the same bytes: there is one spelling of a cosignature;
 *  - the count is the number of cosigners flagged valid, never more than
 *    the list; failures are only EMALFORMED (no signature block) or ETOOBIG;
 *  - when the input has a signature block, adding a fresh cosignature by a
 *    listed witness over its body raises the count by one unless that
 *    witness already counted (or the line limit is reached).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/note.h"

#include "check.h"

static scitt_cosigner_t witnesses[2];

static void setup(void)
{
    static bool done;
    if (done) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        scitt_key_t *key;
        CHECK(scitt_key_generate(&key, SCITT_ALG_EDDSA) == 0);
        CHECK(scitt_cosigner_init(&witnesses[i], i == 0 ? "w.example/a" : "w.example/b", key) == 0);
    }
    done = true;
}

static void check_line(const uint8_t *line, size_t len)
{
    scitt_cosig_t s;
    int rc = scitt_cosig_parse(line, len, &s);
    if (rc != 0) {
        CHECK(rc == SCITT_EMALFORMED);
        return;
    }
    CHECK(scitt_span_within(s.name, scitt_span(line, len)) && s.name.len > 0);
    CHECK(s.time <= SCITT_COSIG_MAX_TIME);
    uint8_t blob[SCITT_COSIG_BLOB_LEN];
    memcpy(blob, s.id, 4);
    for (int i = 0; i < 8; i++) {
        blob[4 + i] = (uint8_t)(s.time >> (56 - 8 * i));
    }
    memcpy(blob + 12, s.sig, 64);
    char b64[128];
    scitt_base64_encode(b64, blob, sizeof(blob), SCITT_B64_STD);
    scitt_buf_t again;
    scitt_buf_init(&again, NULL, 0);
    CHECK(scitt_buf_printf(&again, "\xe2\x80\x94 %.*s %s", (int)s.name.len, (const char *)s.name.base, b64) == 0);
    CHECK(scitt_span_eq(scitt_buf_span(&again), scitt_span(line, len)));
    scitt_buf_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    for (size_t start = 0; start <= size;) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl != NULL ? (size_t)(nl - data) : size;
        check_line(data + start, end - start);
        start = end + 1;
    }
    bool valid[2];
    size_t count = 99;
    int rc = scitt_cosig_count(data, size, witnesses, 2, valid, &count);
    if (rc != 0) {
        CHECK(rc == SCITT_EMALFORMED || rc == SCITT_ETOOBIG);
        CHECK(count == 0);
        return 0;
    }
    CHECK(count == (size_t)valid[0] + (size_t)valid[1]);
    /* The body is everything up to the first blank line. */
    const uint8_t *sep = memmem(data, size, "\n\n", 2);
    CHECK(sep != NULL);
    if (size == 0 || data[size - 1] != '\n' || valid[1]) {
        return 0;
    }
    scitt_buf_t note;
    scitt_buf_init(&note, NULL, 0);
    CHECK(scitt_buf_append(&note, data, size) == 0);
    CHECK(scitt_cosig_sign(&note, scitt_span(data, (size_t)(sep - data) + 1), 1700000000, &witnesses[1]) == 0);
    size_t after = 0;
    rc = scitt_cosig_count(note.base, note.len, witnesses, 2, valid, &after);
    CHECK(rc == SCITT_ETOOBIG || (rc == 0 && after == count + 1 && valid[1]));
    scitt_buf_cleanup(&note);
    return 0;
}
