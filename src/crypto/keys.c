/*
 * keys.c: loading, generating and exporting EC, Ed25519 and RSA keys.
 *
 * Every EVP_PKEY is checked once here (type, curve, size), so the signature
 * code can rely on scitt_key_t's kty and crv.
 */
#include <limits.h>
#include <stdlib.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "internal.h"

static int curve_from_nid(int nid)
{
    switch (nid) {
    case NID_X9_62_prime256v1:
        return SCITT_CRV_P256;
    case NID_secp384r1:
        return SCITT_CRV_P384;
    case NID_secp521r1:
        return SCITT_CRV_P521;
    default:
        return 0;
    }
}

static int nid_from_curve(int crv)
{
    switch (crv) {
    case SCITT_CRV_P256:
        return NID_X9_62_prime256v1;
    case SCITT_CRV_P384:
        return NID_secp384r1;
    case SCITT_CRV_P521:
        return NID_secp521r1;
    default:
        return NID_undef;
    }
}

/* Bytes of one EC coordinate for a COSE curve. */
static size_t coord_len(int crv)
{
    return crv == SCITT_CRV_P256 ? 32 : crv == SCITT_CRV_P384 ? 48 : crv == SCITT_CRV_P521 ? 66 : 0;
}

int scitt_crypto__key_wrap(scitt_key_t **out, EVP_PKEY *pkey, bool has_private)
{
    scitt_key_t *key = calloc(1, sizeof(*key));
    if (key == NULL) {
        return SCITT_ENOMEM;
    }
    switch (EVP_PKEY_id(pkey)) {
    case EVP_PKEY_EC:
        key->kty = SCITT_KTY_EC2;
        key->ec = EVP_PKEY_get1_EC_KEY(pkey);
        if (key->ec == NULL) {
            goto bad;
        }
        key->crv = curve_from_nid(EC_GROUP_get_curve_name(EC_KEY_get0_group(key->ec)));
        if (key->crv == 0) {
            goto bad;
        }
        break;
    case EVP_PKEY_ED25519:
        key->kty = SCITT_KTY_OKP;
        key->crv = SCITT_CRV_ED25519;
        break;
    case EVP_PKEY_RSA:
        key->kty = SCITT_KTY_RSA;
        if (EVP_PKEY_bits(pkey) < 2048 || EVP_PKEY_bits(pkey) > 4096) {
            goto bad;
        }
        break;
    default:
        goto bad;
    }
    key->pkey = pkey;
    key->has_private = has_private;
    *out = key;
    return 0;
bad:
    EC_KEY_free(key->ec);
    free(key);
    return SCITT_EBADKEY;
}

void scitt_key_free(scitt_key_t *key)
{
    if (key == NULL) {
        return;
    }
    EC_KEY_free(key->ec);
    EVP_PKEY_free(key->pkey);
    free(key);
}

bool scitt_key_has_private(const scitt_key_t *key)
{
    return key->has_private;
}

static int wrap_or_free(scitt_key_t **out, EVP_PKEY *pkey, bool has_private)
{
    int rc = scitt_crypto__key_wrap(out, pkey, has_private);
    if (rc != 0) {
        EVP_PKEY_free(pkey);
    }
    return rc;
}

int scitt_key_generate(scitt_key_t **out, int alg)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int crv = alg == SCITT_ALG_ES256   ? SCITT_CRV_P256
              : alg == SCITT_ALG_ES384 ? SCITT_CRV_P384
              : alg == SCITT_ALG_ES512 ? SCITT_CRV_P521
                                       : 0;
    if (crv != 0) {
        EC_KEY *ec = EC_KEY_new_by_curve_name(nid_from_curve(crv));
        pkey = EVP_PKEY_new();
        if (ec == NULL || pkey == NULL || !EC_KEY_generate_key(ec) || !EVP_PKEY_assign_EC_KEY(pkey, ec)) {
            EC_KEY_free(ec);
            EVP_PKEY_free(pkey);
            return SCITT_ECRYPTO;
        }
        return wrap_or_free(out, pkey, true);
    }
    switch (alg) {
    case SCITT_ALG_EDDSA:
        ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
        if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0) {
            goto fail;
        }
        break;
    case SCITT_ALG_PS256:
    case SCITT_ALG_PS384:
    case SCITT_ALG_PS512:
        ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
        if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 3072) <= 0) {
            goto fail;
        }
        break;
    default:
        return SCITT_EBADALG;
    }
    if (EVP_PKEY_keygen(ctx, &pkey) <= 0) {
        goto fail;
    }
    EVP_PKEY_CTX_free(ctx);
    return wrap_or_free(out, pkey, true);
fail:
    EVP_PKEY_CTX_free(ctx);
    return SCITT_ECRYPTO;
}

/* PEM private keys may be encrypted; we never prompt for a password. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

int scitt_key_from_pem(scitt_key_t **out, const uint8_t *pem, size_t len)
{
    if (len > INT_MAX) {
        return SCITT_ETOOBIG;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        return SCITT_ENOMEM;
    }
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    bool has_private = pkey != NULL;
    if (pkey == NULL) {
        BIO_free(bio);
        bio = BIO_new_mem_buf(pem, (int)len);
        if (bio == NULL) {
            return SCITT_ENOMEM;
        }
        pkey = PEM_read_bio_PUBKEY(bio, NULL, no_password, NULL);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (pkey == NULL) {
        return SCITT_EBADKEY;
    }
    return wrap_or_free(out, pkey, has_private);
}

int scitt_key_from_spki(scitt_key_t **out, const uint8_t *der, size_t len)
{
    if (len > INT_MAX) {
        return SCITT_ETOOBIG;
    }
    const uint8_t *p = der;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
    ERR_clear_error();
    if (pkey == NULL) {
        return SCITT_EBADKEY;
    }
    if (p != der + len) {
        EVP_PKEY_free(pkey);
        return SCITT_EBADKEY;
    }
    return wrap_or_free(out, pkey, false);
}

static int ec_from_cose(EVP_PKEY **out, int crv, scitt_span_t x, scitt_span_t y)
{
    size_t n = coord_len(crv);
    if (n == 0 || x.len != n || y.len != n) {
        return SCITT_EBADKEY;
    }
    uint8_t point[1 + 2 * 66];
    point[0] = 0x04;
    memcpy(point + 1, x.base, n);
    memcpy(point + 1 + n, y.base, n);
    EC_KEY *ec = EC_KEY_new_by_curve_name(nid_from_curve(crv));
    EC_POINT *pt = ec != NULL ? EC_POINT_new(EC_KEY_get0_group(ec)) : NULL;
    EVP_PKEY *pkey = EVP_PKEY_new();
    int rc = SCITT_EBADKEY;
    if (pt != NULL && pkey != NULL && EC_POINT_oct2point(EC_KEY_get0_group(ec), pt, point, 1 + 2 * n, NULL) &&
        EC_KEY_set_public_key(ec, pt) && EC_KEY_check_key(ec) && EVP_PKEY_assign_EC_KEY(pkey, ec)) {
        ec = NULL; /* now owned by pkey */
        *out = pkey;
        pkey = NULL;
        rc = 0;
    }
    EC_POINT_free(pt);
    EC_KEY_free(ec);
    EVP_PKEY_free(pkey);
    return rc;
}

static int rsa_from_cose(EVP_PKEY **out, scitt_span_t n, scitt_span_t e)
{
    if (n.len == 0 || n.len > 512 || e.len == 0 || e.len > 8 || n.base[0] == 0 || e.base[0] == 0) {
        return SCITT_EBADKEY;
    }
    RSA *rsa = RSA_new();
    BIGNUM *bn_n = BN_bin2bn(n.base, (int)n.len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e.base, (int)e.len, NULL);
    EVP_PKEY *pkey = EVP_PKEY_new();
    if (rsa == NULL || bn_n == NULL || bn_e == NULL || pkey == NULL || !RSA_set0_key(rsa, bn_n, bn_e, NULL)) {
        BN_free(bn_n);
        BN_free(bn_e);
        goto fail;
    }
    if (!EVP_PKEY_assign_RSA(pkey, rsa)) {
        goto fail;
    }
    *out = pkey;
    return 0;
fail:
    RSA_free(rsa);
    EVP_PKEY_free(pkey);
    return SCITT_EBADKEY;
}

int scitt_key_from_cose(scitt_key_t **out, int kty, int crv, scitt_span_t x_or_n, scitt_span_t y_or_e)
{
    EVP_PKEY *pkey = NULL;
    int rc;
    switch (kty) {
    case SCITT_KTY_EC2:
        rc = ec_from_cose(&pkey, crv, x_or_n, y_or_e);
        break;
    case SCITT_KTY_OKP:
        if (crv != SCITT_CRV_ED25519 || x_or_n.len != 32) {
            return SCITT_EBADKEY;
        }
        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x_or_n.base, 32);
        rc = pkey != NULL ? 0 : SCITT_EBADKEY;
        break;
    case SCITT_KTY_RSA:
        rc = rsa_from_cose(&pkey, x_or_n, y_or_e);
        break;
    default:
        rc = SCITT_EBADKEY;
    }
    ERR_clear_error();
    if (rc != 0) {
        return rc;
    }
    return wrap_or_free(out, pkey, false);
}

static int bio_to_buf(BIO *bio, scitt_buf_t *out)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    int rc = n < 0 ? SCITT_ECRYPTO : scitt_buf_append(out, data, (size_t)n);
    BIO_free(bio);
    return rc;
}

int scitt_key_public_pem(const scitt_key_t *key, scitt_buf_t *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        return SCITT_ENOMEM;
    }
    if (!PEM_write_bio_PUBKEY(bio, key->pkey)) {
        BIO_free(bio);
        return SCITT_ECRYPTO;
    }
    return bio_to_buf(bio, out);
}

int scitt_key_private_pem(const scitt_key_t *key, scitt_buf_t *out)
{
    if (!key->has_private) {
        return SCITT_EINVAL;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        return SCITT_ENOMEM;
    }
    if (!PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(bio);
        return SCITT_ECRYPTO;
    }
    return bio_to_buf(bio, out);
}

int scitt_key_spki(const scitt_key_t *key, scitt_buf_t *out)
{
    uint8_t *der = NULL;
    int n = i2d_PUBKEY(key->pkey, &der);
    if (n <= 0) {
        return SCITT_ECRYPTO;
    }
    int rc = scitt_buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

int scitt_crypto__bn_to_fixed(const BIGNUM *bn, uint8_t *out, size_t len)
{
#if defined(SCITT_CRYPTO_BORINGSSL)
    return BN_bn2bin_padded(out, len, bn) ? 0 : SCITT_ECRYPTO;
#else
    return BN_bn2binpad(bn, out, (int)len) == (int)len ? 0 : SCITT_ECRYPTO;
#endif
}

int scitt_key_params(const scitt_key_t *key, scitt_key_params_t *out)
{
    memset(out, 0, sizeof(*out));
    out->kty = key->kty;
    out->crv = key->crv;
    switch (key->kty) {
    case SCITT_KTY_EC2: {
        uint8_t point[1 + 2 * 66];
        size_t n = coord_len(key->crv);
        size_t got = EC_POINT_point2oct(EC_KEY_get0_group(key->ec), EC_KEY_get0_public_key(key->ec),
                                        POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point), NULL);
        if (got != 1 + 2 * n) {
            return SCITT_ECRYPTO;
        }
        memcpy(out->x, point + 1, n);
        memcpy(out->y, point + 1 + n, n);
        out->x_len = out->y_len = n;
        return 0;
    }
    case SCITT_KTY_OKP:
        out->x_len = 32;
        return EVP_PKEY_get_raw_public_key(key->pkey, out->x, &out->x_len) && out->x_len == 32 ? 0 : SCITT_ECRYPTO;
    default: {
        const RSA *rsa = EVP_PKEY_get0_RSA(key->pkey);
        const BIGNUM *n = NULL, *e = NULL;
        if (rsa == NULL) {
            return SCITT_ECRYPTO;
        }
        RSA_get0_key(rsa, &n, &e, NULL);
        if ((size_t)BN_num_bytes(n) > sizeof(out->x) || (size_t)BN_num_bytes(e) > sizeof(out->y)) {
            return SCITT_EBADKEY;
        }
        out->x_len = (size_t)BN_bn2bin(n, out->x);
        out->y_len = (size_t)BN_bn2bin(e, out->y);
        return 0;
    }
    }
}
