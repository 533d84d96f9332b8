/*
 * crypto.h: the only door to OpenSSL/BoringSSL.
 *
 * src/crypto is built on Debian's BoringSSL by default, or on OpenSSL 3 with
 * `-Dcrypto=openssl`; both pass the same tests. No other module includes an
 * OpenSSL header. Algorithms are named by their COSE identifiers (RFC 9053).
 *
 * Thread safety: a scitt_key_t is immutable after it is made and may be used
 * for verification and signing from any number of threads at once.
 */
#ifndef SCITT_CRYPTO_H
#define SCITT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/core.h"

#define SCITT_SHA256_LEN 32

/* COSE algorithm identifiers (RFC 9053, RFC 8230). */
enum {
    SCITT_ALG_ES256 = -7,
    SCITT_ALG_EDDSA = -8,
    SCITT_ALG_ES384 = -35,
    SCITT_ALG_ES512 = -36,
    SCITT_ALG_PS256 = -37,
    SCITT_ALG_PS384 = -38,
    SCITT_ALG_PS512 = -39,
};

/* COSE hash algorithm identifiers (for hash envelopes, RFC 9995). */
enum {
    SCITT_HASH_SHA256 = -16,
    SCITT_HASH_SHA384 = -43,
    SCITT_HASH_SHA512 = -44,
};

/* COSE key types and curves (RFC 9053 section 7). */
enum { SCITT_KTY_OKP = 1, SCITT_KTY_EC2 = 2, SCITT_KTY_RSA = 3 };
enum { SCITT_CRV_P256 = 1, SCITT_CRV_P384 = 2, SCITT_CRV_P521 = 3, SCITT_CRV_ED25519 = 6 };

/* scitt_crypto_backend returns "boringssl" or "openssl". */
const char *scitt_crypto_backend(void);

/* scitt_crypto_version returns the version text of the library actually
 * loaded at run time ("BoringSSL", "OpenSSL 3.0.x ..."), which tests compare
 * with the backend chosen at build time. */
const char *scitt_crypto_version(void);

/* scitt_sha256 hashes `len` bytes of `data` into `out`. */
void scitt_sha256(uint8_t out[SCITT_SHA256_LEN], const void *data, size_t len);

/* scitt_sha256_parts hashes the concatenation of `num_parts` spans. */
void scitt_sha256_parts(uint8_t out[SCITT_SHA256_LEN], const scitt_span_t *parts, size_t num_parts);

/* scitt_hash computes the COSE hash algorithm `hash_alg` (SCITT_HASH_*) of
 * `data` into `out` (capacity 64) and sets `*out_len`. SCITT_EBADALG for an
 * unknown algorithm. */
int scitt_hash(int hash_alg, uint8_t *out, size_t *out_len, const void *data, size_t len);

/* scitt_random fills `out` with `len` cryptographically secure bytes. */
int scitt_random(uint8_t *out, size_t len);

/* scitt_ct_eq compares two buffers in constant time; true when equal. */
bool scitt_ct_eq(const void *a, const void *b, size_t len);

/* scitt_cleanse wipes `len` bytes at `p` in a way the compiler cannot drop. */
void scitt_cleanse(void *p, size_t len);

/* scitt_alg_name returns "ES256" etc., or NULL for an unknown algorithm. */
const char *scitt_alg_name(int alg);
/* scitt_alg_from_name parses "ES256" etc. (case-sensitive). */
int scitt_alg_from_name(const char *name, int *out_alg);
/* scitt_sig_max_len returns the fixed signature length of ECDSA/EdDSA algs, or
 * the maximum (512) for RSA-PSS; 0 for an unknown alg. */
size_t scitt_sig_max_len(int alg);

typedef struct scitt_key scitt_key_t;

/* scitt_key_generate makes a new private key suited to `alg`: P-256/384/521
 * for ES256/384/512, Ed25519 for EdDSA, RSA-3072 for PS256/384/512.
 * `*out` is newly allocated. */
int scitt_key_generate(scitt_key_t **out, int alg);

/* scitt_key_from_pem reads the first key in a PEM text: a PKCS#8 or SEC1
 * private key, or a SubjectPublicKeyInfo public key. Only EC (P-256/384/521),
 * Ed25519 and RSA (2048..4096 bits) are accepted; others are SCITT_EBADKEY. */
int scitt_key_from_pem(scitt_key_t **out, const uint8_t *pem, size_t len);

/* scitt_key_from_spki reads a DER SubjectPublicKeyInfo. */
int scitt_key_from_spki(scitt_key_t **out, const uint8_t *der, size_t len);

/* scitt_key_from_cose_params builds a public key from COSE_Key parameters:
 * EC2 (crv, x, y), OKP (crv 6, x) or RSA (n, e) per `kty`. */
int scitt_key_from_cose(scitt_key_t **out, int kty, int crv, scitt_span_t x_or_n, scitt_span_t y_or_e);

void scitt_key_free(scitt_key_t *key);

bool scitt_key_has_private(const scitt_key_t *key);

/* scitt_key_public_pem / _private_pem / _spki append the encoding to `out`.
 * _private_pem writes PKCS#8 and fails with SCITT_EINVAL on a public key. */
int scitt_key_public_pem(const scitt_key_t *key, scitt_buf_t *out);
int scitt_key_private_pem(const scitt_key_t *key, scitt_buf_t *out);
int scitt_key_spki(const scitt_key_t *key, scitt_buf_t *out);

/* scitt_key_params_t holds a public key as COSE_Key parameters: kty, crv,
 * and for EC2 x and y, for OKP x, for RSA n and e (big-endian, no leading
 * zeros). */
typedef struct scitt_key_params {
    int kty;
    int crv; /* 0 for RSA */
    uint8_t x[512];
    size_t x_len; /* RSA: n */
    uint8_t y[66];
    size_t y_len; /* RSA: e */
} scitt_key_params_t;

int scitt_key_params(const scitt_key_t *key, scitt_key_params_t *out);

/* scitt_key_supports reports whether `key` can verify or sign with `alg`:
 * the curve must match ES256/384/512, Ed25519 EdDSA, RSA PS256/384/512. */
bool scitt_key_supports(const scitt_key_t *key, int alg);

/* scitt_sig_verify checks a COSE signature over `msg`: ECDSA as raw r||s of
 * fixed width (not DER), EdDSA (Ed25519), RSASSA-PSS with salt = hash length.
 * Returns 0 when valid, SCITT_EBADSIG when not, SCITT_EBADALG when `key`
 * does not support `alg`. */
int scitt_sig_verify(const scitt_key_t *key, int alg, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
                     size_t sig_len);

/* scitt_sig_sign signs `msg` with the private `key` into `out` (capacity
 * `out_cap`, at least scitt_sig_max_len(alg)), in the COSE encoding. */
int scitt_sig_sign(const scitt_key_t *key, int alg, const uint8_t *msg, size_t msg_len, uint8_t *out, size_t out_cap,
                   size_t *out_len);

/* X.509 (issuers identified by x5chain, RFC 9360). */

typedef struct scitt_trust_store scitt_trust_store_t;

/* scitt_trust_store_from_pem loads every certificate of a PEM bundle as a
 * trust root. SCITT_ECERT when the text holds no certificate or a malformed
 * one. `*out` is newly allocated and may be shared by threads (read-only). */
int scitt_trust_store_from_pem(scitt_trust_store_t **out, const uint8_t *pem, size_t len);
void scitt_trust_store_free(scitt_trust_store_t *store);
size_t scitt_trust_store_count(const scitt_trust_store_t *store);

/* scitt_x509_verify_chain validates `certs` (DER, leaf first, then any
 * intermediates in any order) against `roots` at time `now` (Unix seconds):
 * a full path to a root, every certificate valid at `now`, CA basic
 * constraints on issuers, and a leaf whose key usage (when present) allows
 * digitalSignature. On success `*out_leaf_key` is the leaf's public key,
 * newly allocated. Failures are SCITT_ECERT (with `*out_err_desc` naming the
 * reason, static text) or SCITT_EBADKEY for an unsupported leaf key. */
int scitt_x509_verify_chain(const scitt_trust_store_t *roots, const scitt_span_t *certs, size_t num_certs, int64_t now,
                            scitt_key_t **out_leaf_key, const char **out_err_desc);

/* scitt_x509_verify_chain_window is scitt_x509_verify_chain that also
 * reports, on success, the span of time in which every certificate of the
 * validated path (the trust root included) is valid: notBefore <= t <
 * notAfter for every one of them means `*out_not_before` <= t <
 * `*out_not_after` (Unix seconds). A cache of validated chains may reuse the
 * result only inside that span. */
int scitt_x509_verify_chain_window(const scitt_trust_store_t *roots, const scitt_span_t *certs, size_t num_certs,
                                   int64_t now, scitt_key_t **out_leaf_key, int64_t *out_not_before,
                                   int64_t *out_not_after, const char **out_err_desc);

/* scitt_x509_public_key returns the public key of one DER certificate
 * without validating anything (for --allow-unknown-issuers). */
int scitt_x509_public_key(const uint8_t *der, size_t len, scitt_key_t **out);

#endif /* SCITT_CRYPTO_H */
