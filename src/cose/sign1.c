/*
 * sign1.c: COSE_Sign1 decoding, normalisation, Sig_structure, verification
 * and signing (RFC 9052 section 4).
 *
 * The decoder keeps four spans per element: the item as received and its
 * content. Normalisation and the Sig_structure are then built from received
 * bytes only, never from re-encoded values: the protected header must be
 * signed and logged exactly as the issuer sent it (RFC 9052 section 4.4),
 * and since every head was checked to be minimal, re-using received heads
 * gives the same bytes a deterministic encoder would.
 */
#include "internal.h"

/* The two header buckets must not share a label (RFC 9052 section 3). */
static int check_disjoint(scitt_cose__cur_t *cur, const scitt_cose__keys_t *prot, const scitt_cose__keys_t *unprot)
{
    for (size_t i = 0; i < unprot->num; i++) {
        if (scitt_cose__keys_has(prot, unprot->raw[i])) {
            return scitt_cose__fail(cur, SCITT_EDUPKEY, "a label appears in both protected and unprotected headers");
        }
    }
    return 0;
}

static int decode_protected(scitt_cose__cur_t *cur, scitt_cose_sign1_t *out, scitt_cose__keys_t *keys)
{
    scitt_cose__item_t it;
    const uint8_t *start = cur->p;
    int rc = scitt_cose__read_head(cur, &it);
    if (rc != 0) {
        return rc;
    }
    if (it.major != SCITT_CBOR_BSTR) {
        cur->p = start;
        return scitt_cose__fail(cur, SCITT_ETYPE, "protected header must be a byte string");
    }
    out->protected_item = it.raw;
    out->protected_bstr = it.str;
    if (it.str.len == 0) {
        /* An empty bstr stands for an empty map (RFC 9052 section 3). */
        return 0;
    }
    scitt_cose__cur_t inner;
    scitt_cose__cur_init(&inner, it.str);
    inner.stored = cur->stored;
    rc = scitt_cose__hdrs_read(&inner, &out->prot, keys);
    if (rc == 0) {
        rc = scitt_cose__read_end(&inner);
    }
    if (rc != 0) {
        cur->p = start;
        return scitt_cose__fail(cur, rc, inner.err_desc);
    }
    return 0;
}

static int decode_payload(scitt_cose__cur_t *cur, scitt_cose_sign1_t *out)
{
    scitt_cose__item_t it;
    const uint8_t *start = cur->p;
    int rc = scitt_cose__read_head(cur, &it);
    if (rc != 0) {
        return rc;
    }
    if (it.major == SCITT_CBOR_SIMPLE && it.val == SCITT_CBOR_NULL) {
        out->detached = true;
    } else if (it.major == SCITT_CBOR_BSTR) {
        out->payload = it.str;
    } else {
        cur->p = start;
        return scitt_cose__fail(cur, SCITT_ETYPE, "payload must be a byte string or nil");
    }
    out->payload_item = it.raw;
    return 0;
}

static int decode(scitt_cose__cur_t *cur, scitt_cose_sign1_t *out)
{
    scitt_cose__keys_t prot_keys = {0}, unprot_keys = {0};
    scitt_cose__item_t it;
    uint64_t n;
    int rc;
    if (scitt_cose__peek(cur) == SCITT_CBOR_TAG) {
        rc = scitt_cose__read_head(cur, &it);
        if (rc != 0) {
            return rc;
        }
        if (it.val != 18) {
            return scitt_cose__fail(cur, SCITT_EMALFORMED, "COSE_Sign1 may only carry tag 18");
        }
        out->tagged = true;
    }
    rc = scitt_cose__read_array(cur, &n, "COSE_Sign1 must be an array");
    if (rc != 0) {
        return rc;
    }
    if (n != 4) {
        return scitt_cose__fail(cur, SCITT_ETYPE, "COSE_Sign1 must be an array of four items");
    }
    rc = decode_protected(cur, out, &prot_keys);
    if (rc != 0) {
        return rc;
    }
    const uint8_t *unprot_start = cur->p;
    rc = scitt_cose__hdrs_read(cur, &out->unprot, &unprot_keys);
    if (rc != 0) {
        return rc;
    }
    out->unprotected_item = scitt_span(unprot_start, (size_t)(cur->p - unprot_start));
    rc = check_disjoint(cur, &prot_keys, &unprot_keys);
    if (rc != 0) {
        return rc;
    }
    rc = decode_payload(cur, out);
    if (rc != 0) {
        return rc;
    }
    const uint8_t *sig_start = cur->p;
    rc = scitt_cose__read_bstr(cur, &out->signature, "signature must be a byte string");
    if (rc != 0) {
        return rc;
    }
    out->signature_item = scitt_span(sig_start, (size_t)(cur->p - sig_start));
    return scitt_cose__read_end(cur);
}

static int sign1_decode(scitt_cose_sign1_t *out, const uint8_t *data, size_t len, size_t max_len, bool stored,
                        const char **out_err_desc)
{
    scitt_cose__cur_t cur;
    int rc;
    memset(out, 0, sizeof(*out));
    if (max_len == 0) {
        max_len = SCITT_COSE_DEFAULT_MAX_LEN;
    }
    if (len > max_len) {
        rc = SCITT_ETOOBIG;
        cur.err_desc = "statement exceeds the maximum accepted size";
    } else {
        out->raw = scitt_span(data, len);
        scitt_cose__cur_init(&cur, out->raw);
        cur.stored = stored;
        rc = decode(&cur, out);
    }
    if (rc != 0) {
        memset(out, 0, sizeof(*out));
        if (out_err_desc != NULL) {
            *out_err_desc = cur.err_desc;
        }
    }
    return rc;
}

int scitt_cose_sign1_decode(scitt_cose_sign1_t *out, const uint8_t *data, size_t len, size_t max_len,
                            const char **out_err_desc)
{
    return sign1_decode(out, data, len, max_len, false, out_err_desc);
}

int scitt_cose_sign1_decode_stored(scitt_cose_sign1_t *out, const uint8_t *data, size_t len)
{
    return sign1_decode(out, data, len, SIZE_MAX, true, NULL);
}

/* normalised_parts lists the normalised statement as spans of received
 * bytes, so it can be hashed without being copied. */
static size_t normalised_parts(const scitt_cose_sign1_t *s, scitt_span_t parts[5])
{
    static const uint8_t tag_array[2] = {0xd2, 0x84};
    static const uint8_t empty_map[1] = {0xa0};
    parts[0] = scitt_span(tag_array, sizeof(tag_array));
    parts[1] = s->protected_item;
    parts[2] = scitt_span(empty_map, sizeof(empty_map));
    parts[3] = s->payload_item;
    parts[4] = s->signature_item;
    return 5;
}

int scitt_cose_normalise(const scitt_cose_sign1_t *s, scitt_buf_t *out)
{
    scitt_span_t parts[5];
    size_t n = normalised_parts(s, parts);
    size_t total = 0, old = out->len;
    for (size_t i = 0; i < n; i++) {
        total += parts[i].len;
    }
    int rc = scitt_buf_reserve(out, total);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = scitt_buf_append(out, parts[i].base, parts[i].len);
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

void scitt_cose_entry(const scitt_cose_sign1_t *s, uint8_t out[SCITT_SHA256_LEN])
{
    scitt_span_t parts[5];
    size_t n = normalised_parts(s, parts);
    scitt_sha256_parts(out, parts, n);
}

int scitt_cose__put_sig_structure(scitt_buf_t *out, scitt_span_t protected_bstr, scitt_span_t payload)
{
    static const uint8_t prefix[] = {0x84, 0x6a, 'S', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e', '1'};
    static const uint8_t empty_bstr = 0x40;
    size_t old = out->len;
    /* One reservation up front: a head is at most 9 bytes. */
    int rc = scitt_buf_reserve(out, sizeof(prefix) + 9 + protected_bstr.len + 1 + 9 + payload.len);
    if (rc == 0) {
        rc = scitt_buf_append(out, prefix, sizeof(prefix));
    }
    if (rc == 0) {
        rc = scitt_cose__put_bstr(out, protected_bstr);
    }
    if (rc == 0) {
        rc = scitt_buf_append(out, &empty_bstr, 1);
    }
    if (rc == 0) {
        rc = scitt_cose__put_bstr(out, payload);
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

int scitt_cose_sig_structure(const scitt_cose_sign1_t *s, scitt_span_t payload, scitt_buf_t *out)
{
    if (!s->detached && payload.len != 0) {
        return SCITT_EINVAL;
    }
    return scitt_cose__put_sig_structure(out, s->protected_bstr, s->detached ? payload : s->payload);
}

int scitt_cose_sign1_verify(const scitt_cose_sign1_t *s, const scitt_key_t *key, scitt_span_t payload,
                            scitt_buf_t *scratch, const char **out_err_desc)
{
    const char *desc = NULL;
    int rc;
    scitt_buf_reset(scratch);
    if (!(s->prot.present & SCITT_COSE_HAS_ALG)) {
        rc = SCITT_EBADALG;
        desc = "alg (1) missing from the protected header";
    } else if (s->prot.alg < INT32_MIN || s->prot.alg > INT32_MAX || !scitt_key_supports(key, (int)s->prot.alg)) {
        rc = SCITT_EBADALG;
        desc = "the signing key does not support the statement's alg";
    } else {
        rc = scitt_cose_sig_structure(s, payload, scratch);
        if (rc == 0) {
            rc = scitt_sig_verify(key, (int)s->prot.alg, scratch->base, scratch->len, s->signature.base,
                                  s->signature.len);
            desc = rc == SCITT_EBADSIG ? "signature does not verify" : scitt_strerror(rc);
        } else {
            desc = scitt_strerror(rc);
        }
    }
    if (rc != 0 && out_err_desc != NULL) {
        *out_err_desc = desc;
    }
    return rc;
}

static int sign_with_key(void *ud, int alg, scitt_span_t tbs, uint8_t *sig, size_t cap, size_t *out_len)
{
    return scitt_sig_sign(ud, alg, tbs.base, tbs.len, sig, cap, out_len);
}

int scitt_cose_sign1_sign(scitt_buf_t *out, const scitt_key_t *key, int alg, scitt_span_t protected_map,
                          scitt_span_t unprotected_map, scitt_span_t payload, bool detached, scitt_buf_t *scratch)
{
    return scitt_cose_sign1_sign_with(out, sign_with_key, (void *)key, alg, protected_map, unprotected_map, payload,
                                      detached, scratch);
}

int scitt_cose_sign1_sign_with(scitt_buf_t *out, scitt_cose_signer_fn sign, void *ud, int alg,
                               scitt_span_t protected_map, scitt_span_t unprotected_map, scitt_span_t payload,
                               bool detached, scitt_buf_t *scratch)
{
    static const uint8_t tag_array[2] = {0xd2, 0x84};
    static const uint8_t empty_map = 0xa0, nil = 0xf6;
    uint8_t sig[512];
    size_t sig_len = 0, old = out->len;
    scitt_buf_reset(scratch);
    int rc = scitt_cose__put_sig_structure(scratch, protected_map, payload);
    if (rc == 0) {
        rc = sign(ud, alg, scitt_buf_span(scratch), sig, sizeof(sig), &sig_len);
    }
    if (rc == 0) {
        rc = scitt_buf_append(out, tag_array, sizeof(tag_array));
    }
    if (rc == 0) {
        rc = scitt_cose__put_bstr(out, protected_map);
    }
    if (rc == 0) {
        rc = unprotected_map.len == 0 ? scitt_buf_append(out, &empty_map, 1)
                                      : scitt_buf_append(out, unprotected_map.base, unprotected_map.len);
    }
    if (rc == 0) {
        rc = detached ? scitt_buf_append(out, &nil, 1) : scitt_cose__put_bstr(out, payload);
    }
    if (rc == 0) {
        rc = scitt_cose__put_bstr(out, scitt_span(sig, sig_len));
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}
