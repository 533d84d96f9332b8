/* test_cosig.c: the cosignature/v1 codec (check_cosig.py compares its bytes
 * with an independent implementation; this covers the rules). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "scitt/note.h"
#include "testutil.h"

/* The example line of tlog-cosignature: key id 8d66cf3f, time 1679315147. */
#define SPEC_LINE                                                                                                      \
    "\xe2\x80\x94 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ" \
    "qhf5nNo0xUe+mbIUBkBIfZ+qnA=="

static const char body_text[] = "log.example/a\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

Test(cosig, spec_example_line_parses)
{
    scitt_cosig_t s;
    cr_assert_eq(scitt_cosig_parse((const uint8_t *)SPEC_LINE, strlen(SPEC_LINE), &s), 0);
    cr_assert(scitt_span_eq(s.name, scitt_span_str("witness.example.com/w1")));
    cr_assert_eq(s.time, 1679315147);
    static const uint8_t id[4] = {0x8d, 0x66, 0xcf, 0x3f};
    cr_assert_arr_eq(s.id, id, 4);
}

Test(cosig, parse_rejects_lines_that_are_not_cosignatures)
{
    uint8_t blob[SCITT_COSIG_BLOB_LEN];
    char b64[128], line[256];
    memset(blob, 0, sizeof(blob));
    scitt_cosig_t s;
    static const char *bad[] = {
        "",
        "\xe2\x80\x94 ",
        "\xe2\x80\x94 name",
        "- name AAAA",
        "\xe2\x80\x94 name AAAAAAAAAAAA",                    /* a log signature size or less */
        "\xe2\x80\x94  jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn", /* empty name */
    };
    for (size_t i = 0; i < scitt_countof(bad); i++) {
        cr_assert_eq(scitt_cosig_parse((const uint8_t *)bad[i], strlen(bad[i]), &s), SCITT_EMALFORMED, "%zu", i);
    }
    /* Time 2^63 is above the spec's limit; 2^63 - 1 is fine. */
    blob[4] = 0x80;
    scitt_base64_encode(b64, blob, sizeof(blob), SCITT_B64_STD);
    snprintf(line, sizeof(line), "\xe2\x80\x94 w %s", b64);
    cr_assert_eq(scitt_cosig_parse((const uint8_t *)line, strlen(line), &s), SCITT_EMALFORMED);
    memset(blob + 4, 0xff, 8);
    blob[4] = 0x7f;
    scitt_base64_encode(b64, blob, sizeof(blob), SCITT_B64_STD);
    snprintf(line, sizeof(line), "\xe2\x80\x94 w %s", b64);
    cr_assert_eq(scitt_cosig_parse((const uint8_t *)line, strlen(line), &s), 0);
    cr_assert_eq(s.time, (uint64_t)INT64_MAX);
    /* A name with '+' or a trailing byte after the base64. */
    snprintf(line, sizeof(line), "\xe2\x80\x94 w+x %s", b64);
    cr_assert_eq(scitt_cosig_parse((const uint8_t *)line, strlen(line), &s), SCITT_EMALFORMED);
    snprintf(line, sizeof(line), "\xe2\x80\x94 w %s ", b64);
    cr_assert_eq(scitt_cosig_parse((const uint8_t *)line, strlen(line), &s), SCITT_EMALFORMED);
}

Test(cosig, sign_verify_count_and_key_types)
{
    scitt_key_t *k1, *k2;
    cr_assert_eq(scitt_key_generate(&k1, SCITT_ALG_EDDSA), 0);
    cr_assert_eq(scitt_key_generate(&k2, SCITT_ALG_EDDSA), 0);
    scitt_cosigner_t c[2];
    cr_assert_eq(scitt_cosigner_init(&c[0], "w.example/1", k1), 0);
    cr_assert_eq(scitt_cosigner_init(&c[1], "w.example/2", k2), 0);
    /* The cosigner's key id uses type 0x04: not the same as a log key's. */
    scitt_note_verifier_t logv;
    cr_assert_eq(scitt_note_verifier_init(&logv, "w.example/1", k1), 0);
    cr_assert_arr_neq(logv.id, c[0].v.id, 4);
    /* vkeys round trip, and a type 0x01 vkey is not a cosigner (and back). */
    scitt_buf_t vk, lvk;
    scitt_buf_init(&vk, NULL, 0);
    scitt_buf_init(&lvk, NULL, 0);
    cr_assert_eq(scitt_cosigner_vkey(&vk, &c[0]), 0);
    cr_assert_eq(scitt_note_vkey(&lvk, &logv), 0);
    scitt_cosigner_t parsed;
    scitt_note_verifier_t parsed_log;
    cr_assert_eq(scitt_cosigner_parse(&parsed, (const char *)vk.base, vk.len), 0);
    cr_assert_arr_eq(parsed.v.id, c[0].v.id, 4);
    scitt_cosigner_cleanup(&parsed);
    cr_assert_neq(scitt_cosigner_parse(&parsed, (const char *)lvk.base, lvk.len), 0);
    scitt_cosigner_cleanup(&parsed);
    cr_assert_neq(scitt_note_verifier_parse(&parsed_log, (const char *)vk.base, vk.len), 0);
    scitt_note_verifier_cleanup(&parsed_log);

    scitt_span_t body = scitt_span_str(body_text);
    scitt_buf_t note;
    scitt_buf_init(&note, NULL, 0);
    cr_assert_eq(scitt_note_sign(&note, body, &logv, k1), 0); /* the log's line, then cosignatures */
    cr_assert_eq(scitt_cosig_sign(&note, body, 1700000000, &c[0]), 0);
    size_t n = 99;
    bool valid[2];
    cr_assert_eq(scitt_cosig_count(note.base, note.len, c, 2, valid, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert(valid[0] && !valid[1]);
    cr_assert_eq(scitt_cosig_sign(&note, body, 1700000001, &c[1]), 0);
    cr_assert_eq(scitt_cosig_count(note.base, note.len, c, 2, valid, &n), 0);
    cr_assert_eq(n, 2);

    /* verify: ENOKEY for another's line, EBADSIG for a wrong body. */
    const uint8_t *last = memmem(note.base, note.len, "\xe2\x80\x94 w.example/2", 15);
    cr_assert_not_null(last);
    scitt_cosig_t s;
    cr_assert_eq(scitt_cosig_parse(last, (size_t)(note.base + note.len - 1 - last), &s), 0);
    cr_assert_eq(s.time, 1700000001);
    cr_assert_eq(scitt_cosig_verify(&s, body, &c[1]), 0);
    cr_assert_eq(scitt_cosig_verify(&s, body, &c[0]), SCITT_ENOKEY);
    cr_assert_eq(scitt_cosig_verify(&s, scitt_span_str("log.example/a\n6\nAA==\n"), &c[1]), SCITT_EBADSIG);
    s.time++;
    cr_assert_eq(scitt_cosig_verify(&s, body, &c[1]), SCITT_EBADSIG, "the time is signed");

    /* Bad inputs. */
    cr_assert_eq(scitt_cosig_sign(&note, scitt_span_str("no newline"), 1, &c[0]), SCITT_EINVAL);
    cr_assert_eq(scitt_cosig_sign(&note, body, (uint64_t)INT64_MAX + 1, &c[0]), SCITT_EINVAL);
    cr_assert_eq(scitt_cosig_count((const uint8_t *)body_text, strlen(body_text), c, 2, valid, &n), SCITT_EMALFORMED);
    scitt_buf_t many;
    scitt_buf_init(&many, NULL, 0);
    scitt_buf_printf(&many, "%s\n", body_text);
    for (int i = 0; i <= SCITT_NOTE_MAX_SIGS; i++) {
        scitt_cosig_sign(&many, body, 1, &c[1]);
    }
    cr_assert_eq(scitt_cosig_count(many.base, many.len, c, 2, valid, &n), SCITT_ETOOBIG);

    scitt_buf_cleanup(&many);
    scitt_buf_cleanup(&note);
    scitt_buf_cleanup(&vk);
    scitt_buf_cleanup(&lvk);
    scitt_note_verifier_cleanup(&logv);
    scitt_cosigner_cleanup(&c[0]);
    scitt_cosigner_cleanup(&c[1]);
    scitt_key_free(k1);
    scitt_key_free(k2);
}
