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
 * heads, so each value has a single accepted encoding (floats excepted:
 * their width is not checked, and nothing we read is a float).
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
    case SCITT_CBOR_ARRAY:
    case SCITT_CBOR_MAP:
        rc = container_fits(cur, &it);
        n = it.major == SCITT_CBOR_MAP ? 2 * it.val : it.val;
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

bool scitt_cose__keys_has(const scitt_cose__keys_t *keys, scitt_span_t raw)
{
    for (size_t i = 0; i < keys->num; i++) {
        if (scitt_span_eq(keys->raw[i], raw)) {
            return true;
        }
    }
    return false;
}

int scitt_cose__keys_add(scitt_cose__cur_t *cur, scitt_cose__keys_t *keys, scitt_span_t raw)
{
    if (scitt_cose__keys_has(keys, raw)) {
        return scitt_cose__fail(cur, SCITT_EDUPKEY, "duplicate map key");
    }
    if (keys->num == SCITT_COSE_MAX_MAP_KEYS) {
        return scitt_cose__fail(cur, SCITT_EHEADER, "too many entries in a header or claims map");
    }
    keys->raw[keys->num++] = raw;
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
