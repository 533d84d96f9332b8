/*
 * common.h: small helpers shared by the Merkle tests: deterministic leaves,
 * a seeded PRNG, and a naive RFC 9162 reference written straight from the
 * recursive definitions (independent of the tile engine, and hashing through
 * src/crypto rather than the batch kernels).
 */
#ifndef SCITT_TESTS_MERKLE_COMMON_H
#define SCITT_TESTS_MERKLE_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "scitt/crypto.h"
#include "scitt/merkle.h"

/* test_leaf: leaf hash of the 8-byte big-endian encoding of `i`. */
static inline void test_leaf(uint8_t out[32], uint64_t i)
{
    uint8_t e[8];
    scitt_store_be64(e, i);
    scitt_merkle_leaf_hash(out, e, sizeof(e));
}

/* xorshift64*: reproducible "random" numbers from a fixed seed. */
static inline uint64_t test_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* test_rand_range returns a value in [lo, hi]. */
static inline uint64_t test_rand_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
    return lo + test_rand(s) % (hi - lo + 1);
}

static inline void ref_node(uint8_t out[32], const uint8_t l[32], const uint8_t r[32])
{
    static const uint8_t one = 1;
    scitt_span_t parts[3] = {scitt_span(&one, 1), scitt_span(l, 32), scitt_span(r, 32)};
    scitt_sha256_parts(out, parts, 3);
}

static inline uint64_t ref_split(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n) {
        k *= 2;
    }
    return k;
}

/* ref_mth: MTH(D[n]) for n >= 1 (RFC 9162 2.1.1). */
static inline void ref_mth(uint8_t out[32], const uint8_t (*d)[32], uint64_t n)
{
    if (n == 1) {
        memcpy(out, d[0], 32);
        return;
    }
    uint64_t k = ref_split(n);
    uint8_t l[32], r[32];
    ref_mth(l, d, k);
    ref_mth(r, d + k, n - k);
    ref_node(out, l, r);
}

/* ref_path: PATH(m, D[n]) (2.1.3.1); returns its length. */
static inline size_t ref_path(uint8_t (*out)[32], uint64_t m, const uint8_t (*d)[32], uint64_t n)
{
    if (n == 1) {
        return 0;
    }
    uint64_t k = ref_split(n);
    size_t len;
    if (m < k) {
        len = ref_path(out, m, d, k);
        ref_mth(out[len], d + k, n - k);
    } else {
        len = ref_path(out, m - k, d + k, n - k);
        ref_mth(out[len], d, k);
    }
    return len + 1;
}

/* ref_subproof: SUBPROOF(m, D[n], b) (2.1.4.1); returns its length. */
static inline size_t ref_subproof(uint8_t (*out)[32], uint64_t m, const uint8_t (*d)[32], uint64_t n, bool b)
{
    if (m == n) {
        if (b) {
            return 0;
        }
        ref_mth(out[0], d, n);
        return 1;
    }
    uint64_t k = ref_split(n);
    size_t len;
    if (m <= k) {
        len = ref_subproof(out, m, d, k, b);
        ref_mth(out[len], d + k, n - k);
    } else {
        len = ref_subproof(out, m - k, d + k, n - k, false);
        ref_mth(out[len], d, k);
    }
    return len + 1;
}

#endif
