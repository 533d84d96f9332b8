/*
 * bench_merkle.c: the Merkle engine's hot paths.
 *
 *  1. SHA-256 kernels vs the plain loop (bench_kernels, the baseline).
 *  2. Batch append in leaves/s for batches of 1, 64, 1024 and 16384 leaf
 *     hashes, with the root computed and the changed tiles written to an
 *     in-memory tile store after every batch, as the sequencer does.
 *  3. Proofs from stored tiles in a 2^20-leaf tree: one-shot inclusion
 *     proofs at random leaves (each reads and hashes its tiles), and a
 *     sequencer batch (16384 consecutive leaves at one size) through one
 *     prover, reported as proofs/s and microseconds per proof.
 *
 * Each figure is the best of several repetitions (bench.h). The last line is
 * the machine-readable RESULT line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "kernels.h"
#include "memstore.h"
#include "scitt/merkle.h"
#include "scitt/sha256.h"

#define TREE_LEAVES (1u << 20)
#define REPS        3

static uint8_t (*leaves)[32];

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_merkle: %s: %s\n", what, scitt_strerror(rc));
    exit(1);
}

typedef struct append_run {
    size_t batch;
    size_t total;
} append_run_t;

static void run_append(void *arg)
{
    append_run_t *r = arg;
    scitt_merkle_t *t;
    memstore_t ms;
    memstore_init(&ms);
    int rc = scitt_merkle_new(&t, NULL);
    if (rc != 0) {
        die("new", rc);
    }
    uint8_t root[32];
    for (size_t done = 0; done < r->total; done += r->batch) {
        const scitt_merkle_tile_t *tiles;
        size_t num_tiles;
        rc = scitt_merkle_append(t, (const uint8_t(*)[32])(leaves + done), r->batch, &tiles, &num_tiles, root);
        if (rc != 0) {
            die("append", rc);
        }
        memstore_write(&ms, tiles, num_tiles);
    }
    scitt_merkle_free(t);
    memstore_cleanup(&ms);
}

typedef struct proof_run {
    memstore_t *ms;
    uint64_t size;
    size_t num;
    uint64_t seed;
} proof_run_t;

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void run_single_proofs(void *arg)
{
    proof_run_t *r = arg;
    scitt_tile_reader_t rd = memstore_reader(r->ms);
    uint8_t path[SCITT_MERKLE_MAX_PROOF][32];
    size_t len;
    for (size_t i = 0; i < r->num; i++) {
        int rc = scitt_merkle_inclusion_proof(NULL, &rd, r->size, next(&r->seed) % r->size, path, &len);
        if (rc != 0) {
            die("inclusion_proof", rc);
        }
    }
}

static void run_batch_proofs(void *arg)
{
    proof_run_t *r = arg;
    scitt_tile_reader_t rd = memstore_reader(r->ms);
    scitt_merkle_prover_t *p;
    int rc = scitt_merkle_prover_new(&p, NULL, &rd, r->size, 0);
    if (rc != 0) {
        die("prover_new", rc);
    }
    uint8_t path[SCITT_MERKLE_MAX_PROOF][32];
    size_t len;
    for (uint64_t m = r->size - r->num; m < r->size; m++) {
        rc = scitt_merkle_prover_inclusion(p, path, &len, m);
        if (rc != 0) {
            die("prover_inclusion", rc);
        }
    }
    scitt_merkle_prover_free(p);
}

int main(void)
{
    bench_kernels_result_t kr;
    bench_kernels(&kr);

    leaves = malloc((size_t)TREE_LEAVES * 32);
    if (leaves == NULL) {
        die("leaves", SCITT_ENOMEM);
    }
    for (size_t i = 0; i < TREE_LEAVES; i++) {
        uint8_t e[8];
        scitt_store_be64(e, i);
        scitt_merkle_leaf_hash(leaves[i], e, sizeof(e));
    }

    /* An ideal append hashes about one interior node per leaf, so its rate is
     * bounded by the node rate; report the ratio against the plain loop. */
    static const size_t batches[] = {1, 64, 1024, 16384};
    double append_1024 = 0;
    for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
        append_run_t r = {batches[i], batches[i] == 1 ? (size_t)1 << 17 : TREE_LEAVES / 2};
        double rate = bench_rate(run_append, &r, (double)r.total, REPS);
        printf("append batch %-6zu %10.0f leaves/s  (%.2fx the plain node loop)\n", batches[i], rate,
               rate / kr.plain_nodes_per_s);
        if (batches[i] == 1024) {
            append_1024 = rate;
        }
    }

    /* Proofs in a 2^20 - 1234 leaf tree (partial tiles on the right edge). */
    memstore_t ms;
    memstore_init(&ms);
    {
        scitt_merkle_t *t;
        int rc = scitt_merkle_new(&t, NULL);
        for (size_t done = 0; rc == 0 && done < TREE_LEAVES - 1234; done += 16384) {
            size_t k = TREE_LEAVES - 1234 - done < 16384 ? TREE_LEAVES - 1234 - done : 16384;
            const scitt_merkle_tile_t *tiles;
            size_t num_tiles;
            rc = scitt_merkle_append(t, (const uint8_t(*)[32])(leaves + done), k, &tiles, &num_tiles, NULL);
            memstore_write(&ms, tiles, num_tiles);
        }
        if (rc != 0) {
            die("build", rc);
        }
        scitt_merkle_free(t);
    }
    proof_run_t single = {&ms, TREE_LEAVES - 1234, 2000, 88172645463325252ULL};
    double single_rate = bench_rate(run_single_proofs, &single, (double)single.num, REPS);
    printf("inclusion proof, one-shot          %10.0f proofs/s  %7.2f us/proof\n", single_rate, 1e6 / single_rate);
    proof_run_t batch = {&ms, TREE_LEAVES - 1234, 16384, 0};
    double batch_rate = bench_rate(run_batch_proofs, &batch, (double)batch.num, REPS);
    printf("inclusion proofs, 16384 at one size %9.0f proofs/s  %7.2f us/proof\n", batch_rate, 1e6 / batch_rate);
    memstore_cleanup(&ms);
    free(leaves);

    printf("RESULT merkle node_ratio=%.2f best_kernel=%s nodes_per_s=%.0f append_leaves_per_s=%.0f chosen_kernel=%s\n",
           kr.ratio, kr.best_kernel != NULL ? kr.best_kernel : "none", kr.best_nodes_per_s, append_1024,
           kr.chosen_kernel != NULL ? kr.chosen_kernel : "none");
    return 0;
}
