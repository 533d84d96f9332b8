/*
 * common.c: the multi-buffer driver every kernel uses for messages of
 * arbitrary lengths (baseline ISA; the kernel's block function does the SIMD).
 *
 * A message of `len` bytes is its len / 64 full blocks, read in place, and
 * then one or two tail blocks holding the last len % 64 bytes, the 0x80 byte,
 * zeros and the 64-bit big-endian bit length (FIPS 180-4 section 5.1.1). The
 * tail is copied per lane, so a kernel never reads past a message.
 *
 * Each lane takes the next message of the batch as soon as its own ends, so
 * a batch of mixed lengths keeps the lanes busy until the last few messages;
 * lanes with nothing left hash a block of zeros that nobody reads.
 */
#include "consts.h"
#include "internal.h"

/* FIPS 180-4 section 4.2.2. */
__attribute__((aligned(64))) const uint32_t scitt_sha256__k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

typedef struct msg {
    const uint8_t *next; /* next full block */
    size_t num_full;     /* full blocks not yet handed out */
    size_t num_tail;     /* 1 or 2 */
    size_t tail_used;    /* tail blocks handed out */
    size_t idx;          /* index in the batch; SIZE_MAX for an idle lane */
    uint8_t tail[128];
} msg_t;

static void msg_init(msg_t *m, const scitt_span_t *span, size_t idx)
{
    size_t rem = span->len % 64;
    uint64_t bits = (uint64_t)span->len * 8;
    m->next = span->base;
    m->num_full = span->len / 64;
    m->num_tail = rem + 9 <= 64 ? 1 : 2;
    m->tail_used = 0;
    m->idx = idx;
    memset(m->tail, 0, sizeof(m->tail));
    if (rem > 0) {
        memcpy(m->tail, span->base + m->num_full * 64, rem);
    }
    m->tail[rem] = 0x80;
    scitt_store_be64(m->tail + m->num_tail * 64 - 8, bits);
}

/* msg_next returns the next block of a message that has one left. */
static const uint8_t *msg_next(msg_t *m)
{
    if (m->num_full > 0) {
        const uint8_t *p = m->next;
        m->next += 64;
        m->num_full--;
        return p;
    }
    return m->tail + 64 * m->tail_used++;
}

static bool msg_done(const msg_t *m)
{
    return m->num_full == 0 && m->tail_used == m->num_tail;
}

/* start puts message `*next` (if any is left) on lane `j`. */
static void start(msg_t *m, uint32_t st[8], const scitt_span_t *msgs, size_t num, size_t *next)
{
    if (*next == num) {
        m->idx = SIZE_MAX;
        return;
    }
    msg_init(m, &msgs[*next], *next);
    memcpy(st, scitt_sha256__iv, sizeof(scitt_sha256__iv));
    (*next)++;
}

void scitt_sha256__mb_batch(size_t lanes, scitt_sha256__blocks_fn blocks, uint8_t (*out)[32], const scitt_span_t *msgs,
                            size_t num)
{
    static const uint8_t idle_block[64];
    msg_t m[SCITT_SHA256__MAX_LANES];
    /* Zeroed so idle lanes hash defined state (their results are discarded). */
    uint32_t st[SCITT_SHA256__MAX_LANES][8] __attribute__((aligned(64))) = {{0}};
    const uint8_t *blk[SCITT_SHA256__MAX_LANES];
    size_t next = 0;

    for (size_t j = 0; j < lanes; j++) {
        start(&m[j], st[j], msgs, num, &next);
    }
    for (;;) {
        size_t busy = 0;
        for (size_t j = 0; j < lanes; j++) {
            busy += m[j].idx != SIZE_MAX;
            blk[j] = m[j].idx != SIZE_MAX ? msg_next(&m[j]) : idle_block;
        }
        if (busy == 0) {
            return;
        }
        blocks(st, blk);
        for (size_t j = 0; j < lanes; j++) {
            if (m[j].idx != SIZE_MAX && msg_done(&m[j])) {
                for (int w = 0; w < 8; w++) {
                    scitt_store_be32(out[m[j].idx] + 4 * w, st[j][w]);
                }
                start(&m[j], st[j], msgs, num, &next);
            }
        }
    }
}
