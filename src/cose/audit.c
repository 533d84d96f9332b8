/*
 * audit.c: the answer to GET /entries?... (issue 10), the audit listing of
 * registered entries, in CBOR and JSON, and its decoder for `scitt audit`.
 *
 *   { "next": tstr (absent at the end), "entries": [ entry, ... ] }
 *   entry = { "id": bstr .size 32, "iss": tstr, "kid": bstr, "sub": tstr,
 *             "time": uint, "index": uint, "content_type": tstr / uint }
 *
 * CBOR is RFC 8949 section 4.2.1 core deterministic: shortest heads, and
 * map keys in bytewise order of their encodings, which for text keys means
 * shorter keys first (the order written above). Absent fields are omitted.
 * JSON has the same shape with id as lowercase hex and kid as unpadded
 * base64url (scitt_kid_append: the spelling a kid is typed in).
 *
 * The decoder is for the command line: it accepts keys in any order, skips
 * keys it does not know (a newer server may add fields), and requires id,
 * index and time in every entry.
 */
#include "internal.h"

static int put_key(scitt_buf_t *out, const char *key)
{
    return scitt_cose__put_tstr(out, scitt_span_str(key));
}

/* lead_len: the length of the UTF-8 sequence that byte `b` starts (0 for a
 * byte that starts none). */
static size_t lead_len(uint8_t b)
{
    return b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
}

/* put_text writes a statement's text as a tstr. A tstr must be UTF-8 (RFC
 * 8949 section 3.1) but the statement's signer chose these bytes: each byte
 * that does not start or continue a well-formed sequence becomes U+FFFD, as
 * scitt_json_put_string does for the JSON listing. */
static int put_text(scitt_buf_t *out, scitt_span_t s)
{
    if (scitt_utf8_valid(s)) {
        return scitt_cose__put_tstr(out, s);
    }
    scitt_buf_t t;
    scitt_buf_init(&t, NULL, 0);
    int rc = 0;
    for (size_t i = 0; i < s.len && rc == 0;) {
        size_t n = lead_len(s.base[i]);
        if (n > 0 && n <= s.len - i && scitt_utf8_valid(scitt_span(s.base + i, n))) {
            rc = scitt_buf_append(&t, s.base + i, n);
            i += n;
        } else {
            rc = scitt_buf_append(&t, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    rc = rc != 0 ? rc : scitt_cose__put_tstr(out, scitt_buf_span(&t));
    scitt_buf_cleanup(&t);
    return rc;
}

static int put_entry(scitt_buf_t *out, const scitt_cose_audit_entry_t *e)
{
    bool ct_ok = e->has_content_type && (e->content_type.is_text || e->content_type.num >= 0);
    uint64_t n = 3 + (e->iss.len > 0) + (e->key_id.len > 0) + (e->sub.len > 0) + ct_ok;
    int rc = scitt_cose__put_head(out, SCITT_CBOR_MAP, n);
    rc = rc != 0 ? rc : put_key(out, "id");
    rc = rc != 0 ? rc : scitt_cose__put_bstr(out, scitt_span(e->id, sizeof(e->id)));
    if (e->iss.len > 0) {
        rc = rc != 0 ? rc : put_key(out, "iss");
        rc = rc != 0 ? rc : put_text(out, e->iss);
    }
    if (e->key_id.len > 0) {
        rc = rc != 0 ? rc : put_key(out, "kid");
        rc = rc != 0 ? rc : scitt_cose__put_bstr(out, e->key_id);
    }
    if (e->sub.len > 0) {
        rc = rc != 0 ? rc : put_key(out, "sub");
        rc = rc != 0 ? rc : put_text(out, e->sub);
    }
    rc = rc != 0 ? rc : put_key(out, "time");
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_UINT, e->time);
    rc = rc != 0 ? rc : put_key(out, "index");
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_UINT, e->index);
    if (ct_ok) {
        rc = rc != 0 ? rc : put_key(out, "content_type");
        rc = rc != 0                   ? rc
             : e->content_type.is_text ? put_text(out, e->content_type.text)
                                       : scitt_cose__put_head(out, SCITT_CBOR_UINT, (uint64_t)e->content_type.num);
    }
    return rc;
}

int scitt_cose_audit_encode(scitt_buf_t *out, const scitt_cose_audit_entry_t *entries, size_t num, const char *next)
{
    size_t old = out->len;
    int rc = scitt_cose__put_head(out, SCITT_CBOR_MAP, next != NULL ? 2 : 1);
    if (next != NULL) {
        rc = rc != 0 ? rc : put_key(out, "next");
        rc = rc != 0 ? rc : scitt_cose__put_tstr(out, scitt_span_str(next));
    }
    rc = rc != 0 ? rc : put_key(out, "entries");
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_ARRAY, num);
    for (size_t i = 0; i < num && rc == 0; i++) {
        rc = put_entry(out, &entries[i]);
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

/* json_hex appends `prefix` (the separator and key), then `bytes` as a
 * quoted lowercase hex string. */
static int json_hex(scitt_buf_t *out, const char *prefix, scitt_span_t bytes)
{
    int rc = scitt_buf_printf(out, "%s\"", prefix);
    for (size_t i = 0; i < bytes.len && rc == 0; i++) {
        rc = scitt_buf_printf(out, "%02x", bytes.base[i]);
    }
    return rc != 0 ? rc : scitt_buf_append_byte(out, '"');
}

static int json_text(scitt_buf_t *out, const char *key, scitt_span_t text)
{
    int rc = scitt_buf_printf(out, ",\"%s\":", key);
    return rc != 0 ? rc : scitt_json_put_string(out, text);
}

int scitt_cose_audit_entry_json(scitt_buf_t *out, const scitt_cose_audit_entry_t *e)
{
    size_t old = out->len;
    int rc = json_hex(out, "{\"id\":", scitt_span(e->id, sizeof(e->id)));
    rc = rc != 0 ? rc : scitt_buf_printf(out, ",\"index\":%llu", (unsigned long long)e->index);
    rc = rc != 0 ? rc : scitt_buf_printf(out, ",\"time\":%llu", (unsigned long long)e->time);
    if (rc == 0 && e->iss.len > 0) {
        rc = json_text(out, "iss", e->iss);
    }
    if (rc == 0 && e->sub.len > 0) {
        rc = json_text(out, "sub", e->sub);
    }
    if (rc == 0 && e->key_id.len > 0) {
        rc = scitt_buf_append_str(out, ",\"kid\":\"");
        rc = rc != 0 ? rc : scitt_kid_append(out, e->key_id);
        rc = rc != 0 ? rc : scitt_buf_append_byte(out, '"');
    }
    if (rc == 0 && e->has_content_type) {
        if (e->content_type.is_text) {
            rc = json_text(out, "content_type", e->content_type.text);
        } else if (e->content_type.num >= 0) {
            rc = scitt_buf_printf(out, ",\"content_type\":%lld", (long long)e->content_type.num);
        }
    }
    rc = rc != 0 ? rc : scitt_buf_append_byte(out, '}');
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

int scitt_cose_audit_json(scitt_buf_t *out, const scitt_cose_audit_entry_t *entries, size_t num, const char *next)
{
    size_t old = out->len;
    int rc = scitt_buf_append_str(out, "{\"entries\":[");
    for (size_t i = 0; i < num && rc == 0; i++) {
        rc = i > 0 ? scitt_buf_append_byte(out, ',') : 0;
        rc = rc != 0 ? rc : scitt_cose_audit_entry_json(out, &entries[i]);
    }
    rc = rc != 0 ? rc : scitt_buf_append_byte(out, ']');
    if (rc == 0 && next != NULL) {
        rc = json_text(out, "next", scitt_span_str(next));
    }
    rc = rc != 0 ? rc : scitt_buf_append_str(out, "}\n");
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

static bool key_is(scitt_span_t k, const char *lit)
{
    return scitt_span_eq(k, scitt_span_str(lit));
}

static int read_entry(scitt_cose__cur_t *cur, scitt_cose_audit_entry_t *e)
{
    uint64_t n;
    scitt_cose__keys_t keys = {0};
    unsigned have = 0;
    *e = (scitt_cose_audit_entry_t){0};
    int rc = scitt_cose__read_map(cur, &n, "an audit entry must be a map");
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        scitt_span_t k, raw, id;
        const uint8_t *start = cur->p;
        rc = scitt_cose__read_tstr(cur, &k, "audit entry keys are text");
        if (rc == 0) {
            raw = scitt_span(start, (size_t)(cur->p - start));
            rc = scitt_cose__keys_add(cur, &keys, raw);
        }
        if (rc != 0) {
            break;
        }
        if (key_is(k, "id")) {
            rc = scitt_cose__read_bstr(cur, &id, "id must be a byte string");
            if (rc == 0 && id.len != sizeof(e->id)) {
                rc = scitt_cose__fail(cur, SCITT_EMALFORMED, "id must be 32 bytes");
            }
            if (rc == 0) {
                memcpy(e->id, id.base, id.len);
                have |= 1;
            }
        } else if (key_is(k, "index")) {
            rc = scitt_cose__read_uint(cur, &e->index, "index must be an unsigned integer");
            have |= 2;
        } else if (key_is(k, "time")) {
            uint64_t t = 0;
            rc = scitt_cose__read_uint(cur, &t, "time must be an unsigned integer");
            if (rc == 0 && t > INT64_MAX) {
                rc = scitt_cose__fail(cur, SCITT_EMALFORMED, "time out of range");
            }
            e->time = (int64_t)t;
            have |= 4;
        } else if (key_is(k, "iss")) {
            rc = scitt_cose__read_tstr(cur, &e->iss, "iss must be text");
        } else if (key_is(k, "sub")) {
            rc = scitt_cose__read_tstr(cur, &e->sub, "sub must be text");
        } else if (key_is(k, "kid")) {
            rc = scitt_cose__read_bstr(cur, &e->key_id, "kid must be a byte string");
        } else if (key_is(k, "content_type")) {
            rc = scitt_cose__read_label(cur, &e->content_type, "content_type must be text or an integer");
            if (rc == 0 && !e->content_type.is_text && e->content_type.num < 0) {
                rc = scitt_cose__fail(cur, SCITT_EMALFORMED, "content_type must not be negative");
            }
            e->has_content_type = rc == 0;
        } else {
            rc = scitt_cose__read_skip(cur, NULL);
        }
    }
    if (rc == 0 && have != 7) {
        rc = scitt_cose__fail(cur, SCITT_EMALFORMED, "an audit entry needs id, index and time");
    }
    return rc;
}

int scitt_cose_audit_decode(scitt_cose_audit_entry_t *out, size_t max, size_t *out_num, scitt_span_t *out_next,
                            const uint8_t *data, size_t len, const char **out_err_desc)
{
    scitt_cose__cur_t cur;
    scitt_cose__keys_t keys = {0};
    uint64_t n, num = 0;
    bool have_entries = false;
    *out_num = 0;
    *out_next = scitt_span(NULL, 0);
    scitt_cose__cur_init(&cur, scitt_span(data, len));
    int rc = scitt_cose__read_map(&cur, &n, "an audit listing must be a map");
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        scitt_span_t k;
        const uint8_t *start = cur.p;
        rc = scitt_cose__read_tstr(&cur, &k, "audit listing keys are text");
        rc = rc != 0 ? rc : scitt_cose__keys_add(&cur, &keys, scitt_span(start, (size_t)(cur.p - start)));
        if (rc != 0) {
            break;
        }
        if (key_is(k, "next")) {
            rc = scitt_cose__read_tstr(&cur, out_next, "next must be text");
        } else if (key_is(k, "entries")) {
            rc = scitt_cose__read_array(&cur, &num, "entries must be an array");
            if (rc == 0 && num > max) {
                rc = scitt_cose__fail(&cur, SCITT_ETOOBIG, "more entries than expected");
            }
            for (uint64_t j = 0; j < num && rc == 0; j++) {
                rc = read_entry(&cur, &out[j]);
            }
            have_entries = true;
        } else {
            rc = scitt_cose__read_skip(&cur, NULL);
        }
    }
    if (rc == 0 && !have_entries) {
        rc = scitt_cose__fail(&cur, SCITT_EMALFORMED, "an audit listing needs entries");
    }
    rc = rc != 0 ? rc : scitt_cose__read_end(&cur);
    if (rc != 0) {
        *out_next = scitt_span(NULL, 0);
        if (out_err_desc != NULL) {
            *out_err_desc = cur.err_desc != NULL ? cur.err_desc : "malformed audit listing";
        }
        return rc;
    }
    *out_num = (size_t)num;
    return 0;
}
