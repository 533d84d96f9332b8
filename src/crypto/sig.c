/*
 * sig.c: COSE signatures (RFC 9053): ECDSA with raw r||s, Ed25519, RSA-PSS.
 *
 * ECDSA goes through ECDSA_do_verify/ECDSA_do_sign on the key's EC_KEY: the
 * same call on both backends, and the fastest one on OpenSSL 3. Ed25519 and
 * RSA-PSS use the EVP one-shot interfaces.
 */
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "internal.h"

static const struct alg_info {
    int alg;
    const char *name;
    int kty;
    int crv;
    size_t sig_len; /* exact for ECDSA/EdDSA, maximum for RSA */
} algs[] = {
    {SCITT_ALG_ES256, "ES256", SCITT_KTY_EC2, SCITT_CRV_P256, 64},
    {SCITT_ALG_ES384, "ES384", SCITT_KTY_EC2, SCITT_CRV_P384, 96},
    {SCITT_ALG_ES512, "ES512", SCITT_KTY_EC2, SCITT_CRV_P521, 132},
    {SCITT_ALG_EDDSA, "EdDSA", SCITT_KTY_OKP, SCITT_CRV_ED25519, 64},
    {SCITT_ALG_PS256, "PS256", SCITT_KTY_RSA, 0, 512},
    {SCITT_ALG_PS384, "PS384", SCITT_KTY_RSA, 0, 512},
    {SCITT_ALG_PS512, "PS512", SCITT_KTY_RSA, 0, 512},
};

static const struct alg_info *find_alg(int alg)
{
    for (size_t i = 0; i < scitt_countof(algs); i++) {
        if (algs[i].alg == alg) {
            return &algs[i];
        }
    }
    return NULL;
}

const char *scitt_alg_name(int alg)
{
    const struct alg_info *a = find_alg(alg);
    return a != NULL ? a->name : NULL;
}

int scitt_alg_from_name(const char *name, int *out_alg)
{
    for (size_t i = 0; i < scitt_countof(algs); i++) {
        if (strcmp(algs[i].name, name) == 0) {
            *out_alg = algs[i].alg;
            return 0;
        }
    }
    return SCITT_EBADALG;
}

size_t scitt_sig_max_len(int alg)
{
    const struct alg_info *a = find_alg(alg);
    return a != NULL ? a->sig_len : 0;
}

bool scitt_key_supports(const scitt_key_t *key, int alg)
{
    const struct alg_info *a = find_alg(alg);
    return a != NULL && a->kty == key->kty && (a->kty == SCITT_KTY_RSA || a->crv == key->crv);
}

static const EVP_MD *alg_md(int alg)
{
    switch (alg) {
    case SCITT_ALG_ES256:
    case SCITT_ALG_PS256:
        return EVP_sha256();
    case SCITT_ALG_ES384:
    case SCITT_ALG_PS384:
        return EVP_sha384();
    default:
        return EVP_sha512();
    }
}

/* The ECDSA digest: SHA-256/384/512 for ES256/384/512. */
static size_t ecdsa_digest(int alg, const uint8_t *msg, size_t len, uint8_t out[64])
{
    int hash_alg = alg == SCITT_ALG_ES256   ? SCITT_HASH_SHA256
                   : alg == SCITT_ALG_ES384 ? SCITT_HASH_SHA384
                                            : SCITT_HASH_SHA512;
    size_t out_len = 0;
    scitt_hash(hash_alg, out, &out_len, msg, len);
    return out_len;
}

static int ecdsa_verify(const scitt_key_t *key, const struct alg_info *a, const uint8_t *msg, size_t msg_len,
                        const uint8_t *sig, size_t sig_len)
{
    if (sig_len != a->sig_len) {
        return SCITT_EBADSIG;
    }
    uint8_t digest[64];
    size_t digest_len = ecdsa_digest(a->alg, msg, msg_len, digest);
    size_t half = sig_len / 2;
    int rc = SCITT_EBADSIG;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    BIGNUM *sv = BN_bin2bn(sig + half, (int)half, NULL);
    if (s == NULL || r == NULL || sv == NULL || !ECDSA_SIG_set0(s, r, sv)) {
        BN_free(r);
        BN_free(sv);
        rc = SCITT_ENOMEM;
    } else if (ECDSA_do_verify(digest, digest_len, s, key->ec) == 1) {
        rc = 0;
    }
    ECDSA_SIG_free(s);
    return rc;
}

static int ecdsa_sign(const scitt_key_t *key, const struct alg_info *a, const uint8_t *msg, size_t msg_len,
                      uint8_t *out)
{
    uint8_t digest[64];
    size_t digest_len = ecdsa_digest(a->alg, msg, msg_len, digest);
    ECDSA_SIG *s = ECDSA_do_sign(digest, digest_len, key->ec);
    if (s == NULL) {
        return SCITT_ECRYPTO;
    }
    const BIGNUM *r = NULL, *sv = NULL;
    ECDSA_SIG_get0(s, &r, &sv);
    size_t half = a->sig_len / 2;
    int rc = scitt_crypto__bn_to_fixed(r, out, half);
    if (rc == 0) {
        rc = scitt_crypto__bn_to_fixed(sv, out + half, half);
    }
    ECDSA_SIG_free(s);
    return rc;
}

/* evp_init prepares `mctx` for Ed25519 (no digest) or RSA-PSS with
 * salt length = digest length. */
static int evp_init(EVP_MD_CTX *mctx, const scitt_key_t *key, int alg, bool sign)
{
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = key->kty == SCITT_KTY_RSA ? alg_md(alg) : NULL;
    int ok = sign ? EVP_DigestSignInit(mctx, &pctx, md, NULL, key->pkey)
                  : EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key->pkey);
    if (ok != 1) {
        return SCITT_ECRYPTO;
    }
    if (key->kty == SCITT_KTY_RSA && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1) != 1)) {
        return SCITT_ECRYPTO;
    }
    return 0;
}

int scitt_sig_verify(const scitt_key_t *key, int alg, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                     size_t sig_len)
{
    const struct alg_info *a = find_alg(alg);
    if (a == NULL || !scitt_key_supports(key, alg)) {
        return SCITT_EBADALG;
    }
    if (key->kty == SCITT_KTY_EC2) {
        int rc = ecdsa_verify(key, a, msg, msg_len, sig, sig_len);
        ERR_clear_error();
        return rc;
    }
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL) {
        return SCITT_ENOMEM;
    }
    int rc = evp_init(mctx, key, alg, false);
    if (rc == 0) {
        rc = EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len) == 1 ? 0 : SCITT_EBADSIG;
    }
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return rc;
}

int scitt_sig_sign(const scitt_key_t *key, int alg, const uint8_t *msg, size_t msg_len, uint8_t *out, size_t out_cap,
                   size_t *out_len)
{
    const struct alg_info *a = find_alg(alg);
    if (a == NULL || !scitt_key_supports(key, alg)) {
        return SCITT_EBADALG;
    }
    if (!key->has_private) {
        return SCITT_EINVAL;
    }
    if (key->kty == SCITT_KTY_EC2) {
        if (out_cap < a->sig_len) {
            return SCITT_ETOOBIG;
        }
        int rc = ecdsa_sign(key, a, msg, msg_len, out);
        *out_len = a->sig_len;
        return rc;
    }
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL) {
        return SCITT_ENOMEM;
    }
    size_t len = 0;
    int rc = evp_init(mctx, key, alg, true);
    if (rc == 0 && (EVP_DigestSign(mctx, NULL, &len, msg, msg_len) != 1 || len > out_cap)) {
        rc = len > out_cap ? SCITT_ETOOBIG : SCITT_ECRYPTO;
    }
    if (rc == 0) {
        len = out_cap;
        rc = EVP_DigestSign(mctx, out, &len, msg, msg_len) == 1 ? 0 : SCITT_ECRYPTO;
        *out_len = len;
    }
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return rc;
}
