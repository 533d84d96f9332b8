/*
 * query.c: the query string of GET /entries (see query.h). Strict on
 * purpose: every parameter has exactly one meaning per value (no repeats,
 * no empty values, no stray characters), so a mistyped filter is a 400
 * that names it instead of a silently wider listing.
 */
#include <stdio.h>
#include <string.h>

#include "query.h"

enum { P_ISS, P_SUB, P_KID, P_ARTIFACT, P_SINCE, P_UNTIL, P_LIMIT, P_CURSOR, P_NUM };

static const char *const names[P_NUM] = {"iss", "sub", "kid", "artifact", "since", "until", "limit", "cursor"};

/* is_query_char: RFC 3986 pchar / "/" / "?" except '%' and '&', which
 * have their own meaning here ('=' in a value is taken literally). */
static bool is_query_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c != '\0' && strchr("-._~!$'()*+,;=:@/?", c) != NULL;
}

/* pct_decode decodes `len` bytes at `in` into `out` (capacity `cap`): 0,
 * SCITT_EMALFORMED (a stray character or a bad escape) or SCITT_ETOOBIG. */
static int pct_decode(uint8_t *out, size_t cap, size_t *out_len, const char *in, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            size_t one;
            if (len - i < 3 || scitt_hex_decode(&c, 1, &one, in + i + 1, 2) != 0) {
                return SCITT_EMALFORMED;
            }
            i += 2;
        } else if (!is_query_char(c)) {
            return SCITT_EMALFORMED;
        }
        if (n == cap) {
            return SCITT_ETOOBIG;
        }
        out[n++] = c;
    }
    *out_len = n;
    return 0;
}

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date
 * (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* digits reads `n` decimal digits at `s`, or returns -1. */
static int64_t digits(const char *s, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int scitt_query_parse_time(int64_t *out, const char *s, size_t len)
{
    uint64_t secs;
    if (len > 0 && len <= 12 && scitt_parse_u64(s, len, &secs) == 0) {
        if (secs > (uint64_t)SCITT_QUERY_TIME_MAX) {
            return SCITT_EMALFORMED;
        }
        *out = (int64_t)secs;
        return 0;
    }
    /* YYYY-MM-DDTHH:MM:SSZ */
    if (len != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z') {
        return SCITT_EMALFORMED;
    }
    int64_t y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int64_t h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    static const uint8_t mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
        se > 59) {
        return SCITT_EMALFORMED;
    }
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) {
        return SCITT_EMALFORMED;
    }
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

void scitt_query_cursor_encode(char out[SCITT_QUERY_CURSOR_LEN + 1], uint64_t leaf)
{
    uint8_t raw[9];
    raw[0] = SCITT_QUERY_CURSOR_V1;
    scitt_store_be64(raw + 1, leaf);
    scitt_base64_encode(out, raw, sizeof(raw), SCITT_B64_URL);
}

int scitt_query_cursor_decode(uint64_t *out, const char *s, size_t len)
{
    uint8_t raw[9];
    size_t n;
    if (len != SCITT_QUERY_CURSOR_LEN || scitt_base64_decode(raw, sizeof(raw), &n, s, len, SCITT_B64_URL) != 0 ||
        n != sizeof(raw) || raw[0] != SCITT_QUERY_CURSOR_V1) {
        return SCITT_EMALFORMED;
    }
    *out = scitt_load_be64(raw + 1);
    return 0;
}

/* hex_param decodes hex of min..max bytes (either case). */
static bool hex_param(uint8_t *out, size_t *out_len, size_t min, size_t max, const char *v, size_t len)
{
    if (len < 2 * min || len > 2 * max || scitt_hex_decode(out, max, out_len, v, len) != 0) {
        return false;
    }
    return *out_len >= min;
}

/* set_value parses parameter `p`'s value `v` (`len` bytes, percent-decoded
 * already); NULL or why it is refused. */
static const char *set_value(scitt_query_t *q, int p, const uint8_t *raw, size_t len)
{
    const char *v = (const char *)raw;
    uint64_t n;
    switch (p) {
    case P_ISS:
    case P_SUB:
        if (!scitt_utf8_valid(scitt_span(raw, len))) {
            return "is not UTF-8 text";
        }
        memcpy(p == P_ISS ? q->iss : q->sub, raw, len);
        *(p == P_ISS ? &q->iss_len : &q->sub_len) = len;
        return NULL;
    case P_KID:
        return scitt_kid_parse(q->kid, sizeof(q->kid), &q->kid_len, v, len) == 0
                   ? NULL
                   : "must be the key id in unpadded base64url (1 to 64 bytes) or 64 hex digits";
    case P_ARTIFACT:
        return hex_param(q->artifact, &q->artifact_len, SCITT_QUERY_ARTIFACT_MIN, SCITT_QUERY_ARTIFACT_MAX, v, len)
                   ? NULL
                   : "must be hex of a 16 to 64 byte digest";
    case P_SINCE:
    case P_UNTIL:
        return scitt_query_parse_time(p == P_SINCE ? &q->since : &q->until, v, len) == 0
                   ? NULL
                   : "must be unix seconds or YYYY-MM-DDTHH:MM:SSZ";
    case P_LIMIT:
        if (len > 4 || scitt_parse_u64(v, len, &n) != 0 || n < 1 || n > SCITT_QUERY_LIMIT_MAX) {
            return "must be a whole number from 1 to 1000";
        }
        q->limit = (size_t)n;
        return NULL;
    default:
        return scitt_query_cursor_decode(&q->from, v, len) == 0 ? NULL : "is not a cursor this service returned";
    }
}

int scitt_query_parse(scitt_query_t *out, const char *qs, size_t len, char *detail, size_t detail_cap)
{
    bool seen[P_NUM] = {false};
    *out = (scitt_query_t){.limit = SCITT_QUERY_LIMIT_DEFAULT};
    const char *end = qs + len;
    for (const char *p = qs; len > 0 && p <= end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        size_t name_len = (size_t)((eq != NULL ? eq : pair_end) - p);
        int which = P_NUM;
        for (int i = 0; i < P_NUM; i++) {
            if (strlen(names[i]) == name_len && memcmp(names[i], p, name_len) == 0) {
                which = i;
            }
        }
        if (which == P_NUM) {
            bool printable = name_len > 0 && name_len <= 32;
            for (size_t i = 0; i < name_len && printable; i++) {
                printable = p[i] > 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\';
            }
            if (printable) {
                snprintf(detail, detail_cap,
                         "unknown parameter \"%.*s\" (known: iss, sub, kid, artifact, since, "
                         "until, limit, cursor)",
                         (int)name_len, p);
            } else {
                snprintf(detail, detail_cap, "%s", name_len == 0 ? "empty parameter name" : "unknown parameter");
            }
            return SCITT_EMALFORMED;
        }
        const char *why = NULL;
        const char *v = eq != NULL ? eq + 1 : pair_end;
        size_t v_len = (size_t)(pair_end - v);
        if (seen[which]) {
            why = "is given more than once";
        } else if (v_len == 0) {
            why = "has an empty value";
        } else {
            /* Any value may be percent-encoded (RFC 3986: clients encode
             * ':' in times, for one); text gets the most room. */
            uint8_t buf[SCITT_QUERY_TEXT_MAX];
            size_t n = 0;
            int rc = pct_decode(buf, sizeof(buf), &n, v, v_len);
            why = rc == SCITT_ETOOBIG ? "is longer than 1024 bytes"
                  : rc != 0           ? "is not valid percent-encoding (RFC 3986)"
                                      : set_value(out, which, buf, n);
        }
        if (why != NULL) {
            snprintf(detail, detail_cap, "%s %s", names[which], why);
            return SCITT_EMALFORMED;
        }
        seen[which] = true;
        if (amp == NULL) {
            break;
        }
        p = amp + 1;
    }
    out->has_iss = seen[P_ISS];
    out->has_sub = seen[P_SUB];
    out->has_kid = seen[P_KID];
    out->has_artifact = seen[P_ARTIFACT];
    out->has_since = seen[P_SINCE];
    out->has_until = seen[P_UNTIL];
    out->has_cursor = seen[P_CURSOR];
    if (out->has_since && out->has_until && out->since > out->until) {
        snprintf(detail, detail_cap, "since is after until");
        return SCITT_EMALFORMED;
    }
    return 0;
}
