/*
 * codec.c: strict hex, base64 and decimal codecs.
 *
 * Strictness is the point: an input we accept has exactly one encoding, so an
 * EntryID, a kid in a URL or a checkpoint root cannot be spelled two ways.
 */
#include "scitt/core.h"

static const char hex_digits[] = "0123456789abcdef";

void scitt_hex_encode(char *out, const uint8_t *in, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* hex_value: 0..15 for a hex digit (either case), -1 otherwise. Indexed
 * by byte: EntryIDs in every GET path are decoded with it. */
static const int8_t hex_table[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static inline int hex_value(char c)
{
    return hex_table[(unsigned char)c] - 1; /* zero-initialised entries: -1 */
}

int scitt_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len)
{
    if (in_len % 2 != 0) {
        return SCITT_EMALFORMED;
    }
    if (in_len / 2 > out_cap) {
        return SCITT_ETOOBIG;
    }
    for (size_t i = 0; i < in_len; i += 2) {
        int hi = hex_value(in[i]);
        int lo = hex_value(in[i + 1]);
        if (hi < 0 || lo < 0) {
            return SCITT_EMALFORMED;
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = in_len / 2;
    return 0;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t scitt_base64_encoded_len(size_t len, scitt_b64_t variant)
{
    if (variant == SCITT_B64_STD) {
        return (len + 2) / 3 * 4;
    }
    return len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
}

size_t scitt_base64_encode(char *out, const uint8_t *in, size_t len, scitt_b64_t variant)
{
    const char *alpha = variant == SCITT_B64_STD ? b64_std : b64_url;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    size_t rest = len - i;
    if (rest > 0) {
        uint32_t v = (uint32_t)in[i] << 16 | (rest == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (rest == 2) {
            out[o++] = alpha[(v >> 6) & 63];
        }
        if (variant == SCITT_B64_STD) {
            out[o++] = '=';
            if (rest == 1) {
                out[o++] = '=';
            }
        }
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c, scitt_b64_t variant)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (variant == SCITT_B64_STD) {
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    }
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int scitt_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len,
                        scitt_b64_t variant)
{
    size_t data_len = in_len;
    if (variant == SCITT_B64_STD) {
        if (in_len % 4 != 0) {
            return SCITT_EMALFORMED;
        }
        if (in_len > 0 && in[in_len - 1] == '=') {
            data_len--;
            if (in[in_len - 2] == '=') {
                data_len--;
            }
        }
    } else if (in_len % 4 == 1) {
        return SCITT_EMALFORMED;
    }
    size_t rest = data_len % 4;
    if (rest == 1) {
        return SCITT_EMALFORMED;
    }
    size_t n = data_len / 4 * 3 + (rest == 0 ? 0 : rest - 1);
    if (n > out_cap) {
        return SCITT_ETOOBIG;
    }
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < data_len; i++) {
        int v = b64_value(in[i], variant);
        if (v < 0) {
            return SCITT_EMALFORMED;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        return SCITT_EMALFORMED; /* non-zero unused bits: not the canonical encoding */
    }
    *out_len = o;
    return 0;
}

int scitt_kid_parse(uint8_t *out, size_t out_cap, size_t *out_len, const char *s, size_t len)
{
    if (len == 0) {
        return SCITT_EMALFORMED;
    }
    if (len == 64) { /* the hex of a SHA-256 thumbprint */
        uint8_t hex[32];
        size_t n;
        if (scitt_hex_decode(hex, sizeof(hex), &n, s, len) == 0) {
            if (n > out_cap) {
                return SCITT_ETOOBIG;
            }
            memcpy(out, hex, n);
            *out_len = n;
            return 0;
        }
    }
    return scitt_base64_decode(out, out_cap, out_len, s, len, SCITT_B64_URL);
}

int scitt_kid_append(scitt_buf_t *out, scitt_span_t kid)
{
    size_t old = out->len;
    int rc = 0;
    /* 48 bytes at a time: a whole number of 3-byte groups, so the pieces
     * join into the encoding of the whole. */
    for (size_t i = 0; i < kid.len && rc == 0; i += 48) {
        char text[65];
        size_t n = scitt_base64_encode(text, kid.base + i, kid.len - i < 48 ? kid.len - i : 48, SCITT_B64_URL);
        rc = scitt_buf_append(out, text, n);
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

size_t scitt_format_u64(char *buf, uint64_t v, size_t min_digits)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n < min_digits && n < sizeof(tmp)) {
        tmp[n++] = '0';
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = tmp[n - 1 - i];
    }
    return n;
}

int scitt_parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0')) {
        return SCITT_EMALFORMED;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return SCITT_EMALFORMED;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return SCITT_ERANGE;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
