/*
 * diag.c: CBOR diagnostic notation (RFC 8949 section 8) for `scitt inspect`,
 * with the SCITT/COSE vocabulary written in as comments.
 *
 * The printer walks the input with the strict cursor of cbor.c, so what it
 * prints is what the decoders would see. It knows where COSE nests CBOR
 * inside byte strings (the protected header, receipts under 394, inclusion
 * proofs under 396/-1) and prints those as << ... >>; a byte string that
 * does not decode there is printed as bytes. Recursion is bounded by
 * SCITT_COSE__MAX_DEPTH, counting nested byte strings too.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* What the item being printed is, which decides the names of map keys and
 * how byte strings are shown. */
typedef enum ctx {
    CTX_PLAIN,
    CTX_TOP,      /* the outermost item: COSE_Sign1, a COSE_Key(Set), or anything */
    CTX_SIGN1,    /* a COSE_Sign1 array (tagged or not) */
    CTX_HEADERS,  /* a header map */
    CTX_CWT,      /* CWT claims (15) */
    CTX_VDP,      /* verifiable data proofs (396) */
    CTX_PROOFS,   /* the array under 396/-1: bstr .cbor proofs */
    CTX_RECEIPTS, /* the array under 394 */
    CTX_KEY,      /* a COSE_Key */
} ctx_t;

typedef struct diag {
    scitt_cose__cur_t cur;
    scitt_buf_t *out;
    int rc;
} diag_t;

static int print_item(diag_t *d, scitt_cose__cur_t *cur, ctx_t ctx, int depth, int indent);

static void put(diag_t *d, const char *s)
{
    if (d->rc == 0) {
        d->rc = scitt_buf_append_str(d->out, s);
    }
}

static void putf(diag_t *d, const char *fmt, long long v)
{
    if (d->rc == 0) {
        d->rc = scitt_buf_printf(d->out, fmt, v);
    }
}

static void newline(diag_t *d, int indent)
{
    put(d, "\n");
    for (int i = 0; i < indent; i++) {
        put(d, "  ");
    }
}

static const char *label_name(ctx_t ctx, int64_t label)
{
    static const struct {
        ctx_t ctx;
        int64_t label;
        const char *name;
    } names[] = {
        {CTX_HEADERS, 1, "alg"},
        {CTX_HEADERS, 2, "crit"},
        {CTX_HEADERS, 3, "content type"},
        {CTX_HEADERS, 4, "kid"},
        {CTX_HEADERS, 15, "CWT claims"},
        {CTX_HEADERS, 16, "typ"},
        {CTX_HEADERS, 33, "x5chain"},
        {CTX_HEADERS, 34, "x5t"},
        {CTX_HEADERS, 258, "payload hash alg"},
        {CTX_HEADERS, 259, "preimage content type"},
        {CTX_HEADERS, 260, "payload location"},
        {CTX_HEADERS, 394, "receipts"},
        {CTX_HEADERS, 395, "vds"},
        {CTX_HEADERS, 396, "proofs"},
        {CTX_CWT, 1, "iss"},
        {CTX_CWT, 2, "sub"},
        {CTX_CWT, 3, "aud"},
        {CTX_CWT, 4, "exp"},
        {CTX_CWT, 5, "nbf"},
        {CTX_CWT, 6, "iat"},
        {CTX_CWT, 7, "cti"},
        {CTX_VDP, -1, "inclusion proofs"},
        {CTX_VDP, -2, "consistency proofs"},
        {CTX_KEY, 1, "kty"},
        {CTX_KEY, 2, "kid"},
        {CTX_KEY, 3, "alg"},
        {CTX_KEY, -1, "crv / n"},
        {CTX_KEY, -2, "x / e"},
        {CTX_KEY, -3, "y"},
    };
    for (size_t i = 0; i < scitt_countof(names); i++) {
        if (names[i].ctx == ctx && names[i].label == label) {
            return names[i].name;
        }
    }
    return NULL;
}

/* value_note names well-known integer values: algorithms, vds. */
static const char *value_note(ctx_t map_ctx, int64_t label, int64_t v)
{
    if ((map_ctx == CTX_HEADERS && label == 1) || (map_ctx == CTX_KEY && label == 3)) {
        return scitt_alg_name((int)v);
    }
    if (map_ctx == CTX_HEADERS && (label == 258 || label == 34)) {
        return v == SCITT_HASH_SHA256   ? "SHA-256"
               : v == SCITT_HASH_SHA384 ? "SHA-384"
               : v == SCITT_HASH_SHA512 ? "SHA-512"
                                        : NULL;
    }
    if (map_ctx == CTX_HEADERS && label == 395) {
        return v == 1 ? "RFC9162_SHA256" : v == 2 ? "CCF_LEDGER_SHA256" : NULL;
    }
    if (map_ctx == CTX_CWT && label == 6) {
        return "seconds since 1970";
    }
    return NULL;
}

/* child_ctx says what the value under `label` in a `map_ctx` map is. */
static ctx_t child_ctx(ctx_t map_ctx, bool has_label, int64_t label)
{
    if (map_ctx == CTX_HEADERS && has_label) {
        switch (label) {
        case 15:
            return CTX_CWT;
        case 394:
            return CTX_RECEIPTS;
        case 396:
            return CTX_VDP;
        }
    }
    if (map_ctx == CTX_VDP && has_label && label == -1) {
        return CTX_PROOFS;
    }
    return CTX_PLAIN;
}

static void print_text(diag_t *d, scitt_span_t s)
{
    put(d, "\"");
    for (size_t i = 0; i < s.len && d->rc == 0; i++) {
        uint8_t ch = s.base[i];
        if (ch == '"' || ch == '\\') {
            putf(d, "\\%c", ch);
        } else if (ch < 0x20 || ch == 0x7f) {
            putf(d, "\\u%04llx", ch);
        } else {
            d->rc = scitt_buf_append_byte(d->out, ch);
        }
    }
    put(d, "\"");
}

/* Byte strings longer than this are shortened, with their length noted. */
#define DIAG_BSTR_MAX 64

static void print_bytes(diag_t *d, scitt_span_t s)
{
    size_t n = s.len > DIAG_BSTR_MAX ? DIAG_BSTR_MAX / 2 : s.len;
    put(d, "h'");
    for (size_t i = 0; i < n; i++) {
        putf(d, "%02llx", s.base[i]);
    }
    put(d, "'");
    if (n < s.len) {
        putf(d, "... / %lld bytes /", (long long)s.len);
    }
}

/* print_nested prints a byte string whose content is CBOR as << item >>,
 * or as plain bytes when it is not one well-formed item. */
static void print_nested(diag_t *d, scitt_span_t s, ctx_t ctx, int depth, int indent)
{
    scitt_cose__cur_t inner, probe;
    scitt_cose__cur_init(&inner, s);
    probe = inner;
    if (s.len == 0 || depth >= SCITT_COSE__MAX_DEPTH || scitt_cose__read_skip(&probe, NULL) != 0 ||
        scitt_cose__read_end(&probe) != 0) {
        print_bytes(d, s);
        return;
    }
    put(d, "<< ");
    print_item(d, &inner, ctx, depth + 1, indent);
    put(d, " >>");
}

static int print_map(diag_t *d, scitt_cose__cur_t *cur, uint64_t n, ctx_t ctx, int depth, int indent)
{
    if (n == 0) {
        put(d, "{}");
        return 0;
    }
    put(d, "{");
    for (uint64_t i = 0; i < n; i++) {
        newline(d, indent + 1);
        scitt_cose__cur_t at = *cur;
        scitt_cose_label_t label;
        bool has_label = scitt_cose__read_label(&at, &label, "map key") == 0 && !label.is_text;
        int rc = print_item(d, cur, CTX_PLAIN, depth + 1, indent + 1);
        if (rc != 0) {
            return rc;
        }
        const char *name = has_label ? label_name(ctx, label.num) : NULL;
        if (name != NULL) {
            put(d, " / ");
            put(d, name);
            put(d, " /");
        }
        put(d, ": ");
        scitt_cose__cur_t val = *cur, after = *cur;
        scitt_cose__item_t head;
        if (name != NULL && strcmp(name, "kid") == 0 && scitt_cose__read_head(&after, &head) == 0 &&
            head.major == SCITT_CBOR_BSTR && head.str.len <= DIAG_BSTR_MAX) {
            /* A key id as it is typed and printed everywhere else: unpadded
             * base64url, which RFC 8949 diagnostic notation writes b64'..'. */
            *cur = after;
            put(d, "b64'");
            if (d->rc == 0) {
                d->rc = scitt_kid_append(d->out, head.str);
            }
            put(d, "'");
        } else {
            rc = print_item(d, cur, child_ctx(ctx, has_label, label.num), depth + 1, indent + 1);
        }
        if (rc != 0) {
            return rc;
        }
        if (has_label && scitt_cose__read_head(&val, &head) == 0 &&
            (head.major == SCITT_CBOR_UINT || head.major == SCITT_CBOR_NEGINT)) {
            int64_t v = head.major == SCITT_CBOR_UINT ? (int64_t)head.val : -1 - (int64_t)head.val;
            const char *note = value_note(ctx, label.num, v);
            if (note != NULL) {
                put(d, " / ");
                put(d, note);
                put(d, " /");
            }
        }
        if (i + 1 < n) {
            put(d, ",");
        }
    }
    newline(d, indent);
    put(d, "}");
    return 0;
}

/* looks_like_key reports whether the map at `cur` has a kty (label 1)
 * whose value is a COSE key type, which tells a COSE_Key from other maps. */
static bool looks_like_key(scitt_cose__cur_t cur, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        scitt_cose_label_t label;
        int64_t v;
        if (scitt_cose__read_label(&cur, &label, "key") != 0) {
            return false;
        }
        if (scitt_cose__label_is(&label, 1)) {
            return scitt_cose__read_int(&cur, &v, "kty") == 0 && v >= SCITT_KTY_OKP && v <= SCITT_KTY_RSA;
        }
        if (scitt_cose__read_skip(&cur, NULL) != 0) {
            return false;
        }
    }
    return false;
}

static int print_array(diag_t *d, scitt_cose__cur_t *cur, uint64_t n, ctx_t ctx, int depth, int indent)
{
    static const char *const sign1_parts[] = {"protected", "unprotected", "payload", "signature"};
    if (n == 0) {
        put(d, "[]");
        return 0;
    }
    put(d, "[");
    for (uint64_t i = 0; i < n; i++) {
        newline(d, indent + 1);
        ctx_t elem = CTX_PLAIN;
        if (ctx == CTX_SIGN1) {
            put(d, "/ ");
            put(d, sign1_parts[i]);
            put(d, " / ");
            elem = i <= 1 ? CTX_HEADERS : CTX_PLAIN;
        } else if (ctx == CTX_RECEIPTS) {
            elem = CTX_SIGN1; /* a receipt, bstr-wrapped or bare */
        } else if (ctx == CTX_PROOFS || ctx == CTX_TOP) {
            elem = ctx == CTX_TOP ? CTX_TOP : CTX_PLAIN;
        }
        scitt_cose__cur_t at = *cur;
        scitt_cose__item_t head;
        int rc = scitt_cose__read_head(&at, &head);
        if (rc != 0) {
            return rc;
        }
        if (head.major == SCITT_CBOR_BSTR &&
            (ctx == CTX_PROOFS || (ctx == CTX_SIGN1 && i == 0) || ctx == CTX_RECEIPTS)) {
            /* The places COSE puts CBOR inside a byte string. */
            *cur = at;
            print_nested(d, head.str, elem, depth, indent + 1);
        } else {
            rc = print_item(d, cur, elem, depth + 1, indent + 1);
            if (rc != 0) {
                return rc;
            }
        }
        if (i + 1 < n) {
            put(d, ",");
        }
    }
    newline(d, indent);
    put(d, "]");
    return 0;
}

/* is_sign1_array reports whether the array of `n` items at `cur` has the
 * COSE_Sign1 shape: [bstr, map, bstr / nil, bstr]. */
static bool is_sign1_array(scitt_cose__cur_t cur, uint64_t n)
{
    static const int want[4] = {SCITT_CBOR_BSTR, SCITT_CBOR_MAP, -1, SCITT_CBOR_BSTR};
    if (n != 4) {
        return false;
    }
    for (int i = 0; i < 4; i++) {
        scitt_cose__cur_t at = cur;
        scitt_cose__item_t head;
        if (scitt_cose__read_head(&at, &head) != 0) {
            return false;
        }
        bool ok = want[i] >= 0 ? head.major == want[i]
                               : (head.major == SCITT_CBOR_BSTR ||
                                  (head.major == SCITT_CBOR_SIMPLE && head.val == SCITT_CBOR_NULL));
        if (!ok || scitt_cose__read_skip(&cur, NULL) != 0) {
            return false;
        }
    }
    return true;
}

static int print_item(diag_t *d, scitt_cose__cur_t *cur, ctx_t ctx, int depth, int indent)
{
    scitt_cose__item_t it;
    if (depth > SCITT_COSE__MAX_DEPTH) {
        return scitt_cose__fail(cur, SCITT_EDEPTH, "CBOR nesting too deep");
    }
    int rc = scitt_cose__read_head(cur, &it);
    if (rc != 0) {
        return rc;
    }
    switch (it.major) {
    case SCITT_CBOR_UINT:
        putf(d, "%llu", (long long)it.val);
        break;
    case SCITT_CBOR_NEGINT:
        if (it.val >= (uint64_t)INT64_MAX) {
            put(d, "-");
            d->rc = d->rc != 0 ? d->rc : scitt_buf_printf(d->out, "%llu", (unsigned long long)it.val + 1ull);
        } else {
            putf(d, "%lld", -1 - (long long)it.val);
        }
        break;
    case SCITT_CBOR_BSTR:
        print_bytes(d, it.str);
        break;
    case SCITT_CBOR_TSTR:
        print_text(d, it.str);
        break;
    case SCITT_CBOR_ARRAY:
        if (it.val > scitt_cose__left(cur)) {
            return scitt_cose__fail(cur, SCITT_ETRUNCATED, "CBOR array count exceeds the input");
        }
        if ((ctx == CTX_TOP || ctx == CTX_SIGN1) && is_sign1_array(*cur, it.val)) {
            ctx = CTX_SIGN1;
        } else if (ctx != CTX_TOP && ctx != CTX_PROOFS && ctx != CTX_RECEIPTS) {
            ctx = CTX_PLAIN;
        }
        return print_array(d, cur, it.val, ctx, depth, indent);
    case SCITT_CBOR_MAP:
        if (it.val > scitt_cose__left(cur) / 2) {
            return scitt_cose__fail(cur, SCITT_ETRUNCATED, "CBOR map count exceeds the input");
        }
        if ((ctx == CTX_TOP || ctx == CTX_PLAIN) && looks_like_key(*cur, it.val)) {
            ctx = CTX_KEY;
        }
        return print_map(d, cur, it.val, ctx, depth, indent);
    case SCITT_CBOR_TAG:
        putf(d, "%llu(", (long long)it.val);
        rc = print_item(d, cur, it.val == 18 ? CTX_SIGN1 : CTX_PLAIN, depth + 1, indent);
        if (rc != 0) {
            return rc;
        }
        put(d, ")");
        break;
    default: /* simple values and floats */
        if (it.val == SCITT_CBOR_FALSE || it.val == SCITT_CBOR_TRUE) {
            put(d, it.val == SCITT_CBOR_TRUE ? "true" : "false");
        } else if (it.val == SCITT_CBOR_NULL) {
            put(d, "null");
        } else if (it.val == SCITT_CBOR_UNDEF) {
            put(d, "undefined");
        } else {
            put(d, "float(");
            print_bytes(d, scitt_span(it.raw.base + 1, it.raw.len - 1));
            put(d, ")");
        }
        break;
    }
    return d->rc;
}

int scitt_cose_diag(scitt_buf_t *out, const uint8_t *data, size_t len, const char **out_err_desc)
{
    diag_t d = {.out = out, .rc = 0};
    size_t start = out->len;
    scitt_cose__cur_init(&d.cur, scitt_span(data, len));
    int rc = print_item(&d, &d.cur, CTX_TOP, 0, 0);
    if (rc == 0) {
        rc = d.rc;
    }
    if (rc == 0) {
        rc = scitt_cose__read_end(&d.cur);
    }
    if (rc == 0) {
        rc = scitt_buf_append_str(out, "\n");
    }
    if (rc != 0) {
        out->len = start;
        if (out_err_desc != NULL) {
            *out_err_desc = d.cur.err_desc != NULL ? d.cur.err_desc : "cannot print";
        }
    }
    return rc;
}
