/*
 * fuzz_audit_listing.c: arbitrary bytes from a server into `scitt audit`'s
 * decoders: the audit listing (src/cose/audit.c) and concise problem
 * details. Invariants: every span lies inside the input; decoded text is
 * UTF-8 (the encoder writes U+FFFD for other bytes, so such text could not
 * round-trip: the decoder refuses it); a decoded listing re-encodes
 * (deterministic CBOR) and decodes again to the same fields, and its JSON
 * rendering succeeds; a failed decode says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/cose.h"

#define MAX_ENTRIES 16

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

static bool same(const scitt_cose_audit_entry_t *a, const scitt_cose_audit_entry_t *b)
{
    bool ct = a->has_content_type == b->has_content_type &&
              (!a->has_content_type ||
               (a->content_type.is_text == b->content_type.is_text && a->content_type.num == b->content_type.num &&
                scitt_span_eq(a->content_type.text, b->content_type.text)));
    return memcmp(a->id, b->id, sizeof(a->id)) == 0 && a->index == b->index && a->time == b->time &&
           scitt_span_eq(a->iss, b->iss) && scitt_span_eq(a->sub, b->sub) && scitt_span_eq(a->key_id, b->key_id) && ct;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static scitt_cose_audit_entry_t e[MAX_ENTRIES], e2[MAX_ENTRIES];
    scitt_span_t in = scitt_span(data, size), next, next2, title, detail;
    size_t num, num2;
    const char *why = NULL;

    if (scitt_cose_problem_decode(&title, &detail, data, size) == 0) {
        check(scitt_span_within(title, in) && scitt_span_within(detail, in));
    }

    if (scitt_cose_audit_decode(e, MAX_ENTRIES, &num, &next, data, size, &why) != 0) {
        check(why != NULL);
        return 0;
    }
    check(num <= MAX_ENTRIES && scitt_span_within(next, in));
    for (size_t i = 0; i < num; i++) {
        check(scitt_span_within(e[i].iss, in) && scitt_span_within(e[i].sub, in) && scitt_span_within(e[i].key_id, in));
        check(scitt_utf8_valid(e[i].iss) && scitt_utf8_valid(e[i].sub) &&
              (!e[i].content_type.is_text || scitt_utf8_valid(e[i].content_type.text)));
    }
    /* The encoder takes a C string for next: only round-trip NUL-free ones. */
    char next_str[256];
    bool has_next = next.len > 0;
    if (next.len >= sizeof(next_str) || (has_next && memchr(next.base, '\0', next.len) != NULL)) {
        return 0;
    }
    if (has_next) {
        memcpy(next_str, next.base, next.len);
    }
    next_str[next.len] = '\0';
    scitt_buf_t b, j;
    scitt_buf_init(&b, NULL, 0);
    scitt_buf_init(&j, NULL, 0);
    check(scitt_cose_audit_encode(&b, e, num, has_next ? next_str : NULL) == 0);
    check(scitt_cose_audit_json(&j, e, num, has_next ? next_str : NULL) == 0);
    check(scitt_cose_audit_decode(e2, MAX_ENTRIES, &num2, &next2, b.base, b.len, &why) == 0);
    check(num2 == num && scitt_span_eq(next, next2));
    for (size_t i = 0; i < num; i++) {
        check(same(&e[i], &e2[i]));
    }
    scitt_buf_cleanup(&b);
    scitt_buf_cleanup(&j);
    return 0;
}
