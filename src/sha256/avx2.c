/*
 * avx2.c: 8 messages at once, one per 32-bit lane of a YMM register
 * (compiled with -mavx2; see lanes.h for the kernel itself).
 *
 * AVX2 has no vector rotate or three-input logic, so a rotate is two shifts
 * and an OR, and Ch and Maj take three and four operations. Rows move in
 * and out through 8x8 transposes of 32-bit words.
 */
#include <immintrin.h>

#include "internal.h"

typedef __m256i vec_t;

#define LANES           8
#define LANES_MIN       3
#define LANES_NAME      "avx2"
#define LANES_KERNEL    scitt_sha256__avx2
#define LANES_SUPPORTED scitt_sha256__cpu_avx2

#define V_ADD(a, b)     _mm256_add_epi32(a, b)
#define V_SET1(x)       _mm256_set1_epi32((int)(x))
#define V_SHL(x, n)     _mm256_slli_epi32(x, n)
#define V_SHR(x, n)     _mm256_srli_epi32(x, n)
#define V_OR(a, b)      _mm256_or_si256(a, b)
#define V_ROR(x, n)     V_OR(V_SHR(x, n), V_SHL(x, 32 - (n)))
#define V_XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256(a, b), c)
/* Ch = g ^ (e & (f ^ g)); Maj = (a & b) | (c & (a | b)). */
#define V_CH(g, e, f)  _mm256_xor_si256(_mm256_and_si256(e, _mm256_xor_si256(f, g)), g)
#define V_MAJ(a, b, c) V_OR(_mm256_and_si256(a, b), _mm256_and_si256(c, V_OR(a, b)))
#define V_BSWAP(x)                                                                                                     \
    _mm256_shuffle_epi8(                                                                                               \
        x, _mm256_broadcastsi128_si256(_mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3)))

/* transpose8 turns 8 rows of 8 words into 8 columns: interleave words, then
 * word pairs, then swap 128-bit halves. */
static inline __attribute__((always_inline)) void transpose8(vec_t r[8])
{
    vec_t t[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int c = 0; c < 4; c++) {
        t[c] = _mm256_permute2x128_si256(r[c], r[4 + c], 0x20);
        t[4 + c] = _mm256_permute2x128_si256(r[c], r[4 + c], 0x31);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = t[i];
    }
}

static inline __attribute__((always_inline)) void transpose_in(vec_t *w, const uint8_t *const *rows, int num_words)
{
    for (int half = 0; half < num_words / 8; half++) {
        vec_t *r = w + 8 * half;
        for (int i = 0; i < 8; i++) {
            r[i] = _mm256_loadu_si256((const __m256i *)(rows[i] + 32 * half));
        }
        transpose8(r);
    }
}

static inline __attribute__((always_inline)) void transpose_out(uint8_t *const *rows, const vec_t *v)
{
    vec_t r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = v[i];
    }
    transpose8(r);
    for (int i = 0; i < 8; i++) {
        _mm256_storeu_si256((__m256i *)rows[i], r[i]);
    }
}

#include "lanes.h"
