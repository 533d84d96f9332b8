/*
 * kernels.c: interior-node hashing rate of each SHA-256 kernel vs the plain
 * loop (see kernels.h).
 *
 * Every contender hashes the same NUM_NODES child pairs. The contenders take
 * turns, ROUNDS times one run each, and each keeps its best run. A run is
 * short (NUM_NODES = 1024: 30-100 us), so on a loaded machine most runs
 * finish without being preempted and the best one is clean for every
 * contender; with runs of 65536 nodes (issue 22) the slow plain loop's runs
 * were nearly all preempted at a load average of 5-9 while the fast
 * kernels' were not, and the ratio swung from 2.3 to 4.4.
 * The plain loop gets its 65-byte messages ready-made in one array, so it
 * pays for nothing but the hash calls; the kernels read the child pairs as
 * the Merkle engine stores them.
 */
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "scitt/crypto.h"
#include "scitt/sha256.h"

#define NUM_NODES 1024
#define ROUNDS    400

typedef struct run {
    scitt_sha256_kernel_t kernel;
    uint8_t (*children)[32]; /* 2 * NUM_NODES */
    uint8_t *msgs;           /* NUM_NODES * 65, for the plain loop */
    uint8_t (*out)[32];      /* NUM_NODES */
} run_t;

static void run_kernel(void *arg)
{
    run_t *r = arg;
    scitt_sha256_nodes_with(r->kernel, r->out, (const uint8_t(*)[32])r->children, NUM_NODES);
}

static void run_plain(void *arg)
{
    run_t *r = arg;
    for (size_t i = 0; i < NUM_NODES; i++) {
        scitt_sha256(r->out[i], r->msgs + 65 * i, 65);
    }
}

void bench_kernels(bench_kernels_result_t *out)
{
    run_t r = {SCITT_SHA256_PORTABLE, malloc(NUM_NODES * 64), malloc(NUM_NODES * 65), malloc(NUM_NODES * 32)};
    memset(out, 0, sizeof(*out));
    if (r.children == NULL || r.msgs == NULL || r.out == NULL) {
        fprintf(stderr, "bench_kernels: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < NUM_NODES * 64; i++) {
        ((uint8_t *)r.children)[i] = (uint8_t)(i * 2654435761u >> 13);
    }
    for (size_t i = 0; i < NUM_NODES; i++) {
        r.msgs[65 * i] = 0x01;
        memcpy(r.msgs + 65 * i + 1, r.children[2 * i], 64);
    }

    /* Warm up (page faults, frequency) before measuring. */
    run_plain(&r);
    double rate[SCITT_SHA256_NUM_KERNELS] = {0};
    for (int round = 0; round < ROUNDS; round++) {
        double plain = bench_rate(run_plain, &r, NUM_NODES, 1);
        out->plain_nodes_per_s = plain > out->plain_nodes_per_s ? plain : out->plain_nodes_per_s;
        for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
            r.kernel = (scitt_sha256_kernel_t)k;
            if (scitt_sha256_kernel_supported(r.kernel)) {
                double kr = bench_rate(run_kernel, &r, NUM_NODES, 1);
                rate[k] = kr > rate[k] ? kr : rate[k];
            }
        }
    }
    printf("sha256 nodes  %-8s %8.2f M/s  1.00x\n", "plain", out->plain_nodes_per_s / 1e6);
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        const char *name = scitt_sha256_kernel_name((scitt_sha256_kernel_t)k);
        if (rate[k] == 0) {
            printf("sha256 nodes  %-8s unsupported on this CPU\n", name);
            continue;
        }
        printf("sha256 nodes  %-8s %8.2f M/s  %.2fx\n", name, rate[k] / 1e6, rate[k] / out->plain_nodes_per_s);
        if (rate[k] > out->best_nodes_per_s) {
            out->best_nodes_per_s = rate[k];
            out->best_kernel = name;
        }
    }
    out->ratio = out->best_nodes_per_s / out->plain_nodes_per_s;
    out->chosen_kernel = scitt_sha256_kernel_name(scitt_sha256_active_kernel());
    printf("sha256 nodes  start-up choice: %s (%.2fx)\n", out->chosen_kernel,
           rate[scitt_sha256_active_kernel()] / out->plain_nodes_per_s);
done:
    free(r.children);
    free(r.msgs);
    free(r.out);
}
