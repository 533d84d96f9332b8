/*
 * internal.h: the kernel table of src/sha256 and what the kernels share.
 *
 * A kernel is a set of three batch functions plus `supported()`. The SIMD
 * kernels live in their own files, each compiled with its own instruction-set
 * flags (see meson.build), so nothing outside them may call their code unless
 * `supported()` said yes. For that reason `supported()` and everything in
 * common.c are compiled for the baseline ISA.
 */
#ifndef SCITT_SRC_SHA256_INTERNAL_H
#define SCITT_SRC_SHA256_INTERNAL_H

#include "scitt/sha256.h"

typedef struct scitt_sha256__kernel {
    const char *name;
    bool (*supported)(void);
    void (*batch)(uint8_t (*out)[32], const scitt_span_t *msgs, size_t num);
    void (*leaves)(uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num);
    void (*nodes)(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num);
} scitt_sha256__kernel_t;

extern const scitt_sha256__kernel_t scitt_sha256__portable;
#ifdef SCITT_SHA256_X86
extern const scitt_sha256__kernel_t scitt_sha256__shani;
extern const scitt_sha256__kernel_t scitt_sha256__avx2;
extern const scitt_sha256__kernel_t scitt_sha256__avx512;
extern const scitt_sha256__kernel_t scitt_sha256__shani4;

/* cpu.c: cpuid and XGETBV checks, one per kernel. */
bool scitt_sha256__cpu_shani(void);
bool scitt_sha256__cpu_avx2(void);
bool scitt_sha256__cpu_avx512(void);
#endif

/* choose.c: the index of the kernel in `k[0..num)` that hashes interior
 * nodes fastest here, timed on a small batch; NULL slots and kernels the
 * CPU lacks are skipped (k[0] must be supported: the fallback). */
int scitt_sha256__fastest(const scitt_sha256__kernel_t *const *k, int num);

/* The most lanes any kernel runs at once. */
#define SCITT_SHA256__MAX_LANES 16

/* scitt_sha256__blocks_fn compresses one 64-byte block into each of the
 * first `lanes` states: st[j] (the eight words a..h, native byte order) absorbs
 * the block at blocks[j]. Every pointer is valid for 64 bytes. */
typedef void (*scitt_sha256__blocks_fn)(uint32_t (*st)[8], const uint8_t *const *blocks);

/* scitt_sha256__mb_batch hashes messages of any lengths on a kernel that
 * compresses `lanes` independent blocks per call (multi-buffer): each lane
 * takes the next message as soon as its current one ends, so lanes stay busy
 * however the lengths mix. out[i] = SHA-256(msgs[i]). */
void scitt_sha256__mb_batch(size_t lanes, scitt_sha256__blocks_fn blocks, uint8_t (*out)[32], const scitt_span_t *msgs,
                            size_t num);

#endif
