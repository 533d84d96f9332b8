/* test_limits.c: the published configuration (encode, decode, hostile
 * input) and the bound on a transparent statement that it publishes, checked
 * against the largest receipt we can encode. */
#include <stdint.h>
#include <stdlib.h>

#include "cases.h"
#include "scitt/receipt.h"

Test(cose_limits, receipt_bound_covers_the_largest_receipt)
{
    /* Every field at its largest: a 64-byte kid, a long origin, iat and
     * tree size at their maximum, a 64-hash path, an ES512 signature. */
    static uint8_t kid[64], path[64][32], sig[132];
    char origin[300];
    memset(origin, 'o', sizeof(origin) - 1);
    origin[sizeof(origin) - 1] = '\0';
    scitt_buf_t prot, receipt, ts;
    scitt_buf_init(&prot, NULL, 0);
    scitt_buf_init(&receipt, NULL, 0);
    scitt_buf_init(&ts, NULL, 0);
    cr_assert_eq(scitt_receipt_protected(&prot, SCITT_ALG_ES512, scitt_span(kid, sizeof(kid)), scitt_span_str(origin),
                                         INT64_MIN),
                 0);
    cr_assert_eq(scitt_receipt_encode(&receipt, scitt_buf_span(&prot), UINT64_MAX, UINT64_MAX - 1,
                                      (const uint8_t(*)[32])path, 64, scitt_span(sig, sizeof(sig))),
                 0);
    cr_assert_leq(receipt.len, scitt_receipt_max_len(strlen(origin)), "receipt %zu bytes", receipt.len);

    /* The smallest statement form the receipt can be added to: untagged,
     * an empty unprotected map. */
    size_t len;
    uint8_t *stmt = tu_hex("8443a10126a04568656c6c6f5840"
                           "0000000000000000000000000000000000000000000000000000000000000000"
                           "0000000000000000000000000000000000000000000000000000000000000000",
                           &len);
    scitt_cose_sign1_t s;
    cr_assert_eq(scitt_cose_sign1_decode(&s, stmt, len, 0, NULL), 0);
    cr_assert_eq(scitt_receipt_transparent(&ts, &s, scitt_buf_span(&receipt)), 0);
    cr_assert_leq(ts.len, scitt_receipt_transparent_max_len(len, strlen(origin)), "%zu bytes from %zu", ts.len, len);
    free(stmt);
    scitt_buf_cleanup(&prot);
    scitt_buf_cleanup(&receipt);
    scitt_buf_cleanup(&ts);
}

Test(cose_limits, config_round_trip)
{
    scitt_cose_config_t in = {scitt_span_str("log.example"), 1u << 20, (1u << 20) + 4000}, out;
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    cr_assert_eq(scitt_cose_config_encode(&buf, &in), 0);
    /* {"issuer": "log.example", "max_statement_bytes": 1048576,
     *  "max_transparent_statement_bytes": 1052576} */
    size_t want_len;
    uint8_t *want = tu_hex("a3666973737565726b6c6f672e6578616d706c65"
                           "736d61785f73746174656d656e745f62797465731a00100000"
                           "781f6d61785f7472616e73706172656e745f73746174656d656e745f62797465731a00100fa0",
                           &want_len);
    cr_assert(scitt_span_eq(scitt_buf_span(&buf), scitt_span(want, want_len)));
    free(want);
    cr_assert_eq(scitt_cose_config_decode(&out, buf.base, buf.len, NULL), 0);
    cr_assert(scitt_span_eq(out.issuer, in.issuer));
    cr_assert_eq(out.max_statement_bytes, in.max_statement_bytes);
    cr_assert_eq(out.max_transparent_statement_bytes, in.max_transparent_statement_bytes);
    scitt_buf_cleanup(&buf);
}

Test(cose_limits, config_decode_rejects_bad_maps)
{
    static const char *const bad[] = {
        "80",                                           /* not a map */
        "a1736d61785f73746174656d656e745f627974657320", /* a negative limit */
        "a266697373756572606669737375657260",           /* a repeated key */
        "a1666973737565",                               /* truncated */
        "a0ff",                                         /* trailing bytes */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len;
        uint8_t *data = tu_hex(bad[i], &len);
        scitt_cose_config_t out;
        const char *why = NULL;
        cr_assert_neq(scitt_cose_config_decode(&out, data, len, &why), 0, "case %zu", i);
        cr_assert_eq(out.max_statement_bytes, 0);
        free(data);
    }
    /* Unknown keys are skipped, absent ones are 0. */
    size_t len;
    uint8_t *data = tu_hex("a2016161666973737565726178", &len);
    scitt_cose_config_t out;
    cr_assert_eq(scitt_cose_config_decode(&out, data, len, NULL), 0);
    cr_assert(scitt_span_eq(out.issuer, scitt_span_str("x")));
    cr_assert_eq(out.max_transparent_statement_bytes, 0);
    free(data);
}
