#include <stdio.h>
#include <criterion/criterion.h>
#include <stdlib.h>

#include "scitt/core.h"

/* RFC 4648 section 10 test vectors. */
static const char *rfc4648_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *rfc4648_b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *rfc4648_hex[] = {"", "66", "666f", "666f6f", "666f6f62", "666f6f6261", "666f6f626172"};

Test(core_codec, base64_rfc4648_vectors)
{
    for (size_t i = 0; i < scitt_countof(rfc4648_in); i++) {
        const char *in = rfc4648_in[i];
        char out[32];
        size_t n = scitt_base64_encode(out, (const uint8_t *)in, strlen(in), SCITT_B64_STD);
        cr_assert_str_eq(out, rfc4648_b64[i]);
        cr_assert_eq(n, scitt_base64_encoded_len(strlen(in), SCITT_B64_STD));
        uint8_t dec[32];
        size_t dec_len = 99;
        cr_assert_eq(scitt_base64_decode(dec, sizeof(dec), &dec_len, out, n, SCITT_B64_STD), 0);
        cr_assert_eq(dec_len, strlen(in));
        cr_assert_arr_eq(dec, in, dec_len);
    }
}

Test(core_codec, base64url_unpadded)
{
    const uint8_t in[] = {0xfb, 0xff, 0xbf};
    char out[8];
    scitt_base64_encode(out, in, 3, SCITT_B64_URL);
    cr_assert_str_eq(out, "-_-_");
    scitt_base64_encode(out, in, 2, SCITT_B64_URL);
    cr_assert_str_eq(out, "-_8");
    cr_assert_eq(scitt_base64_encoded_len(2, SCITT_B64_URL), 3);
    scitt_base64_encode(out, in, 3, SCITT_B64_STD);
    cr_assert_str_eq(out, "+/+/");
}

Test(core_codec, base64_rejects_bad_input)
{
    static const struct {
        const char *s;
        scitt_b64_t v;
    } bad[] = {
        {"Zg=", SCITT_B64_STD},  {"Zg", SCITT_B64_STD},        {"Zh==", SCITT_B64_STD}, /* non-zero unused bits */
        {"Z===", SCITT_B64_STD}, {"Zm9v Zg==", SCITT_B64_STD}, {"Zm=v", SCITT_B64_STD}, {"Zm8-", SCITT_B64_STD},
        {"Zg==", SCITT_B64_URL}, {"Z", SCITT_B64_URL},         {"Zm9+", SCITT_B64_URL}, {"Zh", SCITT_B64_URL},
        {"====", SCITT_B64_STD}, {"Zm9v\n", SCITT_B64_URL},
    };
    for (size_t i = 0; i < scitt_countof(bad); i++) {
        uint8_t out[16];
        size_t n;
        int rc = scitt_base64_decode(out, sizeof(out), &n, bad[i].s, strlen(bad[i].s), bad[i].v);
        cr_assert_eq(rc, SCITT_EMALFORMED, "accepted %s (rc %d)", bad[i].s, rc);
    }
}

Test(core_codec, base64_output_too_small)
{
    uint8_t out[2];
    size_t n;
    cr_assert_eq(scitt_base64_decode(out, sizeof(out), &n, "Zm9v", 4, SCITT_B64_STD), SCITT_ETOOBIG);
}

Test(core_codec, base64_round_trips_random_bytes)
{
    srand(7);
    for (size_t len = 0; len < 200; len++) {
        uint8_t in[200], dec[200];
        char enc[300];
        for (size_t i = 0; i < len; i++) {
            in[i] = (uint8_t)rand();
        }
        for (int v = SCITT_B64_STD; v <= SCITT_B64_URL; v++) {
            size_t n = scitt_base64_encode(enc, in, len, (scitt_b64_t)v);
            size_t dec_len;
            cr_assert_eq(scitt_base64_decode(dec, sizeof(dec), &dec_len, enc, n, (scitt_b64_t)v), 0);
            cr_assert_eq(dec_len, len);
            cr_assert(len == 0 || memcmp(dec, in, len) == 0);
        }
    }
}

Test(core_codec, hex_vectors_and_rejections)
{
    for (size_t i = 0; i < scitt_countof(rfc4648_in); i++) {
        char out[32];
        scitt_hex_encode(out, (const uint8_t *)rfc4648_in[i], strlen(rfc4648_in[i]));
        cr_assert_str_eq(out, rfc4648_hex[i]);
    }
    uint8_t out[4];
    size_t n;
    cr_assert_eq(scitt_hex_decode(out, 4, &n, "DEADbeef", 8), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(out[0], 0xde);
    cr_assert_eq(out[3], 0xef);
    cr_assert_eq(scitt_hex_decode(out, 4, &n, "abc", 3), SCITT_EMALFORMED);
    cr_assert_eq(scitt_hex_decode(out, 4, &n, "zz", 2), SCITT_EMALFORMED);
    cr_assert_eq(scitt_hex_decode(out, 4, &n, "0x", 2), SCITT_EMALFORMED);
    cr_assert_eq(scitt_hex_decode(out, 4, &n, "a b ", 4), SCITT_EMALFORMED);
    cr_assert_eq(scitt_hex_decode(out, 1, &n, "abcd", 4), SCITT_ETOOBIG);
}

Test(core_codec, parse_u64_is_strict)
{
    uint64_t v;
    cr_assert_eq(scitt_parse_u64("0", 1, &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(scitt_parse_u64("18446744073709551615", 20, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    cr_assert_eq(scitt_parse_u64("18446744073709551616", 20, &v), SCITT_ERANGE);
    cr_assert_eq(scitt_parse_u64("007", 3, &v), SCITT_EMALFORMED);
    cr_assert_eq(scitt_parse_u64("", 0, &v), SCITT_EMALFORMED);
    cr_assert_eq(scitt_parse_u64("-1", 2, &v), SCITT_EMALFORMED);
    cr_assert_eq(scitt_parse_u64("1a", 2, &v), SCITT_EMALFORMED);
}

/* format_u64 against snprintf, and round trips through parse_u64. */
Test(core_codec, format_u64)
{
    char buf[21], want[32];
    const uint64_t vals[] = {0, 7, 10, 99, 200, 12345, 4294967296ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        for (size_t pad = 0; pad <= 4; pad += 2) {
            size_t n = scitt_format_u64(buf, vals[i], pad);
            buf[n] = '\0';
            snprintf(want, sizeof(want), "%0*llu", (int)pad, (unsigned long long)vals[i]);
            cr_assert_str_eq(buf, want);
        }
        uint64_t back;
        size_t n = scitt_format_u64(buf, vals[i], 1);
        cr_assert_eq(scitt_parse_u64(buf, n, &back), 0);
        cr_assert_eq(back, vals[i]);
    }
    cr_assert_eq(scitt_format_u64(buf, 5, 20), 20);
}

Test(core_codec, byte_order_helpers)
{
    uint8_t b[8];
    scitt_store_be64(b, 0x0102030405060708ull);
    cr_assert_eq(b[0], 1);
    cr_assert_eq(b[7], 8);
    cr_assert_eq(scitt_load_be64(b), 0x0102030405060708ull);
    scitt_store_be16(b, 0xabcd);
    cr_assert_eq(scitt_load_be16(b), 0xabcd);
}

/* Key ids (issue 15): one printed spelling, unpadded base64url, read back
 * verbatim; 64 hex digits (either case) are the 32 bytes they spell. */
Test(core_codec, kid_spellings)
{
    static const char hex[] = "8b1be2cf0c42fb4cd575a3eaa91c0421204c1ea45569f7de7c5a9a6c6d702ee8";
    static const char b64[] = "ixvizwxC-0zVdaPqqRwEISBMHqRVaffefFqabG1wLug";
    uint8_t want[32], got[64];
    size_t n;
    cr_assert_eq(scitt_hex_decode(want, sizeof(want), &n, hex, 64), 0);
    cr_assert_eq(scitt_kid_parse(got, sizeof(got), &n, b64, strlen(b64)), 0);
    cr_assert_eq(n, 32);
    cr_assert_arr_eq(got, want, 32);
    cr_assert_eq(scitt_kid_parse(got, sizeof(got), &n, hex, 64), 0);
    cr_assert_eq(n, 32);
    cr_assert_arr_eq(got, want, 32);
    char upper[65];
    for (size_t i = 0; i < 64; i++) {
        upper[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    }
    cr_assert_eq(scitt_kid_parse(got, sizeof(got), &n, upper, 64), 0);
    cr_assert_arr_eq(got, want, 32);

    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_kid_append(&b, scitt_span(want, 32)), 0);
    cr_assert_eq(b.len, strlen(b64));
    cr_assert_arr_eq(b.base, b64, b.len);
    scitt_buf_cleanup(&b);

    /* Other lengths are base64url only: "0aFF" is 3 bytes, not 2. */
    cr_assert_eq(scitt_kid_parse(got, sizeof(got), &n, "0aFF", 4), 0);
    cr_assert_eq(n, 3);
    static const char *const bad[] = {"",
                                      "A",
                                      "AQI=",
                                      "AQJ",
                                      "a+b/",
                                      "ixvizwxC-0zVdaPqqRwEISBMHqRVaffefFqabG1wLug=",
                                      "8b1be2cf0c42fb4cd575a3eaa91c0421204c1ea45569f7de7c5a9a6c6d702ee"};
    for (size_t i = 0; i < scitt_countof(bad); i++) {
        cr_assert_eq(scitt_kid_parse(got, sizeof(got), &n, bad[i], strlen(bad[i])), SCITT_EMALFORMED, "%s", bad[i]);
    }
    cr_assert_eq(scitt_kid_parse(got, 31, &n, hex, 64), SCITT_ETOOBIG);
    cr_assert_eq(scitt_kid_parse(got, 31, &n, b64, strlen(b64)), SCITT_ETOOBIG);
}

/* Every kid, whatever its length, prints to a spelling that reads back as
 * the same bytes, except a 48-byte kid whose base64url is 64 hex digits
 * (docs/DECISIONS.md): then it reads as the 32 bytes those digits spell. */
Test(core_codec, kid_round_trips)
{
    srand(11);
    for (size_t len = 1; len <= 200; len++) {
        uint8_t kid[200], back[200];
        for (size_t i = 0; i < len; i++) {
            kid[i] = (uint8_t)rand();
        }
        scitt_buf_t b;
        scitt_buf_init(&b, NULL, 0);
        cr_assert_eq(scitt_kid_append(&b, scitt_span(kid, len)), 0);
        size_t n;
        cr_assert_eq(scitt_kid_parse(back, sizeof(back), &n, (const char *)b.base, b.len), 0, "len %zu", len);
        cr_assert_eq(n, len);
        cr_assert_arr_eq(back, kid, len);
        scitt_buf_cleanup(&b);
    }
    uint8_t tight[3] = {0};
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 3);
    cr_assert_eq(scitt_kid_append(&b, scitt_span(tight, 3)), SCITT_ETOOBIG, "4 characters do not fit in 3");
    cr_assert_eq(b.len, 0);
    scitt_buf_cleanup(&b);
}
