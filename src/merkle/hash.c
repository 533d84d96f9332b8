/*
 * hash.c: the RFC 9162 hash primitives and the tile-tree builder shared by
 * the growing tree (tree.c) and the prover (proof.c).
 *
 * Every interior node goes through scitt_sha256_nodes() so the multi-lane
 * kernel chosen by src/sha256 is used; single nodes (root folds, verifier
 * steps) are batches of one. Leaf hashes of arbitrary-length entries go
 * through src/crypto, as they are not on the hot path (the sequencer hashes
 * its 32-byte entries with scitt_sha256_leaves()).
 */
#include <string.h>

#include "internal.h"
#include "scitt/crypto.h"
#include "scitt/sha256.h"

void scitt_merkle_leaf_hash(uint8_t out[32], const uint8_t *entry, size_t entry_len)
{
    static const uint8_t prefix = 0x00;
    scitt_span_t parts[2] = {scitt_span(&prefix, 1), scitt_span(entry, entry_len)};
    scitt_sha256_parts(out, parts, 2);
}

void scitt_merkle_empty_root(uint8_t out[32])
{
    scitt_sha256(out, "", 0);
}

void scitt_merkle__node(uint8_t out[32], const uint8_t l[32], const uint8_t r[32])
{
    uint8_t children[2][32];
    memcpy(children[0], l, 32);
    memcpy(children[1], r, 32);
    scitt_sha256_nodes((uint8_t(*)[32])out, (const uint8_t(*)[32])children, 1);
}

void scitt_merkle__tile_tree(uint8_t (*nodes)[32], size_t width)
{
    for (unsigned h = 0; h < SCITT_MERKLE_TILE_HEIGHT; h++) {
        size_t num = width >> (h + 1);
        if (num == 0) {
            break;
        }
        scitt_sha256_nodes(nodes + scitt_merkle__row(h + 1), (const uint8_t(*)[32])(nodes + scitt_merkle__row(h)), num);
    }
}

int scitt_merkle__read_tile(const scitt_tile_reader_t *rd, unsigned level, uint64_t index, size_t need,
                            const uint8_t **out_hashes, size_t *out_width)
{
    const uint8_t *hashes = NULL;
    size_t width = 0;
    int rc = rd->read(rd->ud, level, index, &hashes, &width);
    if (rc == SCITT_ENOTFOUND) {
        return SCITT_ECORRUPT;
    }
    if (rc != 0) {
        return rc;
    }
    if (hashes == NULL || width < need || width > SCITT_MERKLE_TILE_WIDTH) {
        return SCITT_ECORRUPT;
    }
    *out_hashes = hashes;
    if (out_width != NULL) {
        *out_width = width;
    }
    return 0;
}
