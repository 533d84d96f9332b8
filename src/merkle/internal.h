/*
 * internal.h: helpers shared inside src/merkle only.
 *
 * A "tile tree" is the 511-node perfect binary tree over one tile's (up to)
 * 256 hashes, stored row by row: row h (0..8) holds the nodes h levels above
 * the tile's hashes, 256 >> h slots starting at scitt_merkle__row(h). Only
 * the complete nodes of a partial tile are filled: width >> h in row h.
 */
#ifndef SCITT_SRC_MERKLE_INTERNAL_H
#define SCITT_SRC_MERKLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "scitt/merkle.h"

#define SCITT_MERKLE__TILE_NODES 511

/* scitt_merkle__row returns the offset of row `h` in a tile tree. */
static inline size_t scitt_merkle__row(unsigned h)
{
    return 512 - ((size_t)512 >> h);
}

/* scitt_merkle__node hashes one interior node SHA-256(0x01 || l || r).
 * `out` may alias `l` or `r`. */
void scitt_merkle__node(uint8_t out[32], const uint8_t l[32], const uint8_t r[32]);

/* scitt_merkle__tile_tree fills rows 1..8 of the tile tree `nodes` from its
 * first `width` (0..256) hashes in row 0, one batched kernel call per row. */
void scitt_merkle__tile_tree(uint8_t (*nodes)[32], size_t width);

/* scitt_merkle__read_tile reads tile (level, index) through `rd` and checks
 * it holds at least `need` hashes; `*out_width` (if not NULL) gets the
 * stored width. An absent or narrower tile is SCITT_ECORRUPT (the caller
 * asked for a tile the tree size implies); other reader errors pass
 * through. */
int scitt_merkle__read_tile(const scitt_tile_reader_t *rd, unsigned level, uint64_t index, size_t need,
                            const uint8_t **out_hashes, size_t *out_width);

/* One tile tree in a scitt_merkle_tile_cache_t (cache.c). */
typedef struct scitt_merkle__cached scitt_merkle__cached_t;

/* scitt_merkle__cache_get returns the cached tile tree of tile (level,
 * index), built from at least its first `need` hashes, and a reference in
 * `*out_ref`; or NULL (and `*out_ref` NULL) when no such tree is cached.
 * Rows past a narrower prover's width hold nodes it must not use (they are
 * not complete at its size). The nodes stay valid and unchanged until the
 * reference is released. */
const uint8_t (*scitt_merkle__cache_get(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index, size_t need,
                                        scitt_merkle__cached_t **out_ref))[32];

/* scitt_merkle__cache_put builds the tile tree of tile (level, index) from
 * its first `width` (1..256) stored `hashes`, caches it in place of a
 * narrower one (evicting the least recently used tiles past the bound) and
 * returns it with a reference, as above. NULL when it cannot (no memory, a
 * cache smaller than one tile): the caller hashes the tile itself. */
const uint8_t (*scitt_merkle__cache_put(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index,
                                        const uint8_t *hashes, size_t width, scitt_merkle__cached_t **out_ref))[32];

/* scitt_merkle__cache_release drops a reference; NULL is a no-op. */
void scitt_merkle__cache_release(scitt_merkle_tile_cache_t *c, scitt_merkle__cached_t *e);

#endif /* SCITT_SRC_MERKLE_INTERNAL_H */
