/*
 * fuzz_merkle_proof.c: arbitrary bytes into inclusion and consistency
 * verification, with hashes of arbitrary length, plus proofs built honestly
 * from a small tree.
 *
 * Input: u64 a, u64 b (big-endian), then spans, each a length byte and up to
 * that many bytes: the first two are the leaf/root1 and root/root2, the rest
 * the proof. Invariants checked:
 *  - no crash, and only the documented error codes;
 *  - whatever the span verifier accepts has 32-byte hashes (except the
 *    equal-sizes consistency case, which only compares roots) and
 *    root_from_inclusion reproduces the accepted root;
 *  - for a tree of 1 + a % 300 leaves derived from the input, the proofs the
 *    engine builds from its tiles verify, and flipping one bit of the leaf or
 *    of a path element makes them fail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/merkle.h"

#include "check.h"

static bool known(int rc)
{
    return rc == 0 || rc == SCITT_EPROOF || rc == SCITT_ERANGE || rc == SCITT_EMALFORMED;
}

/* A reader over the tile list of a single append to an empty tree. */
typedef struct tiles {
    const scitt_merkle_tile_t *list;
    size_t num;
} tiles_t;

static int read_tile(void *ud, unsigned level, uint64_t index, const uint8_t **out_hashes, size_t *out_width)
{
    const tiles_t *t = ud;
    for (size_t i = 0; i < t->num; i++) {
        if (t->list[i].level == level && t->list[i].index == index) {
            *out_hashes = t->list[i].hashes[0];
            *out_width = t->list[i].width;
            return 0;
        }
    }
    return SCITT_ENOTFOUND;
}

static void arbitrary(uint64_t a, uint64_t b, const scitt_span_t *spans, size_t num)
{
    scitt_span_t first = spans[0], second = spans[1];
    const scitt_span_t *proof = spans + 2;
    size_t proof_len = num - 2;
    int rc = scitt_merkle_verify_inclusion_spans(a, b, first, proof, proof_len, second);
    CHECK(known(rc));
    if (rc == 0) {
        uint8_t root[32];
        uint8_t path[SCITT_MERKLE_MAX_PROOF][32];
        CHECK(first.len == 32 && second.len == 32 && proof_len <= SCITT_MERKLE_MAX_PROOF);
        for (size_t i = 0; i < proof_len; i++) {
            CHECK(proof[i].len == 32);
            memcpy(path[i], proof[i].base, 32);
        }
        CHECK(scitt_merkle_root_from_inclusion(root, a, b, first.base, (const uint8_t(*)[32])path, proof_len) == 0);
        CHECK(memcmp(root, second.base, 32) == 0);
    }
    rc = scitt_merkle_verify_consistency_spans(a, b, first, second, proof, proof_len);
    CHECK(known(rc));
    if (rc == 0 && a != b) {
        CHECK(first.len == 32 && second.len == 32);
    }
}

static void honest(uint64_t a, uint64_t b, const uint8_t *seed, size_t seed_len)
{
    size_t n = 1 + (size_t)(a % 300);
    uint8_t(*leaves)[32] = malloc(n * 32);
    CHECK(leaves != NULL);
    for (size_t i = 0; i < n; i++) {
        uint8_t entry[40] = {0};
        memcpy(entry, &i, sizeof(i));
        memcpy(entry + 8, seed, seed_len < 32 ? seed_len : 32);
        scitt_merkle_leaf_hash(leaves[i], entry, sizeof(entry));
    }
    scitt_merkle_t *t;
    CHECK(scitt_merkle_new(&t, NULL) == 0);
    tiles_t tl;
    uint8_t root[32], old_root[32], path[SCITT_MERKLE_MAX_PROOF][32];
    CHECK(scitt_merkle_append(t, (const uint8_t(*)[32])leaves, n, &tl.list, &tl.num, root) == 0);
    scitt_tile_reader_t rd = {read_tile, &tl, NULL};

    uint64_t index = b % n;
    size_t len;
    CHECK(scitt_merkle_inclusion_proof(NULL, &rd, n, index, path, &len) == 0);
    CHECK(scitt_merkle_verify_inclusion(index, n, leaves[index], (const uint8_t(*)[32])path, len, root) == 0);
    leaves[index][b % 32] ^= 1;
    CHECK(scitt_merkle_verify_inclusion(index, n, leaves[index], (const uint8_t(*)[32])path, len, root) ==
          SCITT_EPROOF);
    leaves[index][b % 32] ^= 1;
    if (len > 0) {
        path[(b >> 8) % len][(b >> 16) % 32] ^= 0x80;
        CHECK(scitt_merkle_verify_inclusion(index, n, leaves[index], (const uint8_t(*)[32])path, len, root) ==
              SCITT_EPROOF);
    }

    uint64_t old = 1 + (b >> 24) % n;
    CHECK(scitt_merkle_root_at(NULL, &rd, old, old_root) == 0);
    CHECK(scitt_merkle_consistency_proof(NULL, &rd, old, n, path, &len) == 0);
    CHECK(scitt_merkle_verify_consistency(old, n, old_root, root, (const uint8_t(*)[32])path, len) == 0);
    if (len > 0) {
        path[(b >> 8) % len][(b >> 16) % 32] ^= 0x80;
        CHECK(scitt_merkle_verify_consistency(old, n, old_root, root, (const uint8_t(*)[32])path, len) == SCITT_EPROOF);
    }
    scitt_merkle_free(t);
    free(leaves);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 16) {
        return 0;
    }
    uint64_t a = scitt_load_be64(data), b = scitt_load_be64(data + 8);
    const uint8_t *p = data + 16, *end = data + size;
    /* Up to 80 spans so the 64-element cap is exercised. */
    scitt_span_t spans[82];
    size_t num = 0;
    while (num < 82 && p < end) {
        size_t len = *p++;
        if (len > (size_t)(end - p)) {
            len = (size_t)(end - p);
        }
        spans[num++] = scitt_span(p, len);
        p += len;
    }
    while (num < 2) {
        spans[num++] = scitt_span(data, 0);
    }
    arbitrary(a, b, spans, num);
    honest(a, b, data + 16, size - 16);
    return 0;
}
