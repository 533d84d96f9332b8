/*
 * tree.c: the growing tree: batch append and restore from tiles.
 *
 * Heights. Height H counts node levels above the leaves; a tree of `size`
 * leaves has size >> H complete nodes at height H, numbered from 0. Tile
 * level L stores the nodes of height 8L, 256 per tile.
 *
 * State invariants (size n):
 *  - edge[L] holds the (n >> 8L) & 255 nodes of height 8L that sit in level
 *    L's growing tile, i.e. the stored partial tile (empty when 0);
 *  - frontier[H] is node (n >> H) - 1 of height H whenever n >> H is odd:
 *    the perfect subtrees on the right edge, whose fold is the root. Other
 *    frontier slots are stale and never read.
 *
 * Append. With old size o and new size n, the new nodes of height H are the
 * indexes [o >> H, n >> H). Each is built from two children at height H-1;
 * a child older than the batch is needed only for the first new node, and
 * then it is frontier[H-1] (the unpaired last node). So we lay out, for
 * every height that changes, one contiguous row holding the new nodes plus
 * the one old left neighbour, and hash each row from the one below with a
 * single scitt_sha256_nodes() call covering the whole batch. Rows at tile
 * heights (H = 8L) start at the growing tile's first slot instead, with the
 * old partial tile copied in, so each changed tile is a contiguous slice of
 * its row and can be handed to the caller without another copy. Pairs never
 * straddle tiles because tiles are 256-aligned.
 */
#include <string.h>

#include "internal.h"
#include "scitt/sha256.h"

struct scitt_merkle {
    const scitt_mem_t *mem;
    uint64_t size;
    uint8_t frontier[64][32];
    uint8_t edge[SCITT_MERKLE_MAX_LEVELS][SCITT_MERKLE_TILE_WIDTH][32];
    /* Append output, owned here and reused: the rows and the tile list. */
    uint8_t (*rows)[32];
    size_t rows_cap;
    scitt_merkle_tile_t *tiles;
    size_t tiles_cap;
};

int scitt_merkle_new(scitt_merkle_t **out, const scitt_mem_t *mem)
{
    if (mem == NULL) {
        mem = scitt_mem_default();
    }
    scitt_merkle_t *t = scitt_mem_calloc(mem, 1, sizeof(*t));
    if (t == NULL) {
        return SCITT_ENOMEM;
    }
    t->mem = mem;
    *out = t;
    return 0;
}

void scitt_merkle_free(scitt_merkle_t *t)
{
    if (t == NULL) {
        return;
    }
    scitt_mem_free(t->mem, t->rows);
    scitt_mem_free(t->mem, t->tiles);
    scitt_mem_free(t->mem, t);
}

uint64_t scitt_merkle_size(const scitt_merkle_t *t)
{
    return t->size;
}

void scitt_merkle_root(const scitt_merkle_t *t, uint8_t out[32])
{
    if (t->size == 0) {
        scitt_merkle_empty_root(out);
        return;
    }
    /* Fold the right-edge subtrees from the smallest (rightmost) upward. */
    unsigned h = (unsigned)__builtin_ctzll(t->size);
    memcpy(out, t->frontier[h], 32);
    for (h++; h < 64; h++) {
        if ((t->size >> h) & 1) {
            scitt_merkle__node(out, t->frontier[h], out);
        }
    }
}

/* Row start for height `h` when `o` nodes of that height already exist:
 * the growing tile's first slot at tile heights, else the even index at or
 * below o (so the left child of the first new parent is in the row). */
static uint64_t row_start(unsigned h, uint64_t o)
{
    return (h % SCITT_MERKLE_TILE_HEIGHT == 0) ? o & ~(uint64_t)(SCITT_MERKLE_TILE_WIDTH - 1) : o & ~(uint64_t)1;
}

/* Grows `*buf` (of `*cap` elements of `elem` bytes) to at least `need`. */
static int reserve(const scitt_mem_t *mem, void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t n = *cap > 0 ? *cap : 64;
    while (n < need) {
        n = n > SIZE_MAX / 2 ? need : n * 2;
    }
    if (n > SIZE_MAX / elem) {
        return SCITT_ENOMEM;
    }
    void *p = scitt_mem_realloc(mem, *buf, n * elem);
    if (p == NULL) {
        return SCITT_ENOMEM;
    }
    *buf = p;
    *cap = n;
    return 0;
}

int scitt_merkle_append(scitt_merkle_t *t, const uint8_t (*leaf_hashes)[32], size_t num_leaves,
                        const scitt_merkle_tile_t **out_tiles, size_t *out_num_tiles, uint8_t out_root[32])
{
    const uint64_t o = t->size;
    if ((uint64_t)num_leaves > UINT64_MAX - o || num_leaves > SIZE_MAX / 128) {
        return SCITT_ERANGE;
    }
    const uint64_t n = o + num_leaves;

    /* Plan: which heights change, where each row starts in `rows`, how many
     * tiles change. Heights change from 0 up to the first unchanged one. */
    uint64_t start[64];
    size_t off[64];
    size_t total = 0, num_tiles = 0;
    unsigned num_rows = 0;
    while (num_rows < 64 && (n >> num_rows) > (o >> num_rows)) {
        unsigned h = num_rows++;
        start[h] = row_start(h, o >> h);
        off[h] = total;
        total += (size_t)((n >> h) - start[h]);
        if (h % SCITT_MERKLE_TILE_HEIGHT == 0) {
            num_tiles += (size_t)((((n >> h) - 1) >> 8) - ((o >> h) >> 8) + 1);
        }
    }
    int rc = reserve(t->mem, (void **)&t->rows, &t->rows_cap, total, 32);
    if (rc == 0) {
        rc = reserve(t->mem, (void **)&t->tiles, &t->tiles_cap, num_tiles, sizeof(*t->tiles));
    }
    if (rc != 0) {
        return rc;
    }

    /* Hash height by height. Row h holds nodes [start[h], n >> h). */
    for (unsigned h = 0; h < num_rows; h++) {
        uint8_t(*row)[32] = t->rows + off[h];
        uint64_t oh = o >> h;
        size_t keep = (size_t)(oh - start[h]); /* old nodes at the row's head */
        if (h % SCITT_MERKLE_TILE_HEIGHT == 0) {
            memcpy(row, t->edge[h / SCITT_MERKLE_TILE_HEIGHT], keep * 32);
        } else if (keep == 1) {
            memcpy(row[0], t->frontier[h], 32);
        }
        if (h == 0) {
            memcpy(row + keep, leaf_hashes, num_leaves * (size_t)32);
        }
        if (h + 1 < num_rows) {
            /* Parents [oh >> 1, n >> (h+1)) from children starting at 2*(oh >> 1). */
            uint64_t first = oh >> 1;
            size_t dst = off[h + 1] + (size_t)(first - start[h + 1]);
            scitt_sha256_nodes(t->rows + dst, (const uint8_t(*)[32])(row + (2 * first - start[h])),
                               (size_t)((n >> (h + 1)) - first));
        }
    }

    /* Hand back every changed tile as a slice of its row. */
    size_t k = 0;
    for (unsigned h = 0; h < num_rows; h += SCITT_MERKLE_TILE_HEIGHT) {
        uint64_t nh = n >> h;
        for (uint64_t ti = (o >> h) >> 8; ti <= (nh - 1) >> 8; ti++) {
            uint64_t first = ti * SCITT_MERKLE_TILE_WIDTH;
            uint64_t width = nh - first;
            t->tiles[k].level = h / SCITT_MERKLE_TILE_HEIGHT;
            t->tiles[k].index = ti;
            t->tiles[k].width = width < SCITT_MERKLE_TILE_WIDTH ? (size_t)width : SCITT_MERKLE_TILE_WIDTH;
            t->tiles[k].hashes = (const uint8_t(*)[32])(t->rows + off[h] + (size_t)(first - start[h]));
            k++;
        }
    }

    /* Commit the new edge tiles and frontier. */
    for (unsigned h = 0; h < num_rows; h++) {
        uint64_t nh = n >> h;
        const uint8_t(*row)[32] = (const uint8_t(*)[32])(t->rows + off[h]);
        if (nh & 1) {
            memcpy(t->frontier[h], row[nh - 1 - start[h]], 32);
        }
        if (h % SCITT_MERKLE_TILE_HEIGHT == 0) {
            uint64_t tile_first = nh & ~(uint64_t)(SCITT_MERKLE_TILE_WIDTH - 1);
            memcpy(t->edge[h / SCITT_MERKLE_TILE_HEIGHT], row[tile_first - start[h]], (size_t)(nh - tile_first) * 32);
        }
    }
    t->size = n;

    *out_tiles = t->tiles;
    *out_num_tiles = k;
    if (out_root != NULL) {
        scitt_merkle_root(t, out_root);
    }
    return 0;
}

int scitt_merkle_restore(scitt_merkle_t *t, const scitt_tile_reader_t *rd, uint64_t size)
{
    t->size = 0;
    uint8_t(*nodes)[32] = scitt_mem_malloc(t->mem, SCITT_MERKLE__TILE_NODES * 32);
    if (nodes == NULL) {
        return SCITT_ENOMEM;
    }
    int rc = 0;
    for (unsigned level = 0; level < SCITT_MERKLE_MAX_LEVELS; level++) {
        unsigned base = level * SCITT_MERKLE_TILE_HEIGHT;
        uint64_t count = size >> base; /* nodes of height 8L */
        size_t width = (size_t)(count & (SCITT_MERKLE_TILE_WIDTH - 1));
        if (width == 0) {
            continue;
        }
        const uint8_t *hashes;
        rc = scitt_merkle__read_tile(rd, level, count >> 8, width, &hashes, NULL);
        if (rc != 0) {
            goto out;
        }
        memcpy(t->edge[level], hashes, width * 32);
        memcpy(nodes, hashes, width * 32);
        scitt_merkle__tile_tree(nodes, width);
        /* Heights 8L..8L+7 with an odd node count end in this tile. */
        uint64_t tile_first = count - width;
        for (unsigned h = 0; h < SCITT_MERKLE_TILE_HEIGHT; h++) {
            uint64_t ch = size >> (base + h);
            if (ch & 1) {
                size_t local = (size_t)((ch - 1) - (tile_first >> h));
                memcpy(t->frontier[base + h], nodes[scitt_merkle__row(h) + local], 32);
            }
        }
    }
    t->size = size;
out:
    scitt_mem_free(t->mem, nodes);
    return rc;
}
