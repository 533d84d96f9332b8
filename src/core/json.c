/*
 * json.c: JSON text for the few JSON answers the service and the command
 * line give (the audit listing). Only strings need care: RFC 8259 section 7
 * requires escaping quotes, backslashes and control characters, and JSON
 * text is UTF-8, so bytes that are not well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF) become U+FFFD, one
 * per byte that cannot start or continue a valid sequence. The text is also
 * safe to print: the C1 controls U+0080..U+009F (a terminal reads U+009B as
 * CSI) and the line and paragraph separators U+2028/U+2029 are escaped too,
 * so registrant-chosen strings cannot move a terminal's cursor or split a
 * JSON line. The service's JSON answers and the command line's (`scitt
 * audit --json`, `scitt monitor --json`) all come from here.
 */
#include "scitt/core.h"

/* utf8_len returns the length of the well-formed UTF-8 sequence at `p`
 * (`left` bytes available), or 0 when none starts there. */
static size_t utf8_len(const uint8_t *p, size_t left)
{
    uint8_t b = p[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (b < 0x80) {
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        lo = b == 0xe0 ? 0xa0 : 0x80; /* overlong */
        hi = b == 0xed ? 0x9f : 0xbf; /* surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        lo = b == 0xf0 ? 0x90 : 0x80; /* overlong */
        hi = b == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (left < n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }
    return n;
}

bool scitt_utf8_valid(scitt_span_t s)
{
    for (size_t i = 0; i < s.len;) {
        size_t n = utf8_len(s.base + i, s.len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

/* put_escape appends \uXXXX for a code point of the BMP. */
static int put_escape(scitt_buf_t *out, unsigned cp)
{
    static const char hex[] = "0123456789abcdef";
    char esc[6] = {'\\', 'u', hex[(cp >> 12) & 15], hex[(cp >> 8) & 15], hex[(cp >> 4) & 15], hex[cp & 15]};
    return scitt_buf_append(out, esc, sizeof(esc));
}

int scitt_json_put_string(scitt_buf_t *out, scitt_span_t s)
{
    size_t old = out->len;
    int rc = scitt_buf_append_byte(out, '"');
    for (size_t i = 0; i < s.len && rc == 0;) {
        uint8_t b = s.base[i];
        size_t n = utf8_len(s.base + i, s.len - i);
        if (n == 0) {
            rc = scitt_buf_append(out, "\xef\xbf\xbd", 3); /* U+FFFD */
            i++;
            continue;
        }
        if (b == '"' || b == '\\') {
            char esc[2] = {'\\', (char)b};
            rc = scitt_buf_append(out, esc, 2);
        } else if (b == '\n') {
            rc = scitt_buf_append(out, "\\n", 2);
        } else if (b == '\r') {
            rc = scitt_buf_append(out, "\\r", 2);
        } else if (b == '\t') {
            rc = scitt_buf_append(out, "\\t", 2);
        } else if (b < 0x20 || b == 0x7f) {
            rc = put_escape(out, b);
        } else if (n == 2 && b == 0xc2 && s.base[i + 1] < 0xa0) {
            rc = put_escape(out, s.base[i + 1]); /* C1 control U+0080..U+009F */
        } else if (n == 3 && b == 0xe2 && s.base[i + 1] == 0x80 && (s.base[i + 2] & 0xfe) == 0xa8) {
            rc = put_escape(out, 0x2028u | (s.base[i + 2] & 1u)); /* U+2028, U+2029 */
        } else {
            rc = scitt_buf_append(out, s.base + i, n);
        }
        i += n;
    }
    if (rc == 0) {
        rc = scitt_buf_append_byte(out, '"');
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}
