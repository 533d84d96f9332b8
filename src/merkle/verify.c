/*
 * verify.c: inclusion and consistency verification, RFC 9162 2.1.3.2 and
 * 2.1.4.2, with the edge-case semantics of transparency-dev/merkle (see
 * SPEC-NOTES section 4): 32-byte hashes only, index < size, size1 > 0,
 * size1 == size2 only with an empty proof and equal roots.
 *
 * Inputs are untrusted (receipts from anyone), so the proof length is capped
 * at SCITT_MERKLE_MAX_PROOF before any hashing, and the walk itself rejects
 * a proof that is too long (runs out of tree) or too short (tree left over),
 * which makes the accepted proof for (index, size) unique.
 *
 * Both walks share one step: at each proof element, the node we carry is a
 * right child (fn odd) or the last node of its level (fn == sn), in which
 * case the element is its left sibling and we climb past the levels where
 * the node has no right sibling; otherwise the element is its right sibling.
 */
#include <string.h>

#include "internal.h"

/* Shift fn and sn right while fn is even and non-zero: the node carried is
 * the last of its level there and has no sibling, so it is promoted. */
static void promote(uint64_t *fn, uint64_t *sn)
{
    while ((*fn & 1) == 0 && *fn != 0) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

int scitt_merkle_root_from_inclusion(uint8_t out_root[32], uint64_t index, uint64_t size, const uint8_t leaf_hash[32],
                                     const uint8_t (*path)[32], size_t path_len)
{
    if (path_len > SCITT_MERKLE_MAX_PROOF || (path == NULL && path_len > 0)) {
        return SCITT_EMALFORMED;
    }
    if (index >= size) {
        return SCITT_ERANGE;
    }
    uint64_t fn = index, sn = size - 1;
    uint8_t r[32];
    memcpy(r, leaf_hash, 32);
    for (size_t i = 0; i < path_len; i++) {
        if (sn == 0) {
            return SCITT_EPROOF; /* too long */
        }
        if ((fn & 1) || fn == sn) {
            scitt_merkle__node(r, path[i], r);
            promote(&fn, &sn);
        } else {
            scitt_merkle__node(r, r, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return SCITT_EPROOF; /* too short */
    }
    memcpy(out_root, r, 32);
    return 0;
}

int scitt_merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[32], const uint8_t (*path)[32],
                                  size_t path_len, const uint8_t root[32])
{
    uint8_t computed[32];
    int rc = scitt_merkle_root_from_inclusion(computed, index, size, leaf_hash, path, path_len);
    if (rc != 0) {
        return rc;
    }
    return memcmp(computed, root, 32) == 0 ? 0 : SCITT_EPROOF;
}

int scitt_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[32], const uint8_t root2[32],
                                    const uint8_t (*proof)[32], size_t proof_len)
{
    if (proof_len > SCITT_MERKLE_MAX_PROOF || (proof == NULL && proof_len > 0)) {
        return SCITT_EMALFORMED;
    }
    if (size1 == 0 || size2 < size1) {
        return SCITT_ERANGE;
    }
    if (size1 == size2) {
        return proof_len == 0 && memcmp(root1, root2, 32) == 0 ? 0 : SCITT_EPROOF;
    }
    if (proof_len == 0) {
        return SCITT_EPROOF;
    }
    /* When size1 is a power of two the old tree is a complete subtree whose
     * hash (root1) the proof leaves out: element 0 of the sequence is root1. */
    bool prepend = (size1 & (size1 - 1)) == 0;
    size_t num = proof_len + (prepend ? 1 : 0);
#define ELEM(i) (prepend ? ((i) == 0 ? root1 : proof[(i)-1]) : proof[(i)])
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[32], sr[32];
    memcpy(fr, ELEM(0), 32);
    memcpy(sr, ELEM(0), 32);
    for (size_t i = 1; i < num; i++) {
        const uint8_t *c = ELEM(i);
        if (sn == 0) {
            return SCITT_EPROOF;
        }
        if ((fn & 1) || fn == sn) {
            scitt_merkle__node(fr, c, fr);
            scitt_merkle__node(sr, c, sr);
            promote(&fn, &sn);
        } else {
            scitt_merkle__node(sr, sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
#undef ELEM
    if (sn != 0 || memcmp(fr, root1, 32) != 0 || memcmp(sr, root2, 32) != 0) {
        return SCITT_EPROOF;
    }
    return 0;
}

/* Copies `num` spans of exactly 32 bytes into `out`, else SCITT_EMALFORMED. */
static int copy_hashes(uint8_t (*out)[32], const scitt_span_t *in, size_t num)
{
    if (num > 0 && in == NULL) {
        return SCITT_EMALFORMED;
    }
    for (size_t i = 0; i < num; i++) {
        if (in[i].len != 32 || in[i].base == NULL) {
            return SCITT_EMALFORMED;
        }
        memcpy(out[i], in[i].base, 32);
    }
    return 0;
}

int scitt_merkle_verify_inclusion_spans(uint64_t index, uint64_t size, scitt_span_t leaf_hash, const scitt_span_t *path,
                                        size_t path_len, scitt_span_t root)
{
    uint8_t hashes[SCITT_MERKLE_MAX_PROOF + 2][32];
    if (path_len > SCITT_MERKLE_MAX_PROOF) {
        return SCITT_EMALFORMED;
    }
    int rc = copy_hashes(hashes, &leaf_hash, 1);
    if (rc == 0) {
        rc = copy_hashes(hashes + 1, &root, 1);
    }
    if (rc == 0) {
        rc = copy_hashes(hashes + 2, path, path_len);
    }
    if (rc != 0) {
        return rc;
    }
    return scitt_merkle_verify_inclusion(index, size, hashes[0], (const uint8_t(*)[32])(hashes + 2), path_len,
                                         hashes[1]);
}

int scitt_merkle_verify_consistency_spans(uint64_t size1, uint64_t size2, scitt_span_t root1, scitt_span_t root2,
                                          const scitt_span_t *proof, size_t proof_len)
{
    uint8_t hashes[SCITT_MERKLE_MAX_PROOF + 2][32];
    if (proof_len > SCITT_MERKLE_MAX_PROOF) {
        return SCITT_EMALFORMED;
    }
    if (size1 != 0 && size1 == size2) {
        /* No hashing happens here: like transparency-dev we compare the two
         * roots as byte strings, whatever their length (a probe pins this). */
        return proof_len == 0 && scitt_span_eq(root1, root2) ? 0 : SCITT_EPROOF;
    }
    int rc = copy_hashes(hashes, &root1, 1);
    if (rc == 0) {
        rc = copy_hashes(hashes + 1, &root2, 1);
    }
    if (rc == 0) {
        rc = copy_hashes(hashes + 2, proof, proof_len);
    }
    if (rc != 0) {
        return rc;
    }
    return scitt_merkle_verify_consistency(size1, size2, hashes[0], hashes[1], (const uint8_t(*)[32])(hashes + 2),
                                           proof_len);
}
