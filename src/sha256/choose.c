/*
 * choose.c: which kernel is fastest on this machine? (baseline ISA)
 *
 * No fixed order holds everywhere: on Intel Sapphire Rapids 16 AVX-512 lanes
 * beat SHA-NI by 1.8x, while on AMD Zen 4, where 512-bit operations take two
 * passes, they lead four-way SHA-NI by only 1.3x, and CPUs with SHA-NI but no
 * AVX-512 choose among the others (docs/DECISIONS.md). So each supported
 * kernel hashes the same NODES interior nodes, ROUNDS times in turn, and
 * keeps its quickest time: a preemption on a loaded machine inflates one
 * trial, not the best one. About 0.4 ms in all (1 ms on a loaded machine),
 * once per process.
 */
#include <stdlib.h>
#include <time.h>

#include "internal.h"

#define NODES  128 /* eight full AVX-512 groups, 32 four-way SHA-NI calls */
#define ROUNDS 8

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int scitt_sha256__fastest(const scitt_sha256__kernel_t *const *k, int num)
{
    /* 8 KiB of child pairs and 4 KiB of digests: on the heap, since the
     * first call may come from a thread with a small stack. */
    uint8_t(*pairs)[32] = malloc(2 * NODES * 32);
    uint8_t(*out)[32] = malloc(NODES * 32);
    double best[SCITT_SHA256_NUM_KERNELS];
    int chosen = 0;
    if (pairs == NULL || out == NULL || num > SCITT_SHA256_NUM_KERNELS) {
        goto done;
    }
    for (size_t i = 0; i < 2 * NODES * 32; i++) {
        ((uint8_t *)pairs)[i] = (uint8_t)(i * 167u + 13u);
    }
    for (int j = 0; j < num; j++) {
        best[j] = -1;
        if (k[j] != NULL && k[j]->supported()) {
            k[j]->nodes(out, (const uint8_t(*)[32])pairs, NODES); /* warm up: code, data, clocks */
            best[j] = 1e300;
        }
    }
    for (int r = 0; r < ROUNDS; r++) {
        for (int j = 0; j < num; j++) {
            if (best[j] < 0) {
                continue;
            }
            double t0 = now_ns();
            k[j]->nodes(out, (const uint8_t(*)[32])pairs, NODES);
            double t = now_ns() - t0;
            best[j] = t < best[j] ? t : best[j];
        }
    }
    for (int j = 1; j < num; j++) {
        if (best[j] >= 0 && best[j] < best[chosen]) {
            chosen = j;
        }
    }
done:
    free(pairs);
    free(out);
    return chosen;
}
