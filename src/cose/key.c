/*
 * key.c: COSE_Key and COSE_KeySet encoding and parsing (RFC 9052 section 7)
 * and the RFC 9679 COSE Key Thumbprint.
 *
 * Encoding uses one writer, put_key(), for both published keys and
 * thumbprints: a thumbprint is exactly the encoding of the required public
 * parameters with no kid and no alg. Entries are written in deterministic
 * order (RFC 8949 section 4.2.1: bytewise order of the encoded keys), which
 * for these labels is 1, 2, 3, -1, -2, -3.
 *
 * Parsing is for keys fetched from a transparency service, so it is strict:
 * deterministic-length CBOR with unique labels, public parameters only (a
 * published private key is an operator error worth failing loudly on), and
 * an uncompressed EC point.
 */
#include "internal.h"

enum { KEY_KTY = 1, KEY_KID = 2, KEY_ALG = 3, KEY_CRV_OR_N = -1, KEY_X_OR_E = -2, KEY_Y = -3 };

static int put_key(scitt_buf_t *out, const scitt_key_params_t *p, scitt_span_t kid, int alg)
{
    bool rsa = p->kty == SCITT_KTY_RSA, ec2 = p->kty == SCITT_KTY_EC2;
    size_t num = 3 + (kid.len > 0) + (alg != 0) + ec2;
    size_t old = out->len;
    int rc = scitt_cose__put_head(out, SCITT_CBOR_MAP, num);
    if (rc == 0) {
        rc = scitt_cose__put_int(out, KEY_KTY);
    }
    if (rc == 0) {
        rc = scitt_cose__put_int(out, p->kty);
    }
    if (rc == 0 && kid.len > 0) {
        rc = scitt_cose__put_int(out, KEY_KID);
        if (rc == 0) {
            rc = scitt_cose__put_bstr(out, kid);
        }
    }
    if (rc == 0 && alg != 0) {
        rc = scitt_cose__put_int(out, KEY_ALG);
        if (rc == 0) {
            rc = scitt_cose__put_int(out, alg);
        }
    }
    if (rc == 0) {
        rc = scitt_cose__put_int(out, KEY_CRV_OR_N);
    }
    if (rc == 0) {
        rc = rsa ? scitt_cose__put_bstr(out, scitt_span(p->x, p->x_len)) : scitt_cose__put_int(out, p->crv);
    }
    if (rc == 0) {
        rc = scitt_cose__put_int(out, KEY_X_OR_E);
    }
    if (rc == 0) {
        rc = rsa ? scitt_cose__put_bstr(out, scitt_span(p->y, p->y_len))
                 : scitt_cose__put_bstr(out, scitt_span(p->x, p->x_len));
    }
    if (rc == 0 && ec2) {
        rc = scitt_cose__put_int(out, KEY_Y);
        if (rc == 0) {
            rc = scitt_cose__put_bstr(out, scitt_span(p->y, p->y_len));
        }
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

int scitt_cose_key_thumbprint(const scitt_mem_t *mem, uint8_t out[SCITT_SHA256_LEN], const scitt_key_t *key)
{
    scitt_key_params_t p;
    scitt_buf_t buf;
    int rc = scitt_key_params(key, &p);
    if (rc != 0) {
        return rc;
    }
    scitt_buf_init(&buf, mem, 0);
    rc = put_key(&buf, &p, scitt_span(NULL, 0), 0);
    if (rc == 0) {
        scitt_sha256(out, buf.base, buf.len);
    }
    scitt_buf_cleanup(&buf);
    return rc;
}

int scitt_cose_key_encode(scitt_buf_t *out, const scitt_cose_keyinfo_t *info)
{
    scitt_key_params_t p;
    int rc = scitt_key_params(info->key, &p);
    return rc != 0 ? rc : put_key(out, &p, info->kid, info->alg);
}

int scitt_cose_keyset_encode(scitt_buf_t *out, const scitt_cose_keyinfo_t *keys, size_t num_keys)
{
    size_t old = out->len;
    int rc = scitt_cose__put_head(out, SCITT_CBOR_ARRAY, num_keys);
    for (size_t i = 0; i < num_keys && rc == 0; i++) {
        rc = scitt_cose_key_encode(out, &keys[i]);
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

/* raw_params_t keeps the values of the kty-dependent labels -1..-3 until kty is
 * known (map order is free). */
typedef struct raw_params {
    bool has[3];
    scitt_cose__item_t item[3];
} raw_params_t;

static int bad_key(scitt_cose__cur_t *cur, const char *desc)
{
    return scitt_cose__fail(cur, SCITT_EBADKEY, desc);
}

/* finish_key checks the parameters against kty and fills `out`. */
static int finish_key(scitt_cose__cur_t *cur, scitt_cose_key_t *out, bool has_kty, const raw_params_t *raw)
{
    const scitt_cose__item_t *crv_or_n = &raw->item[0], *x_or_e = &raw->item[1], *y = &raw->item[2];
    bool ec2 = out->kty == SCITT_KTY_EC2, rsa = out->kty == SCITT_KTY_RSA;
    if (!has_kty || (!ec2 && !rsa && out->kty != SCITT_KTY_OKP)) {
        return bad_key(cur, "COSE_Key kty (1) missing or not OKP, EC2 or RSA");
    }
    if (!raw->has[0] || !raw->has[1] || raw->has[2] != ec2) {
        return bad_key(cur, "COSE_Key lacks its public parameters or carries private ones");
    }
    if (x_or_e->major != SCITT_CBOR_BSTR || (ec2 && y->major != SCITT_CBOR_BSTR)) {
        return bad_key(cur, "COSE_Key coordinates must be byte strings (compressed points are not accepted)");
    }
    if (rsa) {
        if (crv_or_n->major != SCITT_CBOR_BSTR) {
            return bad_key(cur, "COSE_Key RSA modulus (-1) must be a byte string");
        }
        out->x_or_n = crv_or_n->str;
        out->y_or_e = x_or_e->str;
        return 0;
    }
    if (crv_or_n->major != SCITT_CBOR_UINT || crv_or_n->val > INT32_MAX) {
        return bad_key(cur, "COSE_Key crv (-1) must be a registered curve");
    }
    out->crv = (int)crv_or_n->val;
    out->x_or_n = x_or_e->str;
    out->y_or_e = ec2 ? y->str : scitt_span(NULL, 0);
    return 0;
}

static int read_small_int(scitt_cose__cur_t *cur, int *out, const char *what)
{
    int64_t v;
    int rc = scitt_cose__read_int(cur, &v, what);
    if (rc == 0 && (v < INT32_MIN || v > INT32_MAX)) {
        rc = bad_key(cur, what);
    }
    if (rc == 0) {
        *out = (int)v;
    }
    return rc;
}

static int parse_key(scitt_cose__cur_t *cur, scitt_cose_key_t *out)
{
    scitt_cose__keys_t keys = {0};
    raw_params_t raw = {0};
    bool has_kty = false;
    uint64_t n = 0;
    memset(out, 0, sizeof(*out));
    int rc = scitt_cose__read_map(cur, &n, "COSE_Key must be a map");
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        const uint8_t *key_start = cur->p;
        scitt_cose_label_t label;
        rc = scitt_cose__read_label(cur, &label, "COSE_Key labels must be integers or text strings");
        if (rc == 0) {
            rc = scitt_cose__keys_add(cur, &keys, scitt_span(key_start, (size_t)(cur->p - key_start)));
        }
        if (rc != 0) {
            break;
        }
        if (label.is_text || label.num > KEY_ALG || label.num == 0) {
            /* key_ops (4), Base IV (5) and private-use labels: validated, unused. */
            rc = scitt_cose__read_skip(cur, NULL);
        } else if (label.num == KEY_KTY) {
            has_kty = true;
            rc = read_small_int(cur, &out->kty, "COSE_Key kty (1) must be an integer");
        } else if (label.num == KEY_KID) {
            rc = scitt_cose__read_bstr(cur, &out->kid, "COSE_Key kid (2) must be a byte string");
        } else if (label.num == KEY_ALG) {
            rc = read_small_int(cur, &out->alg, "COSE_Key alg (3) must be an integer");
        } else if (label.num >= KEY_Y) {
            size_t idx = (size_t)(-label.num - 1);
            raw.has[idx] = true;
            rc = scitt_cose__read_head(cur, &raw.item[idx]);
            /* Strings and ints here; booleans reach finish_key as compressed points. */
            if (rc == 0 && raw.item[idx].major > SCITT_CBOR_TSTR && raw.item[idx].major != SCITT_CBOR_SIMPLE) {
                rc = scitt_cose__fail(cur, SCITT_ETYPE, "COSE_Key parameters must be integers or byte strings");
            }
        } else {
            rc = bad_key(cur, "COSE_Key carries a private key parameter");
        }
    }
    return rc != 0 ? rc : finish_key(cur, out, has_kty, &raw);
}

static int finish(int rc, const scitt_cose__cur_t *cur, const char **out_err_desc)
{
    if (rc != 0 && out_err_desc != NULL) {
        *out_err_desc = cur->err_desc;
    }
    return rc;
}

int scitt_cose_key_parse(scitt_cose_key_t *out, const uint8_t *data, size_t len, const char **out_err_desc)
{
    scitt_cose__cur_t cur;
    scitt_cose__cur_init(&cur, scitt_span(data, len));
    int rc = parse_key(&cur, out);
    if (rc == 0) {
        rc = scitt_cose__read_end(&cur);
    }
    return finish(rc, &cur, out_err_desc);
}

int scitt_cose_keyset_parse(scitt_cose_key_t *out, size_t max_keys, size_t *out_num, const uint8_t *data, size_t len,
                            const char **out_err_desc)
{
    scitt_cose__cur_t cur;
    uint64_t n = 0;
    scitt_cose__cur_init(&cur, scitt_span(data, len));
    int rc = scitt_cose__read_array(&cur, &n, "COSE_KeySet must be an array");
    if (rc == 0 && n > max_keys) {
        rc = scitt_cose__fail(&cur, SCITT_ETOOBIG, "COSE_KeySet holds more keys than accepted");
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = parse_key(&cur, &out[i]);
    }
    if (rc == 0) {
        rc = scitt_cose__read_end(&cur);
    }
    if (rc == 0) {
        *out_num = (size_t)n;
    }
    return finish(rc, &cur, out_err_desc);
}

int scitt_cose_key_load(scitt_key_t **out, const scitt_cose_key_t *key)
{
    int rc = scitt_key_from_cose(out, key->kty, key->crv, key->x_or_n, key->y_or_e);
    if (rc == 0 && key->alg != 0 && !scitt_key_supports(*out, key->alg)) {
        scitt_key_free(*out);
        *out = NULL;
        rc = SCITT_EBADKEY;
    }
    return rc;
}
