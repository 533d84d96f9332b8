/*
 * sha256.h: batched SHA-256 for the Merkle engine.
 *
 * The Merkle tree hashes many small independent messages at once: leaf
 * hashes SHA-256(0x00 || entry) and interior nodes SHA-256(0x01 || l || r).
 * These calls hash a whole batch, so a kernel can interleave several messages
 * (SHA-NI) or run one message per SIMD lane (AVX2: 8, AVX-512: 16).
 *
 * The kernel is chosen once, at the first call: each kernel this CPU (and
 * OS) supports hashes the same interior nodes for a few hundred microseconds
 * in all, and the fastest wins (the same kernel is not the best on Intel and
 * AMD; docs/DECISIONS.md). The environment variable SCITT_SHA256_KERNEL
 * (portable, shani, avx2, avx512, shani4) or scitt_sha256_set_kernel()
 * overrides the choice for tests and benchmarks.
 * Every kernel gives the same bytes as the portable one. All functions are
 * thread-safe; set_kernel is meant for start-up.
 */
#ifndef SCITT_SHA256_H
#define SCITT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "scitt/core.h"

typedef enum scitt_sha256_kernel {
    SCITT_SHA256_PORTABLE = 0, /* one message at a time through src/crypto */
    SCITT_SHA256_SHANI,        /* Intel SHA extensions, interleaved messages */
    SCITT_SHA256_AVX2,         /* 8 lanes */
    SCITT_SHA256_AVX512,       /* 16 lanes */
    SCITT_SHA256_SHANI4,       /* SHA-NI, four messages interleaved (AMD Zen) */
    SCITT_SHA256_NUM_KERNELS
} scitt_sha256_kernel_t;

/* scitt_sha256_kernel_name returns "portable", "shani", "avx2", "avx512" or
 * "shani4". */
const char *scitt_sha256_kernel_name(scitt_sha256_kernel_t k);

/* scitt_sha256_kernel_supported reports whether this CPU can run `k`. */
bool scitt_sha256_kernel_supported(scitt_sha256_kernel_t k);

/* scitt_sha256_active_kernel returns the kernel the batch calls use now. */
scitt_sha256_kernel_t scitt_sha256_active_kernel(void);

/* scitt_sha256_set_kernel selects `k`; SCITT_EINVAL if this CPU lacks it. */
int scitt_sha256_set_kernel(scitt_sha256_kernel_t k);

/* scitt_sha256_batch hashes `num` independent messages: out[i] = SHA-256(msgs[i]). */
void scitt_sha256_batch(uint8_t (*out)[32], const scitt_span_t *msgs, size_t num);

/* scitt_sha256_leaves computes RFC 9162 leaf hashes of 32-byte entries:
 * out[i] = SHA-256(0x00 || entries[i]). `out` may equal `entries`. */
void scitt_sha256_leaves(uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num);

/* scitt_sha256_nodes computes RFC 9162 interior nodes of adjacent pairs:
 * out[i] = SHA-256(0x01 || children[2i] || children[2i+1]) for i < num.
 * `out` may equal `children` (each output is written after its inputs are read). */
void scitt_sha256_nodes(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num);

/* The same three calls on an explicit kernel (tests and benchmarks); the
 * kernel must be supported. */
void scitt_sha256_batch_with(scitt_sha256_kernel_t k, uint8_t (*out)[32], const scitt_span_t *msgs, size_t num);
void scitt_sha256_leaves_with(scitt_sha256_kernel_t k, uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num);
void scitt_sha256_nodes_with(scitt_sha256_kernel_t k, uint8_t (*out)[32], const uint8_t (*children)[32], size_t num);

#endif /* SCITT_SHA256_H */
