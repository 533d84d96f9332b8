/*
 * avx512.c: 16 messages at once, one per 32-bit lane of a ZMM register
 * (compiled with -mavx512f -mavx512bw -mavx512vl; see lanes.h for the
 * kernel itself).
 *
 * AVX-512 makes a round cheap: VPRORD rotates in one instruction, and
 * VPTERNLOGD computes Ch, Maj and the three-way XOR of each Sigma in one.
 * Rows move in and out through a 16x16 transpose of 32-bit words.
 */
#include <immintrin.h>

#include "internal.h"

typedef __m512i vec_t;

#define LANES           16
#define LANES_MIN       6
#define LANES_NAME      "avx512"
#define LANES_KERNEL    scitt_sha256__avx512
#define LANES_SUPPORTED scitt_sha256__cpu_avx512

/* VPTERNLOGD truth tables, indexed by (x << 2) | (y << 1) | z for operands
 * x, y, z: x ^ y ^ z; y ? z : x (Ch with g first); majority. */
#define TERN_XOR3 0x96
#define TERN_CH   0xb8
#define TERN_MAJ  0xe8

#define V_ADD(a, b)     _mm512_add_epi32(a, b)
#define V_SET1(x)       _mm512_set1_epi32((int)(x))
#define V_SHL(x, n)     _mm512_slli_epi32(x, n)
#define V_SHR(x, n)     _mm512_srli_epi32(x, n)
#define V_OR(a, b)      _mm512_or_si512(a, b)
#define V_ROR(x, n)     _mm512_ror_epi32(x, n)
#define V_XOR3(a, b, c) _mm512_ternarylogic_epi32(a, b, c, TERN_XOR3)
#define V_CH(g, e, f)   _mm512_ternarylogic_epi32(g, e, f, TERN_CH)
#define V_MAJ(a, b, c)  _mm512_ternarylogic_epi32(a, b, c, TERN_MAJ)
#define V_BSWAP(x)                                                                                                     \
    _mm512_shuffle_epi8(x, _mm512_broadcast_i32x4(_mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3)))

/* transpose16 turns 16 rows of 16 words into 16 columns: interleave words,
 * then word pairs (each 128-bit lane then holds a 4x4 block), then move the
 * 128-bit lanes of the 4x4 grid of blocks. */
static inline __attribute__((always_inline)) void transpose16(vec_t r[16])
{
    vec_t t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);     /* column 4L + 0 of rows i..i+3 */
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]); /* column 4L + 1 */
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int c = 0; c < 4; c++) {
        vec_t lo01 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x44); /* lanes 0,1 of row groups 0, 1 */
        vec_t hi01 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xee); /* lanes 2,3 */
        vec_t lo23 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x44);
        vec_t hi23 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xee);
        t[c] = _mm512_shuffle_i32x4(lo01, lo23, 0x88);
        t[4 + c] = _mm512_shuffle_i32x4(lo01, lo23, 0xdd);
        t[8 + c] = _mm512_shuffle_i32x4(hi01, hi23, 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(hi01, hi23, 0xdd);
    }
    for (int i = 0; i < 16; i++) {
        r[i] = t[i];
    }
}

static inline __attribute__((always_inline)) void transpose_in(vec_t *w, const uint8_t *const *rows, int num_words)
{
    vec_t r[16];
    for (int i = 0; i < 16; i++) {
        /* Masked loads read exactly the row, never past it. */
        r[i] = _mm512_maskz_loadu_epi32((__mmask16)((1u << num_words) - 1), rows[i]);
    }
    transpose16(r);
    for (int t = 0; t < num_words; t++) {
        w[t] = r[t];
    }
}

static inline __attribute__((always_inline)) void transpose_out(uint8_t *const *rows, const vec_t *v)
{
    vec_t r[16];
    for (int i = 0; i < 8; i++) {
        r[i] = v[i];
        r[i + 8] = _mm512_setzero_si512();
    }
    transpose16(r);
    for (int i = 0; i < 16; i++) {
        _mm512_mask_storeu_epi32(rows[i], 0xff, r[i]);
    }
}

#include "lanes.h"
