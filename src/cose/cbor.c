/*
 * cbor.c: the zero-copy CBOR cursor and the small encoder behind
 * internal.h.
 *
 * Heads are decoded by libcbor's streaming decoder (cbor_stream_decode),
 * which bounds-checks every head and string against the input and hands
 * strings back as pointers into it. We call it one head at a time, so
 * arrays, maps and tags arrive as a count or tag number and the cursor walks
 * their contents itself; that keeps nesting, counts and spans under our
 * control. Before libcbor sees a head we reject what our profile forbids:
 * indefinite lengths (whose streaming callbacks would otherwise start a
 * chunked string or open-ended container), reserved additional-information
 * values, and unassigned simple values. After it, we reject non-minimal
 * heads and floats a narrower width holds exactly (RFC 8949 section 4.2.1
 * preferred serialisation), so each value has a single accepted encoding
 * and two map keys are equal exactly when their bytes are; and text strings
 * that are not well-formed UTF-8 (RFC 8949 section 3.1).
 *
 * Invariant: on failure the cursor has not moved.
 */
#include <cbor.h>

#include "internal.h"

/* head_t collects what the streaming callbacks report for one head. */
typedef struct head {
    uint64_t val;
    const uint8_t *str;
    size_t str_len;
    bool bad; /* a callback our pre-checks should have made unreachable */
} head_t;

static void on_u8(void *ctx, uint8_t v)
{
    ((head_t *)ctx)->val = v;
}
static void on_u16(void *ctx, uint16_t v)
{
    ((head_t *)ctx)->val = v;
}
static void on_u32(void *ctx, uint32_t v)
{
    ((head_t *)ctx)->val = v;
}
static void on_u64(void *ctx, uint64_t v)
{
    ((head_t *)ctx)->val = v;
}
static void on_string(void *ctx, cbor_data data, size_t len)
{
    head_t *h = ctx;
    h->str = data;
    h->str_len = len;
    h->val = len;
}
static void on_count(void *ctx, size_t n)
{
    ((head_t *)ctx)->val = n;
}
static void on_unexpected(void *ctx)
{
    ((head_t *)ctx)->bad = true;
}
static void on_none(void *ctx)
{
    (void)ctx;
}
static void on_float(void *ctx, float v)
{
    (void)ctx;
    (void)v;
}
static void on_double(void *ctx, double v)
{
    (void)ctx;
    (void)v;
}
static void on_bool(void *ctx, bool v)
{
    (void)ctx;
    (void)v;
}

static const struct cbor_callbacks head_callbacks = {
    .uint8 = on_u8,
    .uint16 = on_u16,
    .uint32 = on_u32,
    .uint64 = on_u64,
    .negint8 = on_u8,
    .negint16 = on_u16,
    .negint32 = on_u32,
    .negint64 = on_u64,
    .byte_string_start = on_unexpected,
    .byte_string = on_string,
    .string = on_string,
    .string_start = on_unexpected,
    .indef_array_start = on_unexpected,
    .array_start = on_count,
    .indef_map_start = on_unexpected,
    .map_start = on_count,
    .tag = on_u64,
    .float2 = on_float,
    .float4 = on_float,
    .float8 = on_double,
    .undefined = on_none,
    .null = on_none,
    .boolean = on_bool,
    .indef_break = on_unexpected,
};

/* minimal reports whether `val` needed the argument width that `ai` chose. */
static bool minimal(int ai, uint64_t val)
{
    switch (ai) {
    case 24:
        return val >= 24;
    case 25:
        return val > 0xff;
    case 26:
        return val > 0xffff;
    case 27:
        return val > 0xffffffffu;
    default:
        return true;
    }
}

/* tag_head decodes a tag's head. libcbor 0.8's streaming decoder reports
 * tags 6..20 (0xc6..0xd4) as errors ("unassigned"), and tag 18 is COSE_Sign1,
 * so tags are the one head we decode ourselves. */
static struct cbor_decoder_result tag_head(const uint8_t *p, size_t left, head_t *h)
{
    struct cbor_decoder_result r = {0, CBOR_DECODER_FINISHED, 0};
    int ai = p[0] & 0x1f;
    size_t arg_len = ai < 24 ? 0 : (size_t)1 << (ai - 24);
    if (left < 1 + arg_len) {
        r.status = CBOR_DECODER_NEDATA;
        return r;
    }
    h->val = ai < 24 ? (uint64_t)ai : 0;
    for (size_t i = 0; i < arg_len; i++) {
        h->val = (h->val << 8) | p[1 + i];
    }
    r.read = 1 + arg_len;
    return r;
}

/* float_fits reports whether the IEEE 754 value with `exp_bits` exponent
 * bits whose exponent field is `e` and significand field `m` (`m_bits`
 * wide) survives conversion to the next narrower width (`n_exp_bits`,
 * `n_m_bits`): infinities, NaNs whose payload fits, zeros, and finite values
 * inside the narrower range without lost significand bits (its subnormals
 * included). */
static bool float_fits(uint64_t e, uint64_t m, int exp_bits, int m_bits, int n_exp_bits, int n_m_bits)
{
    int64_t bias = ((int64_t)1 << (exp_bits - 1)) - 1, n_bias = ((int64_t)1 << (n_exp_bits - 1)) - 1;
    int lost = m_bits - n_m_bits;
    if (e == ((uint64_t)1 << exp_bits) - 1) {
        return (m & (((uint64_t)1 << lost) - 1)) == 0;
    }
    if (e == 0) {
        return m == 0; /* a subnormal is far below the narrower width's range */
    }
    int64_t exp = (int64_t)e - bias;
    if (exp > n_bias || exp < 1 - n_bias - n_m_bits) {
        return false;
    }
    if (exp < 1 - n_bias) {
        lost += (int)(1 - n_bias - exp); /* a narrower subnormal keeps fewer bits */
    }
    return (m & (((uint64_t)1 << lost) - 1)) == 0;
}

/* float_preferred rejects a float32 that a float16 holds exactly and a
 * float64 that a float32 holds exactly; `arg` is the head's argument. */
static bool float_preferred(int ai, uint64_t arg)
{
    if (ai == 26) {
        return !float_fits((arg >> 23) & 0xff, arg & 0x7fffff, 8, 23, 5, 10);
    }
    if (ai == 27) {
        return !float_fits((arg >> 52) & 0x7ff, arg & 0xfffffffffffffu, 11, 52, 8, 23);
    }
    return true;
}

/* utf8_valid reports whether `s` is well-formed UTF-8 (RFC 3629): no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF. */
static bool utf8_valid(scitt_span_t s)
{
    const uint8_t *p = s.base, *end = s.base + s.len;
    while (p < end) {
        uint8_t c = *p++;
        if (c < 0x80) {
            continue;
        }
        size_t more;
        uint8_t lo = 0x80, hi = 0xbf; /* the range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            lo = c == 0xe0 ? 0xa0 : lo;
            hi = c == 0xed ? 0x9f : hi;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            lo = c == 0xf0 ? 0x90 : lo;
            hi = c == 0xf4 ? 0x8f : hi;
        } else {
            return false;
        }
        if ((size_t)(end - p) < more || p[0] < lo || p[0] > hi) {
            return false;
        }
        for (size_t i = 1; i < more; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return false;
            }
        }
        p += more;
    }
    return true;
}

/* float_arg reads the 4- or 8-byte argument of a float head (libcbor hands
 * us the value, not its bits). */
static uint64_t float_arg(const uint8_t *p, int ai)
{
    size_t n = ai == 26 ? 4 : 8;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[1 + i];
    }
    return v;
}

int scitt_cose__read_head(scitt_cose__cur_t *cur, scitt_cose__item_t *out)
{
    size_t left = scitt_cose__left(cur);
    if (left == 0) {
        return scitt_cose__fail(cur, SCITT_ETRUNCATED, "CBOR input ends early");
    }
    int major = cur->p[0] >> 5;
    int ai = cur->p[0] & 0x1f;
    if (ai == 31) {
        return scitt_cose__fail(cur, SCITT_EINDEF, "indefinite-length CBOR items are not accepted");
    }
    if (ai >= 28) {
        return scitt_cose__fail(cur, SCITT_EMALFORMED, "reserved CBOR additional information value");
    }
    if (major == SCITT_CBOR_SIMPLE && (ai < SCITT_CBOR_FALSE || ai == 24)) {
        return scitt_cose__fail(cur, SCITT_EMALFORMED, "unassigned CBOR simple value");
    }
    head_t h = {0};
    struct cbor_decoder_result r;
    if (major == SCITT_CBOR_TAG) {
        r = tag_head(cur->p, left, &h);
    } else {
        r = cbor_stream_decode(cur->p, left, &head_callbacks, &h);
    }
    if (r.status == CBOR_DECODER_NEDATA) {
        return scitt_cose__fail(cur, SCITT_ETRUNCATED, "CBOR input ends early");
    }
    if (r.status != CBOR_DECODER_FINISHED || h.bad || r.read == 0 || r.read > left) {
        return scitt_cose__fail(cur, SCITT_EMALFORMED, "malformed CBOR item");
    }
    if (major != SCITT_CBOR_SIMPLE && !minimal(ai, h.val)) {
        return scitt_cose__fail(cur, SCITT_EMALFORMED, "CBOR integer or length is not minimally encoded");
    }
    if (!cur->stored && major == SCITT_CBOR_SIMPLE && ai >= 26 && !float_preferred(ai, float_arg(cur->p, ai))) {
        return scitt_cose__fail(cur, SCITT_EMALFORMED, "CBOR float is wider than its value needs");
    }
    if (!cur->stored && major == SCITT_CBOR_TSTR && !utf8_valid(scitt_span(h.str, h.str_len))) {
        return scitt_cose__fail(cur, SCITT_EMALFORMED, "CBOR text string is not valid UTF-8");
    }
    out->major = major;
    out->val = major == SCITT_CBOR_SIMPLE ? (uint64_t)ai : h.val;
    out->raw = scitt_span(cur->p, r.read);
    out->str =
        (major == SCITT_CBOR_BSTR || major == SCITT_CBOR_TSTR) ? scitt_span(h.str, h.str_len) : scitt_span(NULL, 0);
    cur->p += r.read;
    return 0;
}

/* container_fits rejects counts that the bytes left cannot hold (each item
 * takes at least one byte), so loops over hostile counts end early. */
static int container_fits(scitt_cose__cur_t *cur, const scitt_cose__item_t *it)
{
    uint64_t per = it->major == SCITT_CBOR_MAP ? 2 : 1;
    if (it->val > scitt_cose__left(cur) / per) {
        return scitt_cose__fail(cur, SCITT_ETRUNCATED, "CBOR array or map count exceeds the input");
    }
    return 0;
}

static int skip(scitt_cose__cur_t *cur, int depth);

/* skip_map skips the `n` pairs of a map whose head was read, rejecting a
 * key that repeats (encodings are unique, so equal keys have equal bytes). */
static int skip_map(scitt_cose__cur_t *cur, uint64_t n, int depth)
{
    scitt_cose__keys_t keys;
    scitt_cose__keys_init(&keys);
    int rc = 0;
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        const uint8_t *key = cur->p;
        rc = skip(cur, depth);
        if (rc == 0 && !cur->stored) {
            rc = scitt_cose__keys_add(cur, &keys, scitt_span(key, (size_t)(cur->p - key)));
        }
        rc = rc != 0 ? rc : skip(cur, depth);
    }
    return rc;
}

static int skip(scitt_cose__cur_t *cur, int depth)
{
    scitt_cose__item_t it;
    int rc;
    if (depth > SCITT_COSE__MAX_DEPTH) {
        return scitt_cose__fail(cur, SCITT_EDEPTH, "CBOR nesting too deep");
    }
    rc = scitt_cose__read_head(cur, &it);
    if (rc != 0) {
        return rc;
    }
    uint64_t n = 0;
    switch (it.major) {
    case SCITT_CBOR_MAP:
        rc = container_fits(cur, &it);
        return rc != 0 ? rc : skip_map(cur, it.val, depth + 1);
    case SCITT_CBOR_ARRAY:
        rc = container_fits(cur, &it);
        n = it.val;
        break;
    case SCITT_CBOR_TAG:
        n = 1;
        break;
    }
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        rc = skip(cur, depth + 1);
    }
    return rc;
}

int scitt_cose__read_skip(scitt_cose__cur_t *cur, scitt_span_t *out_raw)
{
    const uint8_t *start = cur->p;
    int rc = skip(cur, 0);
    if (rc != 0) {
        cur->p = start;
        return rc;
    }
    if (out_raw != NULL) {
        *out_raw = scitt_span(start, (size_t)(cur->p - start));
    }
    return 0;
}

/* read_typed reads a head and insists on `major`, rewinding otherwise. */
static int read_typed(scitt_cose__cur_t *cur, scitt_cose__item_t *it, int major, const char *what)
{
    const uint8_t *start = cur->p;
    int rc = scitt_cose__read_head(cur, it);
    if (rc != 0) {
        return rc;
    }
    if (it->major != major) {
        cur->p = start;
        return scitt_cose__fail(cur, SCITT_ETYPE, what);
    }
    return 0;
}

int scitt_cose__read_bstr(scitt_cose__cur_t *cur, scitt_span_t *out, const char *what)
{
    scitt_cose__item_t it;
    int rc = read_typed(cur, &it, SCITT_CBOR_BSTR, what);
    if (rc == 0) {
        *out = it.str;
    }
    return rc;
}

int scitt_cose__read_tstr(scitt_cose__cur_t *cur, scitt_span_t *out, const char *what)
{
    scitt_cose__item_t it;
    int rc = read_typed(cur, &it, SCITT_CBOR_TSTR, what);
    if (rc == 0) {
        *out = it.str;
    }
    return rc;
}

int scitt_cose__read_uint(scitt_cose__cur_t *cur, uint64_t *out, const char *what)
{
    scitt_cose__item_t it;
    int rc = read_typed(cur, &it, SCITT_CBOR_UINT, what);
    if (rc == 0) {
        *out = it.val;
    }
    return rc;
}

int scitt_cose__read_int(scitt_cose__cur_t *cur, int64_t *out, const char *what)
{
    const uint8_t *start = cur->p;
    scitt_cose__item_t it;
    int rc = scitt_cose__read_head(cur, &it);
    if (rc != 0) {
        return rc;
    }
    if (it.major != SCITT_CBOR_UINT && it.major != SCITT_CBOR_NEGINT) {
        cur->p = start;
        return scitt_cose__fail(cur, SCITT_ETYPE, what);
    }
    if (it.val > INT64_MAX) {
        cur->p = start;
        return scitt_cose__fail(cur, SCITT_EMALFORMED, "integer outside the 64-bit signed range");
    }
    *out = it.major == SCITT_CBOR_UINT ? (int64_t)it.val : -1 - (int64_t)it.val;
    return 0;
}

static int read_container(scitt_cose__cur_t *cur, uint64_t *out_num, int major, const char *what)
{
    const uint8_t *start = cur->p;
    scitt_cose__item_t it;
    int rc = read_typed(cur, &it, major, what);
    if (rc == 0) {
        rc = container_fits(cur, &it);
    }
    if (rc != 0) {
        cur->p = start;
        return rc;
    }
    *out_num = it.val;
    return 0;
}

int scitt_cose__read_array(scitt_cose__cur_t *cur, uint64_t *out_num, const char *what)
{
    return read_container(cur, out_num, SCITT_CBOR_ARRAY, what);
}

int scitt_cose__read_map(scitt_cose__cur_t *cur, uint64_t *out_num, const char *what)
{
    return read_container(cur, out_num, SCITT_CBOR_MAP, what);
}

int scitt_cose__read_label(scitt_cose__cur_t *cur, scitt_cose_label_t *out, const char *what)
{
    memset(out, 0, sizeof(*out));
    if (scitt_cose__peek(cur) == SCITT_CBOR_TSTR) {
        out->is_text = true;
        return scitt_cose__read_tstr(cur, &out->text, what);
    }
    return scitt_cose__read_int(cur, &out->num, what);
}

int scitt_cose__read_end(scitt_cose__cur_t *cur)
{
    if (cur->p != cur->end) {
        return scitt_cose__fail(cur, SCITT_ETRAILING, "trailing bytes after the CBOR item");
    }
    return 0;
}

/* fingerprint mixes a key's length and its first and last 8 bytes. */
static uint32_t fingerprint(scitt_span_t raw)
{
    uint64_t first = 0, last = 0;
    size_t n = raw.len < 8 ? raw.len : 8;
    memcpy(&first, raw.base, n);
    memcpy(&last, raw.base + raw.len - n, n);
    uint64_t h = (first * 0x9e3779b97f4a7c15u) ^ ((last + raw.len) * 0xc2b2ae3d27d4eb4fu);
    h ^= h >> 32; /* so the low bits, which pick the slot, depend on every input bit */
    h *= 0xd6e8feb86659fd93u;
    return (uint32_t)(h ^ (h >> 32));
}

/* find returns the slot holding `raw`, or the empty slot where it would go. */
static size_t find(const scitt_cose__keys_t *keys, scitt_span_t raw, uint32_t mark)
{
    size_t i = mark % SCITT_COSE__KEY_SLOTS;
    while (keys->slot[i] != 0 && !(keys->mark[i] == mark && scitt_span_eq(keys->raw[keys->slot[i] - 1], raw))) {
        i = (i + 1) % SCITT_COSE__KEY_SLOTS; /* never full: at most half the slots are used */
    }
    return i;
}

bool scitt_cose__keys_has(const scitt_cose__keys_t *keys, scitt_span_t raw)
{
    return keys->slot[find(keys, raw, fingerprint(raw))] != 0;
}

int scitt_cose__keys_add(scitt_cose__cur_t *cur, scitt_cose__keys_t *keys, scitt_span_t raw)
{
    uint32_t mark = fingerprint(raw);
    size_t i = find(keys, raw, mark);
    if (keys->slot[i] != 0) {
        return scitt_cose__fail(cur, SCITT_EDUPKEY, "duplicate map key");
    }
    if (keys->num == SCITT_COSE_MAX_MAP_KEYS) {
        return scitt_cose__fail(cur, SCITT_EHEADER, "a map in the statement has more than 64 entries");
    }
    keys->raw[keys->num++] = raw;
    keys->slot[i] = (uint8_t)keys->num;
    keys->mark[i] = mark;
    return 0;
}

int scitt_cose__put_head(scitt_buf_t *out, int major, uint64_t val)
{
    /* RFC 8949 section 3: the major type in the top 3 bits, then the
     * argument in the low 5 bits (below 24) or in the 1, 2, 4 or 8
     * big-endian bytes that follow (additional information 24..27).
     * Shortest form always (deterministic encoding, section 4.2.1). For
     * major type 7 only simple values are written (val <= 255). */
    uint8_t head[9];
    size_t n;
    uint8_t mt = (uint8_t)(major << 5);
    if (val < 24) {
        head[0] = (uint8_t)(mt | val);
        n = 1;
    } else if (val <= 0xff) {
        head[0] = mt | 24;
        head[1] = (uint8_t)val;
        n = 2;
    } else if (val <= 0xffff) {
        head[0] = mt | 25;
        head[1] = (uint8_t)(val >> 8);
        head[2] = (uint8_t)val;
        n = 3;
    } else if (val <= 0xffffffff) {
        head[0] = mt | 26;
        for (int k = 0; k < 4; k++) {
            head[1 + k] = (uint8_t)(val >> (24 - 8 * k));
        }
        n = 5;
    } else {
        head[0] = mt | 27;
        scitt_store_be64(head + 1, val);
        n = 9;
    }
    return scitt_buf_append(out, head, n);
}

int scitt_cose__put_int(scitt_buf_t *out, int64_t v)
{
    if (v >= 0) {
        return scitt_cose__put_head(out, SCITT_CBOR_UINT, (uint64_t)v);
    }
    return scitt_cose__put_head(out, SCITT_CBOR_NEGINT, (uint64_t)(-1 - v));
}

static int put_string(scitt_buf_t *out, int major, scitt_span_t s)
{
    size_t old = out->len;
    int rc = scitt_cose__put_head(out, major, s.len);
    if (rc == 0) {
        rc = scitt_buf_append(out, s.base, s.len);
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

int scitt_cose__put_bstr(scitt_buf_t *out, scitt_span_t s)
{
    return put_string(out, SCITT_CBOR_BSTR, s);
}

int scitt_cose__put_tstr(scitt_buf_t *out, scitt_span_t s)
{
    return put_string(out, SCITT_CBOR_TSTR, s);
}
