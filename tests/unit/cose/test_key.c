/* test_key.c: COSE_Key / COSE_KeySet encoding and parsing, RFC 9679
 * thumbprints. */
#include <stdlib.h>

#include "cases.h"

/* RFC 9679 section 6 (the RFC 9052 C.7.1 P-256 key "meriadoc"). */
static const char rfc9679_x[] = "65eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d";
static const char rfc9679_y[] = "1e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c";
static const char rfc9679_thumbprint[] = "496bd8afadf307e5b08c64b0421bf9dc01528a344a43bda88fadd1669da253ec";
static const char rfc9679_encoding[] = "a40102200121582065eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c"
                                       "08551d2258201e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c";

static scitt_key_t *rfc9679_key(void)
{
    size_t x_len, y_len;
    uint8_t *x = tu_hex(rfc9679_x, &x_len), *y = tu_hex(rfc9679_y, &y_len);
    scitt_key_t *key;
    cr_assert_eq(scitt_key_from_cose(&key, SCITT_KTY_EC2, SCITT_CRV_P256, scitt_span(x, x_len), scitt_span(y, y_len)),
                 0);
    free(x);
    free(y);
    return key;
}

Test(cose_key, thumbprint_matches_rfc9679_example)
{
    scitt_key_t *key = rfc9679_key();
    uint8_t tp[32];
    size_t want_len;
    cr_assert_eq(scitt_cose_key_thumbprint(NULL, tp, key), 0);
    uint8_t *want = tu_hex(rfc9679_thumbprint, &want_len);
    cr_assert_arr_eq(tp, want, 32);
    free(want);

    /* The encoding itself, via the public encoder with no kid and no alg. */
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    scitt_cose_keyinfo_t info = {key, scitt_span(NULL, 0), 0};
    cr_assert_eq(scitt_cose_key_encode(&buf, &info), 0);
    want = tu_hex(rfc9679_encoding, &want_len);
    cr_assert(scitt_span_eq(scitt_buf_span(&buf), scitt_span(want, want_len)));
    free(want);
    scitt_buf_cleanup(&buf);
    scitt_key_free(key);
}

Test(cose_key, keyset_round_trip_every_kty, .timeout = 60)
{
    const int algs[] = {SCITT_ALG_ES256, SCITT_ALG_ES384, SCITT_ALG_ES512, SCITT_ALG_EDDSA, SCITT_ALG_PS256};
    scitt_key_t *keys[5];
    uint8_t kids[5][32];
    scitt_cose_keyinfo_t infos[5];
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(scitt_key_generate(&keys[i], algs[i]), 0);
        cr_assert_eq(scitt_cose_key_thumbprint(NULL, kids[i], keys[i]), 0);
        infos[i] = (scitt_cose_keyinfo_t){keys[i], scitt_span(kids[i], 32), algs[i]};
    }
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    cr_assert_eq(scitt_cose_keyset_encode(&buf, infos, 5), 0);

    scitt_cose_key_t parsed[5];
    size_t num;
    const char *why = NULL;
    cr_assert_eq(scitt_cose_keyset_parse(parsed, 5, &num, buf.base, buf.len, &why), 0, "%s", why);
    cr_assert_eq(num, 5);
    cr_assert_eq(scitt_cose_keyset_parse(parsed, 4, &num, buf.base, buf.len, NULL), SCITT_ETOOBIG);
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(parsed[i].alg, algs[i]);
        cr_assert(scitt_span_eq(parsed[i].kid, scitt_span(kids[i], 32)));
        scitt_key_t *loaded;
        cr_assert_eq(scitt_cose_key_load(&loaded, &parsed[i]), 0);
        uint8_t tp[32];
        cr_assert_eq(scitt_cose_key_thumbprint(NULL, tp, loaded), 0);
        cr_assert_arr_eq(tp, kids[i], 32, "key %zu survives the round trip", i);
        /* A signature by the original verifies with the parsed key. */
        uint8_t sig[512];
        size_t sig_len;
        cr_assert_eq(scitt_sig_sign(keys[i], algs[i], (const uint8_t *)"m", 1, sig, sizeof(sig), &sig_len), 0);
        cr_assert_eq(scitt_sig_verify(loaded, algs[i], (const uint8_t *)"m", 1, sig, sig_len), 0);
        scitt_key_free(loaded);
        scitt_key_free(keys[i]);
    }
    scitt_buf_cleanup(&buf);
}

/* Malformed COSE_Key inputs, hand-built from the RFC 9679 key. */
static const struct {
    const char *name;
    const char *hex;
    int rc;
} bad_keys[] = {
    {"not a map", "80", SCITT_ETYPE},
    {"no kty", "a2200121582065eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d", SCITT_EBADKEY},
    {"unknown kty", "a10104", SCITT_EBADKEY},
    {"missing y", "a30102200121582065eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d", SCITT_EBADKEY},
    {"compressed y", "a40102200121582065eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d22f5",
     SCITT_EBADKEY},
    {"private d",
     "a20102235820"
     "1111111111111111111111111111111111111111111111111111111111111111",
     SCITT_EBADKEY},
    {"dup kty", "a201020102", SCITT_EDUPKEY},
    {"kid text", "a2010202616b", SCITT_ETYPE},
    {"indefinite", "bf0102ff", SCITT_EINDEF},
    {"trailing",
     "a40102200121582065eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d2258201e52ed75701163f7f9e40ddf9f3"
     "41b3dc9ba860af7e0ca7ca7e9eecd0084d19c00",
     SCITT_ETRAILING},
    {"truncated", "a2010220", SCITT_ETRUNCATED},
};

Test(cose_key, rejects_malformed_keys)
{
    for (size_t i = 0; i < scitt_countof(bad_keys); i++) {
        size_t len;
        uint8_t *data = tu_hex(bad_keys[i].hex, &len);
        scitt_cose_key_t k;
        const char *why = NULL;
        int rc = scitt_cose_key_parse(&k, data, len, &why);
        cr_assert_eq(rc, bad_keys[i].rc, "%s: got %s", bad_keys[i].name, scitt_err_name(rc));
        cr_assert_not_null(why, "%s", bad_keys[i].name);
        free(data);
    }
}

Test(cose_key, alg_must_suit_key)
{
    /* The RFC 9679 key with alg EdDSA (3: -8) parses but does not load. */
    size_t len;
    uint8_t *data = tu_hex("a50102032720012158"
                           "20"
                           "65eda5a12577c2bae829437fe338701a10aaa375e1bb5b5de108de439c08551d"
                           "225820"
                           "1e52ed75701163f7f9e40ddf9f341b3dc9ba860af7e0ca7ca7e9eecd0084d19c",
                           &len);
    scitt_cose_key_t k;
    scitt_key_t *key;
    cr_assert_eq(scitt_cose_key_parse(&k, data, len, NULL), 0);
    cr_assert_eq(k.alg, SCITT_ALG_EDDSA);
    cr_assert_eq(scitt_cose_key_load(&key, &k), SCITT_EBADKEY);
    free(data);
}

Test(cose_key, every_keyset_prefix_is_rejected)
{
    scitt_key_t *key = rfc9679_key();
    scitt_cose_keyinfo_t info = {key, scitt_span("kid", 3), SCITT_ALG_ES256};
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    cr_assert_eq(scitt_cose_keyset_encode(&buf, &info, 1), 0);
    for (size_t cut = 0; cut < buf.len; cut++) {
        uint8_t *prefix = malloc(cut ? cut : 1);
        memcpy(prefix, buf.base, cut);
        scitt_cose_key_t k[2];
        size_t num;
        cr_assert(scitt_cose_keyset_parse(k, 2, &num, prefix, cut, NULL) < 0, "prefix %zu", cut);
        free(prefix);
    }
    scitt_buf_cleanup(&buf);
    scitt_key_free(key);
}
