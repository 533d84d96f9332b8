/*
 * test_proof.c: roots, PATH and PROOF from stored tiles. The 8-leaf RFC
 * 9162 reference byte for byte; a naive recursive reference at random sizes
 * up to a few thousand leaves; and at random sizes up to 1,000,000, proofs
 * that verify against roots from an independent path (restore), with the
 * number of tile reads bounded.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "memstore.h"
#include "scitt/merkle.h"
#include "testutil.h"

/* build appends leaves [0, n) to a fresh tree in batches of `batch`,
 * writing tiles to `ms`. */
static void build(memstore_t *ms, const uint8_t (*leaves)[32], size_t n, size_t batch)
{
    scitt_merkle_t *t;
    cr_assert_eq(scitt_merkle_new(&t, NULL), 0);
    for (size_t done = 0; done < n;) {
        size_t k = n - done < batch ? n - done : batch;
        const scitt_merkle_tile_t *tiles;
        size_t num_tiles;
        cr_assert_eq(scitt_merkle_append(t, leaves + done, k, &tiles, &num_tiles, NULL), 0);
        cr_assert(memstore_write(ms, tiles, num_tiles));
        done += k;
    }
    scitt_merkle_free(t);
}

static uint8_t (*make_leaves(size_t n))[32]
{
    uint8_t(*leaves)[32] = malloc(n * 32 + 32);
    cr_assert(leaves != NULL);
    for (size_t i = 0; i < n; i++) {
        test_leaf(leaves[i], i);
    }
    return leaves;
}

static void hex32(uint8_t out[32], const char *hex)
{
    size_t len;
    uint8_t *b = tu_hex(hex, &len);
    cr_assert_eq(len, 32);
    memcpy(out, b, 32);
    free(b);
}

/* expect_hashes compares a proof with a JSON array of hex hashes. */
static void expect_hashes(const uint8_t (*got)[32], size_t len, const tj_t *want, const char *what, uint64_t a,
                          uint64_t b)
{
    cr_assert_eq(len, want->len, "%s(%lu, %lu): length", what, (unsigned long)a, (unsigned long)b);
    for (size_t k = 0; k < len; k++) {
        uint8_t h[32];
        hex32(h, want->items[k]->str);
        cr_expect_eq(memcmp(got[k], h, 32), 0, "%s(%lu, %lu)[%zu]", what, (unsigned long)a, (unsigned long)b, k);
    }
}

Test(merkle_proof, rfc9162_reference_from_tiles)
{
    char *path = tu_testdata_path("merkle/rfc9162-8leaf-reference.json");
    tj_t *j = tj_parse_file(path);
    cr_assert(j != NULL);
    const tj_t *inputs = tj_get(j, "leaf_inputs_hex"), *roots = tj_get(j, "roots_hex_by_size");
    const tj_t *inc = tj_get(j, "inclusion"), *con = tj_get(j, "consistency");

    /* Grow one leaf at a time; the store then holds size 8, and every
     * smaller size is answered from its prefixes. */
    memstore_t ms;
    memstore_init(&ms);
    scitt_merkle_t *t;
    cr_assert_eq(scitt_merkle_new(&t, NULL), 0);
    for (size_t i = 0; i < 8; i++) {
        size_t len;
        uint8_t *input = tu_hex(inputs->items[i]->str, &len), leaf[32];
        scitt_merkle_leaf_hash(leaf, input, len);
        free(input);
        const scitt_merkle_tile_t *tiles;
        size_t num_tiles;
        cr_assert_eq(scitt_merkle_append(t, (const uint8_t(*)[32])leaf, 1, &tiles, &num_tiles, NULL), 0);
        cr_assert(memstore_write(&ms, tiles, num_tiles));
    }
    scitt_merkle_free(t);
    scitt_tile_reader_t rd = memstore_reader(&ms);

    uint8_t got[32], want[32], proof[64][32];
    size_t len, num = 0;
    for (uint64_t n = 0; n <= 8; n++) {
        cr_assert_eq(scitt_merkle_root_at(NULL, &rd, n, got), 0);
        hex32(want, roots->items[n]->str);
        cr_expect_eq(memcmp(got, want, 32), 0, "root at %lu", (unsigned long)n);
    }
    for (size_t a = 0; a < inc->len; a++) {
        uint64_t n = strtoull(inc->keys[a], NULL, 10);
        for (size_t b = 0; b < inc->items[a]->len; b++) {
            uint64_t m = strtoull(inc->items[a]->keys[b], NULL, 10);
            cr_assert_eq(scitt_merkle_inclusion_proof(NULL, &rd, n, m, proof, &len), 0);
            expect_hashes((const uint8_t(*)[32])proof, len, inc->items[a]->items[b], "PATH", m, n);
            num++;
        }
    }
    for (size_t a = 0; a < con->len; a++) {
        uint64_t m = strtoull(con->keys[a], NULL, 10);
        for (size_t b = 0; b < con->items[a]->len; b++) {
            uint64_t n = strtoull(con->items[a]->keys[b], NULL, 10);
            cr_assert_eq(scitt_merkle_consistency_proof(NULL, &rd, m, n, proof, &len), 0);
            expect_hashes((const uint8_t(*)[32])proof, len, con->items[a]->items[b], "PROOF", m, n);
            num++;
        }
    }
    cr_expect_eq(num, 36 + 28);
    memstore_cleanup(&ms);
    tj_free(j);
    free(path);
}

/* Exact agreement with the naive recursive definitions, crossing tile
 * boundaries (sizes up to 3 level-0 tiles past a few hundred). */
Test(merkle_proof, matches_naive_reference, .timeout = 120)
{
    const size_t max = 3000;
    uint8_t(*leaves)[32] = make_leaves(max);
    memstore_t ms;
    memstore_init(&ms);
    build(&ms, (const uint8_t(*)[32])leaves, max, 777);
    scitt_tile_reader_t rd = memstore_reader(&ms);
    uint64_t seed = 42;
    uint8_t got[64][32], want[64][32], root[32], ref_root[32];
    for (int round = 0; round < 60; round++) {
        uint64_t n = round < 20 ? (uint64_t)round + 1 : test_rand_range(&seed, 1, max);
        if (round == 20) {
            n = 256;
        } else if (round == 21) {
            n = 257;
        } else if (round == 22) {
            n = 512;
        }
        scitt_merkle_prover_t *p;
        cr_assert_eq(scitt_merkle_prover_new(&p, NULL, &rd, n, 0), 0);
        cr_assert_eq(scitt_merkle_prover_root(p, root), 0);
        ref_mth(ref_root, (const uint8_t(*)[32])leaves, n);
        cr_assert_eq(memcmp(root, ref_root, 32), 0, "root at %lu", (unsigned long)n);
        for (int i = 0; i < 12; i++) {
            uint64_t m = i == 0 ? n - 1 : test_rand_range(&seed, 0, n - 1);
            size_t len;
            cr_assert_eq(scitt_merkle_prover_inclusion(p, got, &len, m), 0);
            size_t ref_len = ref_path(want, m, (const uint8_t(*)[32])leaves, n);
            cr_assert_eq(len, ref_len, "PATH(%lu, %lu) length", (unsigned long)m, (unsigned long)n);
            cr_assert_eq(memcmp(got, want, len * 32), 0, "PATH(%lu, %lu)", (unsigned long)m, (unsigned long)n);
            uint64_t old = i == 0 ? n : test_rand_range(&seed, 1, n);
            cr_assert_eq(scitt_merkle_prover_consistency(p, got, &len, old), 0);
            ref_len = old == n ? 0 : ref_subproof(want, old, (const uint8_t(*)[32])leaves, n, true);
            cr_assert_eq(len, ref_len, "PROOF(%lu, %lu) length", (unsigned long)old, (unsigned long)n);
            cr_assert_eq(memcmp(got, want, len * 32), 0, "PROOF(%lu, %lu)", (unsigned long)old, (unsigned long)n);
        }
        size_t len;
        cr_expect_eq(scitt_merkle_prover_inclusion(p, got, &len, n), SCITT_ERANGE);
        cr_expect_eq(scitt_merkle_prover_consistency(p, got, &len, 0), SCITT_ERANGE);
        cr_expect_eq(scitt_merkle_prover_consistency(p, got, &len, n + 1), SCITT_ERANGE);
        scitt_merkle_prover_free(p);
    }
    memstore_cleanup(&ms);
    free(leaves);
}

/* One million leaves, appended in sequencer-sized batches. At random sizes:
 * the prover's root equals the root of a tree restored at that size, every
 * inclusion and consistency proof verifies, and a one-shot proof reads at
 * most two tiles per level. */
Test(merkle_proof, random_sizes_up_to_1m, .timeout = 300)
{
    const size_t max = 1000000;
    uint8_t(*leaves)[32] = make_leaves(max);
    memstore_t ms;
    memstore_init(&ms);
    build(&ms, (const uint8_t(*)[32])leaves, max, 16384);
    scitt_tile_reader_t rd = memstore_reader(&ms);
    scitt_merkle_t *t;
    cr_assert_eq(scitt_merkle_new(&t, NULL), 0);
    uint64_t seed = 7;
    uint8_t path[64][32], root[32], restored[32], old_root[32];
    for (int round = 0; round < 40; round++) {
        uint64_t n = round == 0 ? max : test_rand_range(&seed, 1, max);
        cr_assert_eq(scitt_merkle_restore(t, &rd, n), 0);
        scitt_merkle_root(t, restored);
        scitt_merkle_prover_t *p;
        cr_assert_eq(scitt_merkle_prover_new(&p, NULL, &rd, n, 0), 0);
        cr_assert_eq(scitt_merkle_prover_root(p, root), 0);
        cr_assert_eq(memcmp(root, restored, 32), 0, "root at %lu", (unsigned long)n);
        for (int i = 0; i < 20; i++) {
            uint64_t m = test_rand_range(&seed, 0, n - 1);
            size_t len;
            cr_assert_eq(scitt_merkle_prover_inclusion(p, path, &len, m), 0);
            cr_assert_eq(scitt_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])path, len, root), 0,
                         "PATH(%lu, %lu)", (unsigned long)m, (unsigned long)n);
            uint64_t old = test_rand_range(&seed, 1, n);
            cr_assert_eq(scitt_merkle_prover_consistency(p, path, &len, old), 0);
            cr_assert_eq(scitt_merkle_root_at(NULL, &rd, old, old_root), 0);
            cr_assert_eq(scitt_merkle_verify_consistency(old, n, old_root, root, (const uint8_t(*)[32])path, len), 0,
                         "PROOF(%lu, %lu)", (unsigned long)old, (unsigned long)n);
        }
        scitt_merkle_prover_free(p);

        size_t before = ms.reads, len;
        uint64_t m = test_rand_range(&seed, 0, n - 1);
        cr_assert_eq(scitt_merkle_inclusion_proof(NULL, &rd, n, m, path, &len), 0);
        cr_expect_eq(scitt_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])path, len, root), 0);
        cr_expect_leq(ms.reads - before, 2 * 3, "%zu tile reads for one proof at %lu", ms.reads - before,
                      (unsigned long)n);
    }
    scitt_merkle_free(t);
    memstore_cleanup(&ms);
    free(leaves);
}

/* expect_plain_answers: prover `p` (of `size` leaves, through a cache)
 * gives the one-shot uncached answers for PATH(m, size) and, when `old` is
 * not 0, for PROOF(old, size). */
static void expect_plain_answers(scitt_merkle_prover_t *p, const scitt_tile_reader_t *plain, uint64_t size, uint64_t m,
                                 uint64_t old)
{
    uint8_t want[64][32], got[64][32];
    size_t len, glen;
    cr_assert_eq(scitt_merkle_inclusion_proof(NULL, plain, size, m, want, &len), 0);
    cr_assert_eq(scitt_merkle_prover_inclusion(p, got, &glen, m), 0);
    cr_assert_eq(glen, len);
    cr_assert_eq(memcmp(got, want, len * 32), 0, "PATH(%lu, %lu) through the cache", (unsigned long)m,
                 (unsigned long)size);
    if (old != 0) {
        cr_assert_eq(scitt_merkle_consistency_proof(NULL, plain, old, size, want, &len), 0);
        cr_assert_eq(scitt_merkle_prover_consistency(p, got, &glen, old), 0);
        cr_assert_eq(glen, len);
        cr_assert_eq(memcmp(got, want, len * 32), 0, "PROOF(%lu, %lu) through the cache", (unsigned long)old,
                     (unsigned long)size);
    }
}

/* A shared tile cache changes no answer: proofs at random sizes (full
 * tiles of the largest size serve the partial tiles of smaller sizes) equal
 * those without it, with a cache of two tiles (evictions all along, entries
 * still held by a prover while evicted) and with a roomy one, for two
 * provers alive at once. */
Test(merkle_proof, tile_cache_same_answers)
{
    const size_t max = 300000;
    uint8_t(*leaves)[32] = make_leaves(max);
    memstore_t ms;
    memstore_init(&ms);
    build(&ms, (const uint8_t(*)[32])leaves, max, 16384);
    scitt_tile_reader_t plain = memstore_reader(&ms);
    for (int c = 0; c < 2; c++) {
        scitt_merkle_tile_cache_t *cache;
        size_t bound = c == 0 ? 2 * 16400 : (size_t)64 << 20;
        cr_assert_eq(scitt_merkle_tile_cache_new(&cache, bound), 0);
        scitt_tile_reader_t rd = plain;
        rd.cache = cache;
        uint64_t seed = 5 + (uint64_t)c;
        for (int round = 0; round < 30; round++) {
            uint64_t n = test_rand_range(&seed, 1, max), n2 = test_rand_range(&seed, 1, max);
            scitt_merkle_prover_t *p, *p2;
            cr_assert_eq(scitt_merkle_prover_new(&p, NULL, &rd, n, 8), 0);
            cr_assert_eq(scitt_merkle_prover_new(&p2, NULL, &rd, n2, 8), 0);
            for (int i = 0; i < 30; i++) {
                uint64_t m = test_rand_range(&seed, 0, n - 1), m2 = test_rand_range(&seed, 0, n2 - 1);
                uint64_t old = test_rand_range(&seed, 1, n);
                expect_plain_answers(p, &plain, n, m, old);
                expect_plain_answers(p2, &plain, n2, m2, 0);
            }
            scitt_merkle_prover_free(p);
            scitt_merkle_prover_free(p2);
            scitt_merkle_tile_cache_stats_t st;
            scitt_merkle_tile_cache_stats(cache, &st);
            cr_assert_leq(st.bytes, bound);
            cr_assert_leq(st.num_tiles, c == 0 ? 2 : 2048);
        }
        scitt_merkle_tile_cache_stats_t st;
        scitt_merkle_tile_cache_stats(cache, &st);
        cr_expect_gt(st.hits, 0);
        if (c == 0) {
            cr_expect_gt(st.evictions, 0);
        } else {
            cr_expect_eq(st.evictions, 0);
        }
        scitt_merkle_tile_cache_free(cache);
    }
    memstore_cleanup(&ms);
    free(leaves);
}

/* A growing log: after each batch, provers at the new size and at sizes
 * reached before, through one cache that holds the growing tiles' trees as
 * they were read, give the answers of provers without it. A tile cached at
 * a narrower width must be rebuilt when a larger size needs more of it, and
 * a wider one must serve smaller sizes without handing out nodes that are
 * incomplete there. */
Test(merkle_proof, tile_cache_growing_tiles)
{
    const size_t max = 70000;
    uint8_t(*leaves)[32] = make_leaves(max);
    memstore_t ms;
    memstore_init(&ms);
    scitt_tile_reader_t plain = memstore_reader(&ms);
    scitt_merkle_tile_cache_t *cache;
    cr_assert_eq(scitt_merkle_tile_cache_new(&cache, (size_t)64 << 20), 0);
    scitt_tile_reader_t rd = plain;
    rd.cache = cache;
    scitt_merkle_t *t;
    cr_assert_eq(scitt_merkle_new(&t, NULL), 0);
    uint64_t seed = 11;
    for (size_t n = 0; n < max;) {
        size_t k = test_rand_range(&seed, 1, n < 600 ? 7 : 3000);
        k = k < max - n ? k : max - n;
        const scitt_merkle_tile_t *tiles;
        size_t num_tiles;
        cr_assert_eq(scitt_merkle_append(t, leaves + n, k, &tiles, &num_tiles, NULL), 0);
        cr_assert(memstore_write(&ms, tiles, num_tiles));
        n += k;
        for (int round = 0; round < 4; round++) {
            uint64_t size = round == 0 ? n : test_rand_range(&seed, 1, n);
            scitt_merkle_prover_t *p;
            cr_assert_eq(scitt_merkle_prover_new(&p, NULL, &rd, size, 8), 0);
            for (int i = 0; i < 8; i++) {
                uint64_t m = i == 0 ? size - 1 : test_rand_range(&seed, 0, size - 1);
                expect_plain_answers(p, &plain, size, m, test_rand_range(&seed, 1, size));
            }
            scitt_merkle_prover_free(p);
        }
    }
    scitt_merkle_tile_cache_stats_t st;
    scitt_merkle_tile_cache_stats(cache, &st);
    cr_expect_gt(st.hits, 0);
    /* One entry per tile: replaced states are gone (270 level-0 tiles, two
     * at level 1, one at level 2). */
    cr_expect_leq(st.num_tiles, 274);
    scitt_merkle_free(t);
    scitt_merkle_tile_cache_free(cache);
    memstore_cleanup(&ms);
    free(leaves);
}

/* The sequencer's case: one receipt per entry of a 16384-entry batch at the
 * batch's tree size. Each tile is read once. */
Test(merkle_proof, many_leaves_one_size, .timeout = 120)
{
    const size_t n = 16384 * 5 + 1234;
    uint8_t(*leaves)[32] = make_leaves(n);
    memstore_t ms;
    memstore_init(&ms);
    build(&ms, (const uint8_t(*)[32])leaves, n, 16384);
    scitt_tile_reader_t rd = memstore_reader(&ms);
    scitt_merkle_prover_t *p;
    cr_assert_eq(scitt_merkle_prover_new(&p, NULL, &rd, n, 0), 0);
    uint8_t root[32], path[64][32];
    cr_assert_eq(scitt_merkle_prover_root(p, root), 0);
    size_t before = ms.reads;
    for (uint64_t m = n - 16384; m < n; m++) {
        size_t len;
        cr_assert_eq(scitt_merkle_prover_inclusion(p, path, &len, m), 0);
        cr_assert_eq(scitt_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])path, len, root), 0);
    }
    /* 65 level-0 tiles and 2 level-1 tiles at most. */
    cr_expect_leq(ms.reads - before, 67, "%zu reads", ms.reads - before);
    scitt_merkle_prover_free(p);
    memstore_cleanup(&ms);
    free(leaves);
}

Test(merkle_proof, missing_tiles_and_bad_sizes)
{
    memstore_t ms;
    memstore_init(&ms);
    scitt_tile_reader_t rd = memstore_reader(&ms);
    scitt_merkle_prover_t *p;
    uint8_t out[64][32];
    size_t len;
    cr_expect_eq(scitt_merkle_prover_new(&p, NULL, &rd, 0, 0), SCITT_ERANGE);
    cr_expect_eq(scitt_merkle_prover_new(&p, NULL, &rd, 1, 0), SCITT_ECORRUPT);
    cr_expect_eq(scitt_merkle_root_at(NULL, &rd, 1, out[0]), SCITT_ECORRUPT);
    cr_expect_eq(scitt_merkle_root_at(NULL, &rd, 0, out[0]), 0);
    cr_expect_eq(scitt_merkle_inclusion_proof(NULL, &rd, 3, 3, out, &len), SCITT_ERANGE);
    cr_expect_eq(scitt_merkle_consistency_proof(NULL, &rd, 0, 3, out, &len), SCITT_ERANGE);
    cr_expect_eq(scitt_merkle_consistency_proof(NULL, &rd, 4, 3, out, &len), SCITT_ERANGE);

    uint8_t(*leaves)[32] = make_leaves(600);
    build(&ms, (const uint8_t(*)[32])leaves, 600, 600);
    /* Asking past what is stored is corruption, not a crash. */
    cr_expect_eq(scitt_merkle_prover_new(&p, NULL, &rd, 601, 0), SCITT_ECORRUPT);
    cr_expect_eq(scitt_merkle_inclusion_proof(NULL, &rd, 70000, 5, out, &len), SCITT_ECORRUPT);
    cr_expect_eq(scitt_merkle_inclusion_proof(NULL, &rd, 600, 599, out, &len), 0);
    memstore_cleanup(&ms);
    free(leaves);
}
