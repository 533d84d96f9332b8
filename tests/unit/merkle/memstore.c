/* memstore.c: see memstore.h. Tiles of a level are dense from index 0, so
 * each level is one growable array indexed by tile index. */
#include "memstore.h"

#include <stdlib.h>
#include <string.h>

void memstore_init(memstore_t *ms)
{
    memset(ms, 0, sizeof(*ms));
}

void memstore_cleanup(memstore_t *ms)
{
    for (size_t l = 0; l < SCITT_MERKLE_MAX_LEVELS; l++) {
        free(ms->lv[l].tiles);
        free(ms->lv[l].widths);
    }
    memset(ms, 0, sizeof(*ms));
}

static void grow(memstore_level_t *lv, uint64_t index)
{
    if (index < lv->cap) {
        return;
    }
    size_t cap = lv->cap ? lv->cap : 16;
    while (cap <= index) {
        cap *= 2;
    }
    lv->tiles = realloc(lv->tiles, cap * sizeof(*lv->tiles));
    lv->widths = realloc(lv->widths, cap * sizeof(*lv->widths));
    if (lv->tiles == NULL || lv->widths == NULL) {
        abort();
    }
    memset(lv->widths + lv->cap, 0, (cap - lv->cap) * sizeof(*lv->widths));
    lv->cap = cap;
}

bool memstore_write(memstore_t *ms, const scitt_merkle_tile_t *tiles, size_t num_tiles)
{
    bool ok = true;
    for (size_t i = 0; i < num_tiles; i++) {
        const scitt_merkle_tile_t *t = &tiles[i];
        if (t->level >= SCITT_MERKLE_MAX_LEVELS || t->width == 0 || t->width > SCITT_MERKLE_TILE_WIDTH) {
            return false;
        }
        memstore_level_t *lv = &ms->lv[t->level];
        grow(lv, t->index);
        size_t old = lv->widths[t->index];
        if (old > t->width || memcmp(lv->tiles[t->index], t->hashes, old * 32) != 0) {
            ok = false;
        }
        memcpy(lv->tiles[t->index], t->hashes, t->width * 32);
        lv->widths[t->index] = t->width;
        if (t->index >= lv->num) {
            lv->num = (size_t)t->index + 1;
        }
    }
    return ok;
}

static int read_tile(void *ud, unsigned level, uint64_t index, const uint8_t **out_hashes, size_t *out_width)
{
    memstore_t *ms = ud;
    ms->reads++;
    if (level >= SCITT_MERKLE_MAX_LEVELS || index >= ms->lv[level].num || ms->lv[level].widths[index] == 0) {
        return SCITT_ENOTFOUND;
    }
    *out_hashes = &ms->lv[level].tiles[index][0][0];
    *out_width = ms->lv[level].widths[index];
    return 0;
}

scitt_tile_reader_t memstore_reader(memstore_t *ms)
{
    scitt_tile_reader_t rd = {read_tile, ms, NULL};
    return rd;
}

bool memstore_equal(const memstore_t *a, const memstore_t *b)
{
    for (size_t l = 0; l < SCITT_MERKLE_MAX_LEVELS; l++) {
        const memstore_level_t *x = &a->lv[l], *y = &b->lv[l];
        if (x->num != y->num) {
            return false;
        }
        for (size_t i = 0; i < x->num; i++) {
            if (x->widths[i] != y->widths[i] || memcmp(x->tiles[i], y->tiles[i], x->widths[i] * 32) != 0) {
                return false;
            }
        }
    }
    return true;
}
