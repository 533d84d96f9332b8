/*
 * consts.h: the SHA-256 constants of FIPS 180-4 (section 4.2.2 and 5.3.3)
 * and scalar forms of its functions, for the SIMD kernels.
 *
 * The scalar sigma macros are constant expressions, so a kernel folds the
 * schedule words that depend only on fixed padding at compile time.
 */
#ifndef SCITT_SRC_SHA256_CONSTS_H
#define SCITT_SRC_SHA256_CONSTS_H

#include <stdint.h>

#define SCITT_SHA256__ROTR(x, n) (((uint32_t)(x) >> (n)) | ((uint32_t)(x) << (32 - (n))))
/* The message-schedule functions sigma0 and sigma1 (FIPS 180-4 4.1.2). */
#define SCITT_SHA256__S0(x) (SCITT_SHA256__ROTR(x, 7) ^ SCITT_SHA256__ROTR(x, 18) ^ ((uint32_t)(x) >> 3))
#define SCITT_SHA256__S1(x) (SCITT_SHA256__ROTR(x, 17) ^ SCITT_SHA256__ROTR(x, 19) ^ ((uint32_t)(x) >> 10))

/* Bit lengths of the two fixed-size Merkle messages (RFC 9162 section 2.1.1):
 * a leaf is 0x00 || 32 bytes, a node 0x01 || 64 bytes. */
#define SCITT_SHA256__LEAF_BITS (33 * 8)
#define SCITT_SHA256__NODE_BITS (65 * 8)

__attribute__((unused)) static const uint32_t scitt_sha256__iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* The round constants, defined in common.c. Deliberately not `static const`:
 * a compiler that sees their values materialises each broadcast K[t] through
 * a general register (a shuffle-port uop per round); from memory, the add
 * takes it as an embedded broadcast operand for free. */
extern const uint32_t scitt_sha256__k[64];

#endif
