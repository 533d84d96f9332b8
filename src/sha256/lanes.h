/*
 * lanes.h: the one-message-per-lane SHA-256 kernel, written once for the
 * AVX2 (8 lanes) and AVX-512 (16 lanes) files that include it.
 *
 * Each 32-bit lane of a vector carries its own message, so a round of FIPS
 * 180-4 section 6.2.2 is the scalar round with vector operations, and LANES
 * messages finish together. Messages enter and leave through a transpose:
 * row i of a LANES x 16 word block (lane i's message) becomes column i of the
 * sixteen word vectors.
 *
 * Leaves and nodes have fixed lengths, so their padding words are constants
 * and are folded in here (see leaf_schedule and node2_schedule): K[t] + W[t]
 * becomes one constant where W[t] is padding, and the schedule words W16..W31
 * are computed from the few message words that vary. A remainder smaller
 * than LANES_MIN messages goes to a one-message kernel (SHA-NI where the
 * CPU has it, else the portable one), which is faster than running mostly
 * empty lanes: a single node (root folds, proof steps) is the common case.
 *
 * The includer defines, before including this file:
 *   LANES, LANES_MIN, vec_t, and the kernel's name, symbol and supported():
 *     LANES_NAME, LANES_KERNEL, LANES_SUPPORTED;
 *   V_ADD V_SET1 V_SHL V_SHR V_OR V_ROR (32-bit lanes), V_XOR3(a, b, c),
 *     V_CH(g, e, f) = e ? f : g, V_MAJ(a, b, c) = majority, V_BSWAP (bytes
 *     of each lane reversed);
 *   transpose_in(vec_t *w, const uint8_t *const *rows, int num_words):
 *     w[t] lane i = native word t of rows[i], for num_words 8 or 16 (rows
 *     are read for exactly 4 * num_words bytes);
 *   transpose_out(uint8_t *const *rows, const vec_t *v): writes native word
 *     t of rows[i] = v[t] lane i, for t < 8 (32 bytes per row).
 *
 * In place: every function loads all of its inputs before storing outputs.
 */
#ifndef SCITT_SRC_SHA256_LANES_H
#define SCITT_SRC_SHA256_LANES_H

#include <stdatomic.h>

#include "consts.h"
#include "internal.h"

#define LANES_INLINE static inline __attribute__((always_inline))

#define BSIG0(x) V_XOR3(V_ROR(x, 2), V_ROR(x, 13), V_ROR(x, 22))
#define BSIG1(x) V_XOR3(V_ROR(x, 6), V_ROR(x, 11), V_ROR(x, 25))
#define SSIG0(x) V_XOR3(V_ROR(x, 7), V_ROR(x, 18), V_SHR(x, 3))
#define SSIG1(x) V_XOR3(V_ROR(x, 17), V_ROR(x, 19), V_SHR(x, 10))

/* ROUND is one SHA-256 round; instead of shifting eight variables, callers
 * rename them (ROUNDS8), so only d and h are written. `hk` carries h + K[t] +
 * W[t] into the round and leaves with g + K[t+1] + W[t+1] (g is the next h):
 * adding ahead makes Ch the last use of g, so VPTERNLOGD, which overwrites
 * its first operand, may take g's register (4% more nodes/s with GCC 12). */
#define ROUND(a, b, c, d, e, f, g, h, kw_next)                                                                         \
    do {                                                                                                               \
        vec_t hk_next_ = V_ADD(g, kw_next);                                                                            \
        vec_t t1_ = V_ADD(V_ADD(hk, BSIG1(e)), V_CH(g, e, f));                                                         \
        d = V_ADD(d, t1_);                                                                                             \
        h = V_ADD(t1_, V_ADD(BSIG0(a), V_MAJ(a, b, c)));                                                               \
        hk = hk_next_;                                                                                                 \
    } while (0)

/* ROUNDS8 runs rounds t..t+7 on the state s[8] and `hk`; KW(t) gives
 * K[t] + W[t] (evaluated one round ahead). */
#define ROUNDS8(s, KW, t)                                                                                              \
    ROUND(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], KW((t) + 1));                                                \
    ROUND(s[7], s[0], s[1], s[2], s[3], s[4], s[5], s[6], KW((t) + 2));                                                \
    ROUND(s[6], s[7], s[0], s[1], s[2], s[3], s[4], s[5], KW((t) + 3));                                                \
    ROUND(s[5], s[6], s[7], s[0], s[1], s[2], s[3], s[4], KW((t) + 4));                                                \
    ROUND(s[4], s[5], s[6], s[7], s[0], s[1], s[2], s[3], KW((t) + 5));                                                \
    ROUND(s[3], s[4], s[5], s[6], s[7], s[0], s[1], s[2], KW((t) + 6));                                                \
    ROUND(s[2], s[3], s[4], s[5], s[6], s[7], s[0], s[1], KW((t) + 7));                                                \
    ROUND(s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[0], KW((t) + 8))
/* ROUNDS64 runs a whole block from s and hk = s[7] + KW(0). */
#define ROUNDS64(s, KW)                                                                                                \
    ROUNDS8(s, KW, 0);                                                                                                 \
    ROUNDS8_63(s, KW)
#define ROUNDS8_63(s, KW)                                                                                              \
    ROUNDS8(s, KW, 8);                                                                                                 \
    ROUNDS8(s, KW, 16);                                                                                                \
    ROUNDS8(s, KW, 24);                                                                                                \
    ROUNDS8(s, KW, 32);                                                                                                \
    ROUNDS8(s, KW, 40);                                                                                                \
    ROUNDS8(s, KW, 48);                                                                                                \
    ROUNDS8(s, KW, 56)

/* The message schedule keeps W[t-16..t-1] in the ring w[t % 16]:
 * W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16]. */
#define SCHED(t)                                                                                                       \
    (w[(t)&15] = V_ADD(V_ADD(SSIG1(w[((t) + 14) & 15]), w[((t) + 9) & 15]), V_ADD(SSIG0(w[((t) + 1) & 15]), w[(t)&15])))
#define K(t) V_SET1(scitt_sha256__k[(t)&63])
/* K[t] + W[t]: KW_MSG when the ring already holds W[t], KW_NEXT to compute
 * it first (round 63 asks for t = 64, which is unused). */
#define KW_MSG(t)  V_ADD(w[(t)&15], K(t))
#define KW_NEXT(t) ((t) < 64 ? (SCHED(t), KW_MSG(t)) : V_SET1(0))
/* A block with all sixteen words in w. */
#define KW_BLOCK(t) ((t) < 16 ? KW_MSG(t) : KW_NEXT(t))
/* A leaf block (0x00 || 32 bytes, padded): W9..W14 = 0, W15 = 264; W16..W31
 * are put in the ring by leaf_schedule once round 7 has read W8. */
#define KW_LEAF(t)                                                                                                     \
    ((t) <= 8 || ((t) >= 16 && (t) < 32) ? KW_MSG(t)                                                                   \
     : (t) < 15                          ? K(t)                                                                        \
     : (t) == 15                         ? V_ADD(K(15), V_SET1(SCITT_SHA256__LEAF_BITS))                               \
                                         : KW_NEXT(t))
/* The second block of a node (byte 64, padded): only W0 = x varies; W16..W31
 * are in the ring from node2_schedule. */
#define KW_NODE2(t)                                                                                                    \
    ((t) == 0    ? V_ADD(x, K(0))                                                                                      \
     : (t) < 15  ? K(t)                                                                                                \
     : (t) == 15 ? V_ADD(K(15), V_SET1(SCITT_SHA256__NODE_BITS))                                                       \
     : (t) < 32  ? KW_MSG(t)                                                                                           \
                 : KW_NEXT(t))

/* compress absorbs the block W0..W15 in w (clobbered) into `st`. */
LANES_INLINE void compress(vec_t st[8], vec_t w[16])
{
    vec_t s[8] = {st[0], st[1], st[2], st[3], st[4], st[5], st[6], st[7]};
    vec_t hk = V_ADD(s[7], KW_BLOCK(0));
    ROUNDS64(s, KW_BLOCK);
    for (int i = 0; i < 8; i++) {
        st[i] = V_ADD(st[i], s[i]);
    }
}

/* leaf_schedule gives W16..W31 of a leaf block from W0..W8 (W9..W14 = 0,
 * W15 = 264): the zero terms of the general formula are left out. */
LANES_INLINE void leaf_schedule(vec_t x[16], const vec_t w[16])
{
    const vec_t len = V_SET1(SCITT_SHA256__LEAF_BITS);
    x[0] = V_ADD(SSIG0(w[1]), w[0]);
    x[1] = V_ADD(V_ADD(SSIG0(w[2]), w[1]), V_SET1(SCITT_SHA256__S1(SCITT_SHA256__LEAF_BITS)));
    for (int t = 2; t < 7; t++) { /* W18..W22 */
        x[t] = V_ADD(V_ADD(SSIG1(x[t - 2]), SSIG0(w[t + 1])), w[t]);
    }
    x[6] = V_ADD(x[6], len);
    x[7] = V_ADD(V_ADD(SSIG1(x[5]), x[0]), V_ADD(SSIG0(w[8]), w[7]));
    x[8] = V_ADD(V_ADD(SSIG1(x[6]), x[1]), w[8]);
    for (int t = 9; t < 14; t++) { /* W25..W29 */
        x[t] = V_ADD(SSIG1(x[t - 2]), x[t - 7]);
    }
    x[14] = V_ADD(V_ADD(SSIG1(x[12]), x[7]), V_SET1(SCITT_SHA256__S0(SCITT_SHA256__LEAF_BITS)));
    x[15] = V_ADD(V_ADD(SSIG1(x[13]), x[8]), V_ADD(SSIG0(x[0]), len));
}

/* node2_schedule gives W16..W31 of a node's second block, whose only
 * varying word is W0 = x (W1..W14 = 0, W15 = 520), into w[0..15]. */
LANES_INLINE void node2_schedule(vec_t w[16], vec_t x)
{
    const uint32_t len = SCITT_SHA256__NODE_BITS;
    const uint32_t w17 = SCITT_SHA256__S1(len), w19 = SCITT_SHA256__S1(w17), w21 = SCITT_SHA256__S1(w19);
    w[0] = x;                                       /* W16 = W0 */
    w[1] = V_SET1(w17);                             /* W17 = sigma1(W15) */
    w[2] = SSIG1(x);                                /* W18 = sigma1(W16) */
    w[3] = V_SET1(w19);                             /* W19 = sigma1(W17) */
    w[4] = SSIG1(w[2]);                             /* W20 = sigma1(W18) */
    w[5] = V_SET1(w21);                             /* W21 = sigma1(W19) */
    w[6] = V_ADD(SSIG1(w[4]), V_SET1(len));         /* W22 = sigma1(W20) + W15 */
    w[7] = V_ADD(x, V_SET1(SCITT_SHA256__S1(w21))); /* W23 = sigma1(W21) + W16 */
    for (int t = 8; t < 14; t++) {                  /* W24..W29 = sigma1(W[t-2]) + W[t-7] */
        w[t] = V_ADD(SSIG1(w[t - 2]), w[t - 7]);
    }
    w[14] = V_ADD(V_ADD(SSIG1(w[12]), w[7]), V_SET1(SCITT_SHA256__S0(len))); /* + sigma0(W15) */
    w[15] = V_ADD(V_ADD(SSIG1(w[13]), w[8]), V_ADD(SSIG0(x), V_SET1(len)));  /* + sigma0(W16) + W15 */
}

LANES_INLINE void init(vec_t st[8])
{
    for (int i = 0; i < 8; i++) {
        st[i] = V_SET1(scitt_sha256__iv[i]);
    }
}

/* load_be reads big-endian message words: w[t] lane i = word t of rows[i]. */
LANES_INLINE void load_be(vec_t *w, const uint8_t *const *rows, int num_words)
{
    transpose_in(w, rows, num_words);
    for (int t = 0; t < num_words; t++) {
        w[t] = V_BSWAP(w[t]);
    }
}

/* store_digests writes the big-endian digest of lane i to rows[i]. */
LANES_INLINE void store_digests(uint8_t *const *rows, vec_t st[8])
{
    for (int i = 0; i < 8; i++) {
        st[i] = V_BSWAP(st[i]);
    }
    transpose_out(rows, st);
}

/* group_ptrs points lanes past `n` at input 0 and at a scratch output, so a
 * short group runs unchanged and its extra results are dropped. */
LANES_INLINE void group_ptrs(const uint8_t **in, uint8_t **out, const uint8_t *in0, size_t in_stride,
                             uint8_t (*dst)[32], size_t n, uint8_t *scratch)
{
    for (size_t i = 0; i < LANES; i++) {
        in[i] = in0 + in_stride * (i < n ? i : 0);
        out[i] = i < n ? dst[i] : scratch;
    }
}

/* A leaf block is 0x00 || e || 0x80 || 0... || 264: each of W0..W7 straddles
 * two entry words, W8 holds the last entry byte and the 0x80. */
static void leaf_group(uint8_t (*out)[32], const uint8_t (*entries)[32], size_t n)
{
    const uint8_t *in[LANES];
    uint8_t *dst[LANES], scratch[32];
    vec_t e[8], w[16], x[16], st[8], s[8];

    group_ptrs(in, dst, entries[0], 32, out, n, scratch);
    load_be(e, in, 8);
    w[0] = V_SHR(e[0], 8);
    for (int t = 1; t < 8; t++) {
        w[t] = V_OR(V_SHL(e[t - 1], 24), V_SHR(e[t], 8));
    }
    w[8] = V_OR(V_SHL(e[7], 24), V_SET1(0x00800000));
    init(st);
    for (int i = 0; i < 8; i++) {
        s[i] = st[i];
    }
    vec_t hk = V_ADD(s[7], KW_LEAF(0));
    ROUNDS8(s, KW_LEAF, 0);
    /* Rounds 9..15 need no message words: the ring can take W16..W31. */
    leaf_schedule(x, w);
    for (int i = 0; i < 16; i++) {
        w[i] = x[i];
    }
    ROUNDS8_63(s, KW_LEAF);
    for (int i = 0; i < 8; i++) {
        st[i] = V_ADD(st[i], s[i]);
    }
    store_digests(dst, st);
}

/* A node is two blocks: 0x01 || bytes 0..62 of the child pair, then byte 63,
 * 0x80, zeros and 520. Block 1's words straddle two pair words. */
static void node_group(uint8_t (*out)[32], const uint8_t (*children)[32], size_t n)
{
    const uint8_t *in[LANES];
    uint8_t *dst[LANES], scratch[32];
    vec_t p[16], w[16], st[8], s[8];

    group_ptrs(in, dst, children[0], 64, out, n, scratch);
    load_be(p, in, 16);
    w[0] = V_OR(V_SET1(0x01000000), V_SHR(p[0], 8));
    for (int t = 1; t < 16; t++) {
        w[t] = V_OR(V_SHL(p[t - 1], 24), V_SHR(p[t], 8));
    }
    const vec_t x = V_OR(V_SHL(p[15], 24), V_SET1(0x00800000));
    init(st);
    compress(st, w);
    for (int i = 0; i < 8; i++) {
        s[i] = st[i];
    }
    node2_schedule(w, x);
    vec_t hk = V_ADD(s[7], KW_NODE2(0));
    ROUNDS64(s, KW_NODE2);
    for (int i = 0; i < 8; i++) {
        st[i] = V_ADD(st[i], s[i]);
    }
    store_digests(dst, st);
}

/* few: the kernel for remainders under LANES_MIN messages, chosen once
 * (cpuid traps to the hypervisor on a VM: far too slow per call). */
static const scitt_sha256__kernel_t *few(void)
{
    static _Atomic int shani = -1;
    int s = atomic_load_explicit(&shani, memory_order_relaxed);
    if (s < 0) {
        s = scitt_sha256__cpu_shani();
        atomic_store_explicit(&shani, s, memory_order_relaxed);
    }
    return s ? &scitt_sha256__shani : &scitt_sha256__portable;
}

static void leaves(uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num)
{
    size_t i = 0;
    for (; i + LANES <= num; i += LANES) {
        leaf_group(out + i, entries + i, LANES);
    }
    if (num - i >= LANES_MIN) {
        leaf_group(out + i, entries + i, num - i);
    } else if (num > i) {
        few()->leaves(out + i, entries + i, num - i);
    }
}

static void nodes(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num)
{
    size_t i = 0;
    for (; i + LANES <= num; i += LANES) {
        node_group(out + i, children + 2 * i, LANES);
    }
    if (num - i >= LANES_MIN) {
        node_group(out + i, children + 2 * i, num - i);
    } else if (num > i) {
        few()->nodes(out + i, children + 2 * i, num - i);
    }
}

/* blocks is the multi-buffer step: the states are rows too. */
static void blocks(uint32_t (*st)[8], const uint8_t *const *blk)
{
    uint8_t *rows[LANES];
    vec_t s[8], w[16];
    for (int i = 0; i < LANES; i++) {
        rows[i] = (uint8_t *)st[i];
    }
    transpose_in(s, (const uint8_t *const *)rows, 8);
    load_be(w, blk, 16);
    compress(s, w);
    transpose_out(rows, s);
}

static void batch(uint8_t (*out)[32], const scitt_span_t *msgs, size_t num)
{
    if (num < LANES_MIN) {
        few()->batch(out, msgs, num);
    } else {
        scitt_sha256__mb_batch(LANES, blocks, out, msgs, num);
    }
}

const scitt_sha256__kernel_t LANES_KERNEL = {LANES_NAME, LANES_SUPPORTED, batch, leaves, nodes};

#endif
