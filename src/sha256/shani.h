/*
 * shani.h: the Intel SHA extensions kernel, written once for shani.c (two
 * messages interleaved) and shani4.c (four), which include it. Both are
 * compiled with -msha -msse4.1 -mssse3: SSE only, so they also run on Atom
 * cores that lack AVX.
 *
 * SHA256RNDS2 performs two rounds on the state held as two registers, ABEF
 * and CDGH; SHA256MSG1/MSG2 compute four message-schedule words at a time.
 * One message is a chain of 32 dependent SHA256RNDS2, so a single stream
 * waits on that instruction's latency. Hashing WAYS independent messages in
 * one instruction stream, round group by round group, overlaps the chains
 * until the SHA unit's throughput is the limit.
 *
 * Leaves and nodes have fixed padding: their constant message words are set
 * as constants, so K + W folds at compile time for those round groups.
 */
#ifndef SCITT_SRC_SHA256_SHANI_H
#define SCITT_SRC_SHA256_SHANI_H

/* The includer defines WAYS (the messages in flight), SHANI_NAME and
 * SHANI_KERNEL (the kernel's name and symbol). */
#include <immintrin.h>

#include "consts.h"
#include "internal.h"

#define SHANI_INLINE static inline __attribute__((always_inline))

typedef struct state {
    __m128i abef; /* words (low to high) F, E, B, A */
    __m128i cdgh; /* H, G, D, C */
} state_t;

/* bswap turns four little-endian loads into big-endian message words. */
SHANI_INLINE __m128i bswap(__m128i x)
{
    return _mm_shuffle_epi8(x, _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3));
}

SHANI_INLINE void init(state_t *s)
{
    const uint32_t *h = scitt_sha256__iv;
    s->abef = _mm_set_epi32((int)h[0], (int)h[1], (int)h[4], (int)h[5]);
    s->cdgh = _mm_set_epi32((int)h[2], (int)h[3], (int)h[6], (int)h[7]);
}

SHANI_INLINE state_t load_state(const uint32_t st[8])
{
    __m128i badc = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)st), 0xb1);
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(st + 4)), 0x1b);
    state_t s = {_mm_alignr_epi8(badc, hgfe, 8), _mm_blend_epi16(hgfe, badc, 0xf0)};
    return s;
}

SHANI_INLINE void store_state(uint32_t st[8], state_t s)
{
    __m128i abef = _mm_shuffle_epi32(s.abef, 0x1b); /* A, B, E, F */
    __m128i ghcd = _mm_shuffle_epi32(s.cdgh, 0xb1); /* G, H, C, D */
    _mm_storeu_si128((__m128i *)st, _mm_blend_epi16(abef, ghcd, 0xf0));
    _mm_storeu_si128((__m128i *)(st + 4), _mm_alignr_epi8(ghcd, abef, 8));
}

/* store_digest writes A..H big-endian: the high halves of CDGH and ABEF are
 * D, C, B, A, so reversing all 16 bytes gives A..D in order. */
SHANI_INLINE void store_digest(uint8_t out[32], state_t s)
{
    const __m128i rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(_mm_unpackhi_epi64(s.cdgh, s.abef), rev));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(_mm_unpacklo_epi64(s.cdgh, s.abef), rev));
}

/* next4 returns W[t..t+3] from W[t-16..t-1] in w0..w3: MSG1 adds
 * sigma0(W[t-15..]) to W[t-16..], ALIGNR supplies W[t-7..t-4], and MSG2 adds
 * the sigma1 terms (the last two depend on the first two new words). */
SHANI_INLINE __m128i next4(__m128i w0, __m128i w1, __m128i w2, __m128i w3)
{
    __m128i x = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
    return _mm_sha256msg2_epu32(x, w3);
}

/* compress absorbs one block into each of `n` states; m[j] holds stream j's
 * words W0..W15 (clobbered). Round group g (rounds 4g..4g+3) is issued for
 * every stream before group g + 1, so the streams' SHA256RNDS2 chains
 * overlap. On a Sapphire Rapids class VM, 65-byte nodes ran at 12.4M/s one
 * way, 13.6M/s two ways and no faster with 3..5 ways: SHA256RNDS2 issues
 * only about once per 3 cycles there, so two chains already saturate it. On
 * AMD Zen 4 one way ran 19M/s, two 21-23M/s, three and four 24M/s
 * (docs/DECISIONS.md); four ways spill a few of SSE's 16 registers. */
SHANI_INLINE void compress(state_t *s, __m128i (*m)[4], int n)
{
    state_t save[WAYS];
    for (int j = 0; j < n; j++) {
        save[j] = s[j];
    }
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
        const __m128i k = _mm_load_si128((const __m128i *)(scitt_sha256__k + 4 * g));
#pragma GCC unroll 4
        for (int j = 0; j < n; j++) {
            if (g >= 4) {
                m[j][g & 3] = next4(m[j][g & 3], m[j][(g + 1) & 3], m[j][(g + 2) & 3], m[j][(g + 3) & 3]);
            }
            __m128i kw = _mm_add_epi32(m[j][g & 3], k);
            s[j].cdgh = _mm_sha256rnds2_epu32(s[j].cdgh, s[j].abef, kw);
            s[j].abef = _mm_sha256rnds2_epu32(s[j].abef, s[j].cdgh, _mm_shuffle_epi32(kw, 0x0e));
        }
    }
    for (int j = 0; j < n; j++) {
        s[j].abef = _mm_add_epi32(s[j].abef, save[j].abef);
        s[j].cdgh = _mm_add_epi32(s[j].cdgh, save[j].cdgh);
    }
}

/* The leaf block is 0x00 || e || 0x80 || zeros || 264: the entry shifts one
 * byte up (ALIGNR by 15), and W12..W15 are constant. */
SHANI_INLINE void leaves_n(uint8_t (*out)[32], const uint8_t (*entries)[32], int n)
{
    const __m128i pad = _mm_cvtsi32_si128(0x80);
    state_t s[WAYS];
    __m128i m[WAYS][4];
    for (int j = 0; j < n; j++) {
        __m128i x0 = _mm_loadu_si128((const __m128i *)entries[j]);
        __m128i x1 = _mm_loadu_si128((const __m128i *)(entries[j] + 16));
        m[j][0] = bswap(_mm_alignr_epi8(x0, _mm_setzero_si128(), 15));
        m[j][1] = bswap(_mm_alignr_epi8(x1, x0, 15));
        m[j][2] = bswap(_mm_alignr_epi8(pad, x1, 15));
        m[j][3] = _mm_set_epi32(SCITT_SHA256__LEAF_BITS, 0, 0, 0);
        init(&s[j]);
    }
    compress(s, m, n);
    for (int j = 0; j < n; j++) {
        store_digest(out[j], s[j]);
    }
}

/* A node is 0x01 || bytes 0..62 of the child pair, then a block of byte 63,
 * 0x80, zeros and 520, where only W0 varies. */
SHANI_INLINE void nodes_n(uint8_t (*out)[32], const uint8_t (*children)[32], int n)
{
    const __m128i one = _mm_set_epi8(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i pad = _mm_cvtsi32_si128(0x80);
    state_t s[WAYS];
    __m128i m[WAYS][4], last[WAYS];
    for (int j = 0; j < n; j++) {
        const uint8_t *p = children[2 * j];
        __m128i x0 = _mm_loadu_si128((const __m128i *)p);
        __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
        __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
        last[j] = _mm_loadu_si128((const __m128i *)(p + 48));
        m[j][0] = bswap(_mm_alignr_epi8(x0, one, 15));
        m[j][1] = bswap(_mm_alignr_epi8(x1, x0, 15));
        m[j][2] = bswap(_mm_alignr_epi8(x2, x1, 15));
        m[j][3] = bswap(_mm_alignr_epi8(last[j], x2, 15));
        init(&s[j]);
    }
    compress(s, m, n);
    for (int j = 0; j < n; j++) {
        m[j][0] = bswap(_mm_alignr_epi8(pad, last[j], 15));
        m[j][1] = _mm_setzero_si128();
        m[j][2] = _mm_setzero_si128();
        m[j][3] = _mm_set_epi32(SCITT_SHA256__NODE_BITS, 0, 0, 0);
    }
    compress(s, m, n);
    for (int j = 0; j < n; j++) {
        store_digest(out[j], s[j]);
    }
}

/* A remainder of 2 or more runs two ways (the n of each call is a constant,
 * so every compress() unrolls into straight-line code), then one. */
static void leaves(uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num)
{
    size_t i = 0;
    for (; i + WAYS <= num; i += WAYS) {
        leaves_n(out + i, entries + i, WAYS);
    }
    for (; WAYS > 2 && i + 2 <= num; i += 2) {
        leaves_n(out + i, entries + i, 2);
    }
    for (; i < num; i++) {
        leaves_n(out + i, entries + i, 1);
    }
}

static void nodes(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num)
{
    size_t i = 0;
    for (; i + WAYS <= num; i += WAYS) {
        nodes_n(out + i, children + 2 * i, WAYS);
    }
    for (; WAYS > 2 && i + 2 <= num; i += 2) {
        nodes_n(out + i, children + 2 * i, 2);
    }
    for (; i < num; i++) {
        nodes_n(out + i, children + 2 * i, 1);
    }
}

/* blocks is the multi-buffer step for scitt_sha256__mb_batch. */
static void blocks(uint32_t (*st)[8], const uint8_t *const *blk)
{
    state_t s[WAYS];
    __m128i m[WAYS][4];
    for (int j = 0; j < WAYS; j++) {
        s[j] = load_state(st[j]);
        for (int k = 0; k < 4; k++) {
            m[j][k] = bswap(_mm_loadu_si128((const __m128i *)(blk[j] + 16 * k)));
        }
    }
    compress(s, m, WAYS);
    for (int j = 0; j < WAYS; j++) {
        store_state(st[j], s[j]);
    }
}

static void batch(uint8_t (*out)[32], const scitt_span_t *msgs, size_t num)
{
    scitt_sha256__mb_batch(WAYS, blocks, out, msgs, num);
}

const scitt_sha256__kernel_t SHANI_KERNEL = {SHANI_NAME, scitt_sha256__cpu_shani, batch, leaves, nodes};

#endif
