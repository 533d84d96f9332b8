/*
 * tilepath.c: C2SP tlog-tiles resource paths.
 *
 *   tile/<L>/<N>[.p/<W>]   and   tile/entries/<N>[.p/<W>]
 *
 * L is decimal 0..63 and W decimal 1..255, both without leading zeros. N is
 * written in 3-digit zero-padded groups of its decimal form, most
 * significant first, every group but the last prefixed with `x`:
 * 1234067 -> x001/x234/067, 5 -> 005.
 *
 * Invariant: parse accepts exactly the strings encode produces, so a path
 * maps to one tile and back (the fuzz harness re-encodes every accepted
 * path). In particular a multi-group N may not start with group 000, since
 * encode never writes it, and N past UINT64_MAX is rejected.
 */
#include <string.h>

#include "internal.h"

/* cursor_t walks the input; every read checks the bound first. */
typedef struct cursor {
    const char *p;
    size_t left;
} cursor_t;

static bool take(cursor_t *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->left < n || memcmp(c->p, lit, n) != 0) {
        return false;
    }
    c->p += n;
    c->left -= n;
    return true;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Reads a canonical decimal of at most `max_digits` digits, up to `max`. */
static bool take_decimal(cursor_t *c, size_t max_digits, uint64_t max, uint64_t *out)
{
    size_t n = 0;
    while (n < c->left && n <= max_digits && is_digit(c->p[n])) {
        n++;
    }
    if (n == 0 || n > max_digits || scitt_parse_u64(c->p, n, out) != 0 || *out > max) {
        return false; /* empty, too long, leading zero or out of range */
    }
    c->p += n;
    c->left -= n;
    return true;
}

/* Reads exactly three digits (a zero-padded group). */
static bool take_group(cursor_t *c, unsigned *out)
{
    if (c->left < 3 || !is_digit(c->p[0]) || !is_digit(c->p[1]) || !is_digit(c->p[2])) {
        return false;
    }
    *out = (unsigned)(c->p[0] - '0') * 100 + (unsigned)(c->p[1] - '0') * 10 + (unsigned)(c->p[2] - '0');
    c->p += 3;
    c->left -= 3;
    return true;
}

int scitt_merkle_tile_path_parse(scitt_tile_path_t *out, const char *path, size_t path_len)
{
    cursor_t c = {path, path_len};
    scitt_tile_path_t tp = {0};
    uint64_t v;
    if (path == NULL || !take(&c, "tile/")) {
        return SCITT_EMALFORMED;
    }
    if (take(&c, "entries/")) {
        tp.entries = true;
    } else if (take_decimal(&c, 2, 63, &v) && take(&c, "/")) {
        tp.level = (unsigned)v;
    } else {
        return SCITT_EMALFORMED;
    }
    /* N: groups "xDDD/" then a final "DDD". */
    uint64_t index = 0;
    size_t groups = 0;
    bool first_zero = false;
    for (;;) {
        bool more = take(&c, "x");
        unsigned g;
        if (!take_group(&c, &g) || (more && !take(&c, "/"))) {
            return SCITT_EMALFORMED;
        }
        if (index > (UINT64_MAX - g) / 1000) {
            return SCITT_EMALFORMED;
        }
        index = index * 1000 + g;
        if (groups++ == 0) {
            first_zero = g == 0;
        }
        if (!more) {
            break;
        }
    }
    if (groups > 1 && first_zero) {
        return SCITT_EMALFORMED;
    }
    tp.index = index;
    if (c.left > 0) {
        if (!take(&c, ".p/") || !take_decimal(&c, 3, 255, &v) || v == 0 || c.left > 0) {
            return SCITT_EMALFORMED;
        }
        tp.width = (unsigned)v;
    }
    *out = tp;
    return 0;
}

/* Appends `s` (length n) at *len within cap, leaving room for the NUL. */
static bool put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (cap == 0 || n > cap - 1 - *len) {
        return false;
    }
    memcpy(out + *len, s, n);
    *len += n;
    return true;
}

int scitt_merkle_tile_path_encode(char *out, size_t out_cap, size_t *out_len, const scitt_tile_path_t *tp)
{
    if (tp->level > 63 || tp->width > 255 || (tp->entries && tp->level != 0)) {
        return SCITT_EINVAL;
    }
    char num[24];
    size_t len = 0;
    bool ok = put(out, out_cap, &len, "tile/", 5);
    if (tp->entries) {
        ok = ok && put(out, out_cap, &len, "entries/", 8);
    } else {
        ok = ok && put(out, out_cap, &len, num, scitt_format_u64(num, tp->level, 1)) && put(out, out_cap, &len, "/", 1);
    }
    /* Split N into base-1000 groups, most significant last in `groups`. */
    unsigned groups[7];
    size_t num_groups = 0;
    uint64_t v = tp->index;
    do {
        groups[num_groups++] = (unsigned)(v % 1000);
        v /= 1000;
    } while (v > 0);
    while (num_groups-- > 0) {
        bool last = num_groups == 0;
        ok = ok && (last || put(out, out_cap, &len, "x", 1)) &&
             put(out, out_cap, &len, num, scitt_format_u64(num, groups[num_groups], 3)) &&
             (last || put(out, out_cap, &len, "/", 1));
    }
    if (tp->width != 0) {
        ok = ok && put(out, out_cap, &len, ".p/", 3) &&
             put(out, out_cap, &len, num, scitt_format_u64(num, tp->width, 1));
    }
    if (!ok) {
        return SCITT_ETOOBIG;
    }
    out[len] = '\0';
    *out_len = len;
    return 0;
}
