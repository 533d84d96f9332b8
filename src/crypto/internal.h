/* internal.h: shared by the files of src/crypto only. */
#ifndef SCITT_SRC_CRYPTO_INTERNAL_H
#define SCITT_SRC_CRYPTO_INTERNAL_H

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "scitt/crypto.h"

/* A key keeps the EVP_PKEY and, for EC keys, its own EC_KEY so ECDSA uses
 * ECDSA_do_verify directly: on OpenSSL 3 that skips the provider fetch of
 * EVP_DigestVerify, which costs several microseconds per call. */
struct scitt_key {
    EVP_PKEY *pkey;
    EC_KEY *ec; /* owned; NULL unless kty is EC2 */
    int kty;
    int crv;
    bool has_private;
};

/* scitt_crypto__key_wrap takes ownership of `pkey` on success. */
int scitt_crypto__key_wrap(scitt_key_t **out, EVP_PKEY *pkey, bool has_private);

/* scitt_crypto__bn_to_fixed writes `bn` big-endian into exactly `len` bytes. */
int scitt_crypto__bn_to_fixed(const BIGNUM *bn, uint8_t *out, size_t len);

#endif /* SCITT_SRC_CRYPTO_INTERNAL_H */
