/* hash.c: SHA-2, randomness and constant-time helpers. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "internal.h"

const char *scitt_crypto_backend(void)
{
#if defined(SCITT_CRYPTO_BORINGSSL)
    return "boringssl";
#else
    return "openssl";
#endif
}

const char *scitt_crypto_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

void scitt_sha256(uint8_t out[SCITT_SHA256_LEN], const void *data, size_t len)
{
    SHA256(data, len, out);
}

void scitt_sha256_parts(uint8_t out[SCITT_SHA256_LEN], const scitt_span_t *parts, size_t num_parts)
{
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    for (size_t i = 0; i < num_parts; i++) {
        SHA256_Update(&ctx, parts[i].base, parts[i].len);
    }
    SHA256_Final(out, &ctx);
}

int scitt_hash(int hash_alg, uint8_t *out, size_t *out_len, const void *data, size_t len)
{
    switch (hash_alg) {
    case SCITT_HASH_SHA256:
        SHA256(data, len, out);
        *out_len = 32;
        return 0;
    case SCITT_HASH_SHA384:
        SHA384(data, len, out);
        *out_len = 48;
        return 0;
    case SCITT_HASH_SHA512:
        SHA512(data, len, out);
        *out_len = 64;
        return 0;
    default:
        return SCITT_EBADALG;
    }
}

int scitt_random(uint8_t *out, size_t len)
{
    if (len > INT32_MAX) {
        return SCITT_EINVAL;
    }
    return RAND_bytes(out, (int)len) == 1 ? 0 : SCITT_ECRYPTO;
}

bool scitt_ct_eq(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

void scitt_cleanse(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}
