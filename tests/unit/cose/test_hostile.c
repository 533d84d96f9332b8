/* test_hostile.c: the edges of what the decoder refuses so that nothing is
 * logged that a mirror or a strict CBOR reader could not take back (issue 16
 * D, E): UTF-8, float widths, map sizes, keys alike at both ends. The whole
 * hostile statements of cases.h are in test_sign1.c and test_statement.c. */
#include <stdlib.h>

#include "cases.h"

/* value_case makes `item_hex` the value of a private protected label of an
 * otherwise empty-headed statement, 18([<<{-70000: item}>>, {}, h'', h'']),
 * and decodes it. */
static int value_case(const char *item_hex)
{
    char hex[1024];
    size_t len;
    size_t prot_len = 6 + strlen(item_hex) / 2; /* the map head, the label, the item */
    char bstr_head[8];
    snprintf(bstr_head, sizeof(bstr_head), prot_len < 24 ? "%02zx" : "58%02zx",
             prot_len < 24 ? 0x40 + prot_len : prot_len);
    snprintf(hex, sizeof(hex), "d284%sa13a0001116f%sa04040", bstr_head, item_hex);
    uint8_t *data = tu_hex(hex, &len);
    scitt_cose_sign1_t s;
    int rc = scitt_cose_sign1_decode(&s, data, len, 0, NULL);
    free(data);
    return rc;
}

Test(cose_hostile, float_widths_at_the_edges)
{
    static const struct {
        const char *hex;
        bool ok;
    } cases[] = {
        {"f93c00", true},              /* 1.0 in float16 */
        {"fa3f800000", false},         /* 1.0 in float32 */
        {"fa3f800001", true},          /* needs float32 */
        {"fa477fe000", false},         /* 65504, float16's largest */
        {"fa477ff000", true},          /* 65520: not a float16 */
        {"fa33800000", false},         /* 2^-24, float16's smallest subnormal */
        {"fa33000000", true},          /* 2^-25 */
        {"fa38000000", false},         /* 2^-15, a float16 subnormal */
        {"fa38001000", true},          /* 2^-15 with a bit float16 cannot keep */
        {"fa7f800000", false},         /* +infinity */
        {"fa7fc00000", false},         /* the quiet NaN */
        {"fa7f800001", true},          /* a NaN whose payload needs float32 */
        {"fb3ff0000000000000", false}, /* 1.0 in float64 */
        {"fb3ff0000000000001", true},  /* needs float64 */
        {"fb36a0000000000000", false}, /* 2^-149, float32's smallest subnormal */
        {"fb3690000000000000", true},  /* 2^-150 */
        {"fb47efffffe0000000", false}, /* float32's largest */
        {"fb7ff0000000000000", false}, /* +infinity */
        {"fb0000000000000001", true},  /* a float64 subnormal */
        {"fb8000000000000000", false}, /* -0.0 */
    };
    for (size_t i = 0; i < scitt_countof(cases); i++) {
        int rc = value_case(cases[i].hex);
        cr_assert_eq(rc == 0, cases[i].ok, "%s: %s", cases[i].hex, scitt_err_name(rc));
    }
}

Test(cose_hostile, utf8_edges)
{
    static const struct {
        const char *hex;
        bool ok;
    } cases[] = {
        {"7f", true},        /* U+007F */
        {"c280", true},      /* U+0080 */
        {"c1bf", false},     /* overlong U+007F */
        {"dfbf", true},      /* U+07FF */
        {"e0a080", true},    /* U+0800 */
        {"e09fbf", false},   /* overlong U+07FF */
        {"ed9fbf", true},    /* U+D7FF */
        {"edbfbf", false},   /* U+DFFF, a surrogate */
        {"ee8080", true},    /* U+E000 */
        {"f0908080", true},  /* U+10000 */
        {"f08fbfbf", false}, /* overlong U+FFFF */
        {"f48fbfbf", true},  /* U+10FFFF */
        {"f8888080", false}, /* a 5-byte form */
        {"80", false},       /* a lone continuation byte */
        {"e282", false},     /* cut short */
        {"e228a1", false},   /* a bad continuation byte */
    };
    for (size_t i = 0; i < scitt_countof(cases); i++) {
        /* The text is the value of a private protected label. */
        char item[64];
        snprintf(item, sizeof(item), "%02zx%s", 0x60 + strlen(cases[i].hex) / 2, cases[i].hex);
        int rc = value_case(item);
        cr_assert_eq(rc == 0, cases[i].ok, "%s: %s", cases[i].hex, scitt_err_name(rc));
    }
}

Test(cose_hostile, nested_maps_hold_at_most_64_entries)
{
    /* {-70000: {0: 0, 1: 0, ..., n-1: 0}} for n = 64 and 65. */
    for (size_t n = 64; n <= 65; n++) {
        scitt_buf_t item;
        scitt_buf_init(&item, NULL, 0);
        char hexbuf[8];
        snprintf(hexbuf, sizeof(hexbuf), "b8%02zx", n);
        scitt_buf_append_str(&item, hexbuf);
        for (size_t k = 0; k < n; k++) {
            snprintf(hexbuf, sizeof(hexbuf), k < 24 ? "%02zx00" : "18%02zx00", k);
            scitt_buf_append_str(&item, hexbuf);
        }
        char hex[1024];
        size_t len;
        size_t prot_len = 6 + item.len / 2; /* under 256: a one-byte length */
        snprintf(hex, sizeof(hex), "d28458%02zxa13a0001116f%.*sa04040", prot_len, (int)item.len,
                 (const char *)item.base);
        uint8_t *data = tu_hex(hex, &len);
        scitt_cose_sign1_t s;
        int rc = scitt_cose_sign1_decode(&s, data, len, 0, NULL);
        cr_assert_eq(rc, n <= 64 ? 0 : SCITT_EHEADER, "%zu entries: %s", n, scitt_err_name(rc));
        free(data);
        scitt_buf_cleanup(&item);
    }
}

Test(cose_hostile, keys_alike_at_both_ends_are_told_apart)
{
    /* Text keys of one length whose first and last 8 bytes agree share a
     * fingerprint; they are compared in full. */
    static const char a[] = "716161616161616161586161616161616161"; /* "aaaaaaaaXaaaaaaaa" */
    static const char b[] = "716161616161616161596161616161616161"; /* "aaaaaaaaYaaaaaaaa" */
    char item[256];
    snprintf(item, sizeof(item), "a2%s01%s02", a, b);
    cr_assert_eq(value_case(item), 0);
    snprintf(item, sizeof(item), "a3%s01%s02%s03", a, b, a);
    cr_assert_eq(value_case(item), SCITT_EDUPKEY);
}
