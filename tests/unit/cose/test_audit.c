/* test_audit.c: the audit listing (src/cose/audit.c) and problem decoding. */
#include <stdlib.h>

#include "cases.h"

static scitt_cose_audit_entry_t sample(void)
{
    scitt_cose_audit_entry_t e = {0};
    memset(e.id, 0xab, sizeof(e.id));
    e.index = 7;
    e.time = 1700000000;
    e.iss = scitt_span_str("i\"s\n");
    e.sub = scitt_span_str("s");
    e.key_id = scitt_span("\x01\x02", 2);
    e.has_content_type = true;
    e.content_type.num = 60;
    return e;
}

Test(cose_audit, cbor_is_deterministic)
{
    scitt_cose_audit_entry_t e = sample();
    scitt_buf_t b;
    size_t want_len;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_cose_audit_encode(&b, &e, 1, "AQAAAAAAAAAI"), 0);
    /* (cbor2.dumps(..., canonical=True) agrees.) {"next": "AQAAAAAAAAAI", "entries": [{"id": h'ab..', "iss": "i\"s\n",
     *  "kid": h'0102', "sub": "s", "time": 1700000000, "index": 7,
     *  "content_type": 60}]} */
    uint8_t *want = tu_hex("a2646e6578746c41514141414141414141414967656e747269657381a7"
                           "6269645820abababababababababababababababababababababababababababababababab"
                           "63697373646922730a"
                           "636b6964420102"
                           "637375626173"
                           "6474696d651a6553f100"
                           "65696e64657807"
                           "6c636f6e74656e745f74797065183c",
                           &want_len);
    cr_assert(scitt_span_eq(scitt_buf_span(&b), scitt_span(want, want_len)));
    free(want);

    /* Decoding gives the same fields back. */
    scitt_cose_audit_entry_t d[2];
    size_t num;
    scitt_span_t next;
    cr_assert_eq(scitt_cose_audit_decode(d, 2, &num, &next, b.base, b.len, NULL), 0);
    cr_assert_eq(num, 1);
    cr_assert(scitt_span_eq(next, scitt_span_str("AQAAAAAAAAAI")));
    cr_assert_arr_eq(d[0].id, e.id, 32);
    cr_assert_eq(d[0].index, 7);
    cr_assert_eq(d[0].time, 1700000000);
    cr_assert(scitt_span_eq(d[0].iss, e.iss));
    cr_assert(scitt_span_eq(d[0].key_id, e.key_id));
    cr_assert(d[0].has_content_type && !d[0].content_type.is_text && d[0].content_type.num == 60);
    /* Too many entries for the caller's array. */
    cr_assert_eq(scitt_cose_audit_decode(d, 0, &num, &next, b.base, b.len, NULL), SCITT_ETOOBIG);
    scitt_buf_cleanup(&b);
}

Test(cose_audit, absent_fields_are_omitted)
{
    scitt_cose_audit_entry_t e = {0};
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_cose_audit_encode(&b, &e, 1, NULL), 0);
    cr_assert_eq(b.base[0], 0xa1);  /* no "next" */
    cr_assert_eq(b.base[10], 0xa3); /* id, time, index */
    scitt_buf_reset(&b);
    cr_assert_eq(scitt_cose_audit_json(&b, &e, 1, NULL), 0);
    const char *want = "{\"entries\":[{\"id\":\"0000000000000000000000000000000000000000000000000000000000000000\","
                       "\"index\":0,\"time\":0}]}\n";
    cr_assert_eq(b.len, strlen(want));
    cr_assert_arr_eq(b.base, want, b.len);
    scitt_buf_cleanup(&b);
}

Test(cose_audit, json_shape)
{
    scitt_cose_audit_entry_t e = sample();
    e.content_type.is_text = true;
    e.content_type.text = scitt_span_str("text/plain");
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_cose_audit_json(&b, &e, 1, "AQAAAAAAAAAI"), 0);
    const char *want = "{\"entries\":[{\"id\":\"abababababababababababababababababababababababababababababababab\","
                       "\"index\":7,\"time\":1700000000,\"iss\":\"i\\\"s\\n\",\"sub\":\"s\",\"kid\":\"AQI\","
                       "\"content_type\":\"text/plain\"}],\"next\":\"AQAAAAAAAAAI\"}\n";
    cr_assert_eq(b.len, strlen(want), "%.*s", (int)b.len, b.base);
    cr_assert_arr_eq(b.base, want, b.len);
    scitt_buf_cleanup(&b);
}

#define SCITT_TEST_ZERO32 "0000000000000000000000000000000000000000000000000000000000000000"

Test(cose_audit, decoder_rejects)
{
    scitt_cose_audit_entry_t d[2];
    size_t num;
    scitt_span_t next;
    const char *why = NULL;
    const char *bad[] = {
        "a0",                     /* no entries */
        "a167656e747269657381a0", /* entry without id/index/time */
        "a167656e747269657380ff", /* trailing byte */
        "a267656e747269657380"
        "67656e747269657380", /* duplicate key */
        "a1646e65787401",     /* next not text */
        "80",                 /* not a map */
        /* text that is not UTF-8 (the encoder would write U+FFFD for it, so
         * it could not round-trip; found by fuzz_audit_listing) */
        "a167656e747269657381a46269645820" SCITT_TEST_ZERO32 "6474696d650065696e646578006c636f6e74656e745f7479706561ff",
        "a167656e747269657381a46269645820" SCITT_TEST_ZERO32 "6474696d650065696e64657800636973736261ff",
    };
    for (size_t i = 0; i < scitt_countof(bad); i++) {
        size_t len;
        uint8_t *in = tu_hex(bad[i], &len);
        cr_assert_neq(scitt_cose_audit_decode(d, 2, &num, &next, in, len, &why), 0, "accepted %s", bad[i]);
        cr_assert_not_null(why);
        free(in);
    }
}

Test(cose_audit, problem_round_trip)
{
    scitt_buf_t b;
    scitt_span_t title, detail;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_cose_problem_encode(&b, "Bad Request", "limit must be", 400), 0);
    cr_assert_eq(scitt_cose_problem_decode(&title, &detail, b.base, b.len), 0);
    cr_assert(scitt_span_eq(title, scitt_span_str("Bad Request")));
    cr_assert(scitt_span_eq(detail, scitt_span_str("limit must be")));
    cr_assert_neq(scitt_cose_problem_decode(&title, &detail, b.base, b.len - 1), 0);
    cr_assert_eq(title.len, 0);
    scitt_buf_cleanup(&b);
}

/* A statement's iss and sub are whatever its signer wrote: bytes that are
 * not UTF-8 must not make the listing invalid CBOR (RFC 8949 3.1: a text
 * string is UTF-8; strict decoders such as cbor2 refuse the whole page).
 * Each such byte becomes U+FFFD, as in the JSON listing. */
Test(cose_audit, text_that_is_not_utf8)
{
    scitt_cose_audit_entry_t e = {0};
    e.iss = scitt_span("a\xff"
                       "b\xed\xa0\x80",
                       6);
    e.sub = scitt_span("\xe2\x82", 2); /* a cut sequence */
    e.has_content_type = true;
    e.content_type.is_text = true;
    e.content_type.text = scitt_span("\xc0\xafx", 3); /* overlong '/' */
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_cose_audit_encode(&b, &e, 1, NULL), 0);
    scitt_cose_audit_entry_t d[1];
    size_t num;
    scitt_span_t next;
    cr_assert_eq(scitt_cose_audit_decode(d, 1, &num, &next, b.base, b.len, NULL), 0);
    cr_assert(scitt_span_eq(d[0].iss, scitt_span_str("a\xef\xbf\xbd"
                                                     "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd")));
    cr_assert(scitt_span_eq(d[0].sub, scitt_span_str("\xef\xbf\xbd\xef\xbf\xbd")));
    cr_assert(d[0].has_content_type && d[0].content_type.is_text);
    cr_assert(scitt_span_eq(d[0].content_type.text, scitt_span_str("\xef\xbf\xbd\xef\xbf\xbdx")));
    /* Well-formed text is written as it is. */
    scitt_buf_reset(&b);
    e.iss = scitt_span_str("caf\xc3\xa9 \xf0\x9f\x94\x91");
    cr_assert_eq(scitt_cose_audit_encode(&b, &e, 1, NULL), 0);
    cr_assert_eq(scitt_cose_audit_decode(d, 1, &num, &next, b.base, b.len, NULL), 0);
    cr_assert(scitt_span_eq(d[0].iss, e.iss));
    scitt_buf_cleanup(&b);
}
