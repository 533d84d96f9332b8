/*
 * memstore.h: an in-memory tile store for the Merkle tests and benchmark,
 * standing in for src/store's LMDB tiles table. Aborts on allocation
 * failure (test code).
 */
#ifndef SCITT_TESTS_MERKLE_MEMSTORE_H
#define SCITT_TESTS_MERKLE_MEMSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/merkle.h"

typedef struct memstore_level {
    uint8_t (*tiles)[SCITT_MERKLE_TILE_WIDTH][32];
    size_t *widths;
    size_t num, cap;
} memstore_level_t;

typedef struct memstore {
    memstore_level_t lv[SCITT_MERKLE_MAX_LEVELS];
    size_t reads; /* read calls served, to check O(log n) tile reads */
} memstore_t;

void memstore_init(memstore_t *ms);
void memstore_cleanup(memstore_t *ms);

/* memstore_write stores the tiles an append handed back. It checks the
 * tile-store invariant that a rewrite only extends a tile (the old content
 * is a prefix of the new) and returns false if it does not hold. */
bool memstore_write(memstore_t *ms, const scitt_merkle_tile_t *tiles, size_t num_tiles);

/* memstore_reader returns a reader over `ms`. */
scitt_tile_reader_t memstore_reader(memstore_t *ms);

/* memstore_equal reports whether two stores hold the same tiles. */
bool memstore_equal(const memstore_t *a, const memstore_t *b);

#endif
