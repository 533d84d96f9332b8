/*
 * headers.c: reads one COSE header bucket into a scitt_cose_hdrs_t.
 *
 * The same reader serves the protected and the unprotected bucket; deciding
 * which parameter may sit where is statement.c's job (and the receipts
 * reader's), because the rules differ between signed statements and
 * receipts. Here we only insist that every parameter we know has the type its
 * RFC gives it, that map keys are unique, and that repeated values stay
 * within the SCITT_COSE_MAX_* bounds. Unknown labels are skipped after being
 * validated as CBOR (the cursor checks key uniqueness in nested maps and
 * UTF-8 in text strings at any depth), so a later reader never meets bytes
 * the decoder did not check.
 */
#include "internal.h"

/* read_int_or_text reads the "tstr / uint" values (content type, typ, 259). */
static int read_int_or_text(scitt_cose__cur_t *cur, scitt_cose_label_t *out, const char *what)
{
    const uint8_t *start = cur->p;
    int rc = scitt_cose__read_label(cur, out, what);
    if (rc == 0 && !out->is_text && out->num < 0) {
        cur->p = start;
        rc = scitt_cose__fail(cur, SCITT_ETYPE, what);
    }
    return rc;
}

static int read_crit(scitt_cose__cur_t *cur, scitt_cose_hdrs_t *out)
{
    uint64_t n = 0;
    int rc = scitt_cose__read_array(cur, &n, "crit (2) must be an array");
    if (rc != 0) {
        return rc;
    }
    if (n == 0 || n > SCITT_COSE_MAX_CRIT) {
        return scitt_cose__fail(cur, SCITT_EHEADER, "crit (2) must list between 1 and 8 labels");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = scitt_cose__read_label(cur, &out->crit[i], "crit (2) entries must be integer or text labels");
    }
    out->num_crit = (size_t)n;
    return rc;
}

static int read_cwt(scitt_cose__cur_t *cur, scitt_cose_cwt_t *out)
{
    scitt_cose__keys_t keys;
    uint64_t n = 0;
    int rc = scitt_cose__read_map(cur, &n, "CWT claims (15) must be a map");
    scitt_cose__keys_init(&keys);
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        const uint8_t *key_start = cur->p;
        scitt_cose_label_t key;
        rc = scitt_cose__read_label(cur, &key, "CWT claim keys must be integers or text strings");
        if (rc == 0) {
            rc = scitt_cose__keys_add(cur, &keys, scitt_span(key_start, (size_t)(cur->p - key_start)));
        }
        if (rc != 0) {
            break;
        }
        if (scitt_cose__label_is(&key, SCITT_CWT_ISS)) {
            rc = scitt_cose__read_tstr(cur, &out->iss, "CWT claim iss (1) must be a text string");
            out->present |= SCITT_CWT_HAS_ISS;
        } else if (scitt_cose__label_is(&key, SCITT_CWT_SUB)) {
            rc = scitt_cose__read_tstr(cur, &out->sub, "CWT claim sub (2) must be a text string");
            out->present |= SCITT_CWT_HAS_SUB;
        } else if (scitt_cose__label_is(&key, SCITT_CWT_IAT)) {
            rc = scitt_cose__read_int(cur, &out->iat, "CWT claim iat (6) must be an integer");
            out->present |= SCITT_CWT_HAS_IAT;
        } else {
            rc = scitt_cose__read_skip(cur, NULL);
        }
    }
    return rc;
}

/* read_x5chain reads "bstr / [+ bstr]", keeping a span to each DER certificate. */
static int read_x5chain(scitt_cose__cur_t *cur, scitt_cose_hdrs_t *out)
{
    static const char what[] = "x5chain (33) must be a byte string or an array of byte strings";
    uint64_t n = 0;
    int rc;
    if (scitt_cose__peek(cur) == SCITT_CBOR_BSTR) {
        out->num_x5chain = 1;
        return scitt_cose__read_bstr(cur, &out->x5chain[0], what);
    }
    rc = scitt_cose__read_array(cur, &n, what);
    if (rc != 0) {
        return rc;
    }
    if (n == 0 || n > SCITT_COSE_MAX_X5CHAIN) {
        return scitt_cose__fail(cur, SCITT_EHEADER, "x5chain (33) must hold between 1 and 8 certificates");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = scitt_cose__read_bstr(cur, &out->x5chain[i], what);
    }
    out->num_x5chain = (size_t)n;
    return rc;
}

static int read_x5t(scitt_cose__cur_t *cur, scitt_cose_hdrs_t *out)
{
    static const char what[] = "x5t (34) must be [hash algorithm, hash]";
    uint64_t n = 0;
    int rc = scitt_cose__read_array(cur, &n, what);
    if (rc == 0 && n != 2) {
        rc = scitt_cose__fail(cur, SCITT_ETYPE, what);
    }
    if (rc == 0) {
        rc = scitt_cose__read_int(cur, &out->x5t_alg, what);
    }
    if (rc == 0) {
        rc = scitt_cose__read_bstr(cur, &out->x5t_hash, what);
    }
    return rc;
}

/* read_receipts accepts each receipt bstr-wrapped (RFC 9942) or as a bare
 * tagged item (RFC 9943's CDDL); either way the span is the tagged bytes. */
static int read_receipts(scitt_cose__cur_t *cur, scitt_cose_hdrs_t *out)
{
    static const char what[] = "receipts (394) must be an array of byte strings or tagged COSE_Sign1";
    uint64_t n = 0;
    int rc = scitt_cose__read_array(cur, &n, what);
    if (rc != 0) {
        return rc;
    }
    if (n == 0 || n > SCITT_COSE_MAX_RECEIPTS) {
        return scitt_cose__fail(cur, SCITT_EHEADER, "receipts (394) must hold between 1 and 8 receipts");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        int major = scitt_cose__peek(cur);
        if (major == SCITT_CBOR_BSTR) {
            rc = scitt_cose__read_bstr(cur, &out->receipts[i], what);
        } else if (major == SCITT_CBOR_TAG) {
            rc = scitt_cose__read_skip(cur, &out->receipts[i]);
        } else {
            rc = scitt_cose__fail(cur, SCITT_ETYPE, what);
        }
    }
    out->num_receipts = (size_t)n;
    return rc;
}

/* read_param reads the value of `label` and returns its SCITT_COSE_HAS_*
 * bit through `*out_bit` (0 for labels we skip). */
static int read_param(scitt_cose__cur_t *cur, scitt_cose_hdrs_t *out, const scitt_cose_label_t *label,
                      uint32_t *out_bit)
{
    int rc;
    *out_bit = 0;
    if (label->is_text) {
        return scitt_cose__read_skip(cur, NULL);
    }
    switch (label->num) {
    case SCITT_COSE_LABEL_ALG:
        *out_bit = SCITT_COSE_HAS_ALG;
        rc = scitt_cose__read_int(cur, &out->alg, "alg (1) must be an integer");
        /* A text alg is legal COSE but names nothing we can verify. */
        return rc == SCITT_ETYPE ? SCITT_EBADALG : rc;
    case SCITT_COSE_LABEL_CRIT:
        *out_bit = SCITT_COSE_HAS_CRIT;
        return read_crit(cur, out);
    case SCITT_COSE_LABEL_CONTENT_TYPE:
        *out_bit = SCITT_COSE_HAS_CONTENT_TYPE;
        return read_int_or_text(cur, &out->content_type,
                                "content type (3) must be a text string or an unsigned integer");
    case SCITT_COSE_LABEL_KID:
        *out_bit = SCITT_COSE_HAS_KID;
        return scitt_cose__read_bstr(cur, &out->kid, "kid (4) must be a byte string");
    case SCITT_COSE_LABEL_CWT_CLAIMS:
        *out_bit = SCITT_COSE_HAS_CWT;
        return read_cwt(cur, &out->cwt);
    case SCITT_COSE_LABEL_TYP:
        *out_bit = SCITT_COSE_HAS_TYP;
        return read_int_or_text(cur, &out->typ, "typ (16) must be a text string or an unsigned integer");
    case SCITT_COSE_LABEL_X5CHAIN:
        *out_bit = SCITT_COSE_HAS_X5CHAIN;
        return read_x5chain(cur, out);
    case SCITT_COSE_LABEL_X5T:
        *out_bit = SCITT_COSE_HAS_X5T;
        return read_x5t(cur, out);
    case SCITT_COSE_LABEL_PAYLOAD_HASH_ALG:
        *out_bit = SCITT_COSE_HAS_PAYLOAD_HASH_ALG;
        return scitt_cose__read_int(cur, &out->payload_hash_alg, "payload hash algorithm (258) must be an integer");
    case SCITT_COSE_LABEL_PREIMAGE_CTYPE:
        *out_bit = SCITT_COSE_HAS_PREIMAGE_CTYPE;
        return read_int_or_text(cur, &out->preimage_content_type,
                                "preimage content type (259) must be a text string or an unsigned integer");
    case SCITT_COSE_LABEL_PAYLOAD_LOCATION:
        *out_bit = SCITT_COSE_HAS_PAYLOAD_LOCATION;
        return scitt_cose__read_tstr(cur, &out->payload_location, "payload location (260) must be a text string");
    case SCITT_COSE_LABEL_RECEIPTS:
        *out_bit = SCITT_COSE_HAS_RECEIPTS;
        return read_receipts(cur, out);
    default:
        return scitt_cose__read_skip(cur, NULL);
    }
}

int scitt_cose__hdrs_read(scitt_cose__cur_t *cur, scitt_cose_hdrs_t *out, scitt_cose__keys_t *keys)
{
    const uint8_t *start = cur->p;
    uint64_t n = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    rc = scitt_cose__read_map(cur, &n, "header must be a map");
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        const uint8_t *key_start = cur->p;
        scitt_cose_label_t label;
        uint32_t bit;
        rc = scitt_cose__read_label(cur, &label, "header labels must be integers or text strings");
        if (rc == 0) {
            rc = scitt_cose__keys_add(cur, keys, scitt_span(key_start, (size_t)(cur->p - key_start)));
        }
        if (rc == 0) {
            rc = read_param(cur, out, &label, &bit);
            out->present |= bit;
        }
    }
    if (rc != 0) {
        cur->p = start;
        return rc;
    }
    out->map = scitt_span(start, (size_t)(cur->p - start));
    return 0;
}
