/*
 * cache.c: a shared, bounded cache of tiles' tile trees.
 *
 * A one-shot proof for an old leaf spends nearly all its time hashing the
 * interior of the tiles it touches (255 node hashes per full tile). A stored
 * hash never changes, and a tile only grows (a partial tile is a prefix of
 * the later ones), so the tile tree of its first `width` hashes can be kept
 * and shared by every prover over the same tiles, on any thread: it serves
 * any prover needing at most `width` of them. Then a proof becomes lookups.
 * A growing tile's entry is replaced by a wider one when a prover needs
 * more of it than is cached.
 *
 * Entries are immutable after insertion and reference counted: a prover
 * holds a reference while a slot of its own points at an entry, so it reads
 * the nodes without the lock. The table (chained hash, LRU list) and the
 * counts are guarded by one mutex, taken once per tile lookup. Eviction
 * unlinks the least recently used entries until the linked ones fit in
 * `max_bytes`; an unlinked entry is freed when its last reference goes.
 * Memory above the bound is therefore at most what live provers hold.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct scitt_merkle__cached {
    scitt_merkle__cached_t *hnext;       /* hash chain */
    scitt_merkle__cached_t *prev, *next; /* LRU list, most recent first */
    unsigned level;
    uint64_t index;
    size_t width; /* hashes the tree was built from (1..256) */
    size_t refs;  /* provers holding it, plus one while linked */
    bool linked;
    uint8_t nodes[SCITT_MERKLE__TILE_NODES][32];
};

struct scitt_merkle_tile_cache {
    pthread_mutex_t lock;
    size_t max_bytes, bytes, num_tiles;
    size_t mask; /* buckets - 1 */
    scitt_merkle__cached_t **buckets;
    scitt_merkle__cached_t *head, *tail;
    uint64_t hits, misses, evictions;
};

static size_t bucket(const scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index)
{
    uint64_t h = (index * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)level << 59);
    return (size_t)(h >> 17) & c->mask;
}

int scitt_merkle_tile_cache_new(scitt_merkle_tile_cache_t **out, size_t max_bytes)
{
    scitt_merkle_tile_cache_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return SCITT_ENOMEM;
    }
    size_t want = max_bytes / sizeof(scitt_merkle__cached_t), n = 16;
    while (n < want && n < ((size_t)1 << 24)) {
        n *= 2;
    }
    c->buckets = calloc(n, sizeof(*c->buckets));
    if (c->buckets == NULL) {
        free(c);
        return SCITT_ENOMEM;
    }
    c->mask = n - 1;
    c->max_bytes = max_bytes;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void scitt_merkle_tile_cache_free(scitt_merkle_tile_cache_t *c)
{
    if (c == NULL) {
        return;
    }
    scitt_merkle__cached_t *e = c->head;
    while (e != NULL) {
        scitt_merkle__cached_t *next = e->next;
        free(e); /* no prover may outlive the cache (see merkle.h) */
        e = next;
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void scitt_merkle_tile_cache_stats(scitt_merkle_tile_cache_t *c, scitt_merkle_tile_cache_stats_t *out)
{
    pthread_mutex_lock(&c->lock);
    *out = (scitt_merkle_tile_cache_stats_t){.num_tiles = c->num_tiles,
                                             .bytes = c->bytes,
                                             .max_bytes = c->max_bytes,
                                             .hits = c->hits,
                                             .misses = c->misses,
                                             .evictions = c->evictions};
    pthread_mutex_unlock(&c->lock);
}

static void lru_unlink(scitt_merkle_tile_cache_t *c, scitt_merkle__cached_t *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;
    } else {
        c->head = e->next;
    }
    if (e->next != NULL) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }
    e->prev = e->next = NULL;
}

static void lru_push(scitt_merkle_tile_cache_t *c, scitt_merkle__cached_t *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head != NULL) {
        c->head->prev = e;
    } else {
        c->tail = e;
    }
    c->head = e;
}

/* find returns the linked entry for (level, index) or NULL; lock held. */
static scitt_merkle__cached_t *find(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index)
{
    scitt_merkle__cached_t *e = c->buckets[bucket(c, level, index)];
    while (e != NULL && (e->level != level || e->index != index)) {
        e = e->hnext;
    }
    return e;
}

/* unlink takes entry `e` out of the table; lock held. Returns it when
 * nobody holds it any more (the caller frees it outside the lock). */
static scitt_merkle__cached_t *unlink_entry(scitt_merkle_tile_cache_t *c, scitt_merkle__cached_t *e)
{
    scitt_merkle__cached_t **pp = &c->buckets[bucket(c, e->level, e->index)];
    while (*pp != e) {
        pp = &(*pp)->hnext;
    }
    *pp = e->hnext;
    lru_unlink(c, e);
    e->linked = false;
    c->bytes -= sizeof(*e);
    c->num_tiles--;
    return --e->refs == 0 ? e : NULL;
}

const uint8_t (*scitt_merkle__cache_get(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index, size_t need,
                                        scitt_merkle__cached_t **out_ref))[32]
{
    pthread_mutex_lock(&c->lock);
    scitt_merkle__cached_t *e = find(c, level, index);
    if (e != NULL && e->width < need) {
        e = NULL; /* a narrower past state of a growing tile */
    }
    if (e != NULL) {
        e->refs++;
        if (c->head != e) {
            lru_unlink(c, e);
            lru_push(c, e);
        }
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->lock);
    *out_ref = e;
    return e != NULL ? (const uint8_t(*)[32])e->nodes : NULL;
}

const uint8_t (*scitt_merkle__cache_put(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index,
                                        const uint8_t *hashes, size_t width, scitt_merkle__cached_t **out_ref))[32]
{
    *out_ref = NULL;
    if (c->max_bytes < sizeof(scitt_merkle__cached_t)) {
        return NULL; /* a cache too small for one tile holds none */
    }
    /* Hash outside the lock: other threads keep reading meanwhile. */
    scitt_merkle__cached_t *e = malloc(sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    memcpy(e->nodes, hashes, width * 32);
    scitt_merkle__tile_tree(e->nodes, width);
    e->level = level;
    e->index = index;
    e->width = width;
    e->refs = 2; /* the caller's and the table's */
    e->linked = true;
    scitt_merkle__cached_t *dead[4], *other;
    size_t num_dead = 0;
    pthread_mutex_lock(&c->lock);
    other = find(c, level, index);
    if (other != NULL && other->width >= width) {
        other->refs++; /* another thread put it first: use theirs */
    } else {
        if (other != NULL) {
            /* The narrower state of a growing tile: ours replaces it. */
            dead[num_dead] = unlink_entry(c, other);
            num_dead += dead[num_dead] != NULL;
            other = NULL;
        }
        while (c->bytes + sizeof(*e) > c->max_bytes && c->tail != NULL) {
            scitt_merkle__cached_t *d = unlink_entry(c, c->tail);
            c->evictions++;
            if (d != NULL && num_dead < scitt_countof(dead)) {
                dead[num_dead++] = d;
            } else if (d != NULL) {
                free(d); /* more than one victim per put only after the bound shrank */
            }
        }
        size_t b = bucket(c, level, index);
        e->hnext = c->buckets[b];
        c->buckets[b] = e;
        lru_push(c, e);
        c->bytes += sizeof(*e);
        c->num_tiles++;
    }
    pthread_mutex_unlock(&c->lock);
    for (size_t i = 0; i < num_dead; i++) {
        free(dead[i]);
    }
    if (other != NULL) {
        free(e);
        e = other;
    }
    *out_ref = e;
    return (const uint8_t(*)[32])e->nodes;
}

void scitt_merkle__cache_release(scitt_merkle_tile_cache_t *c, scitt_merkle__cached_t *e)
{
    if (e == NULL) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (last) {
        free(e);
    }
}

int scitt_merkle_tile_cache_copy(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index, uint8_t (*out)[32])
{
    scitt_merkle__cached_t *e;
    const uint8_t(*nodes)[32] = scitt_merkle__cache_get(c, level, index, 256, &e);
    if (nodes == NULL) {
        return SCITT_ENOTFOUND;
    }
    memcpy(out, nodes, 256 * 32); /* row 0 of the tile tree: the tile's hashes */
    scitt_merkle__cache_release(c, e);
    return 0;
}

void scitt_merkle_tile_cache_add(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index, const uint8_t *hashes,
                                 size_t width)
{
    scitt_merkle__cached_t *e;
    if (width >= 1 && width <= 256 && scitt_merkle__cache_put(c, level, index, hashes, width, &e) != NULL) {
        scitt_merkle__cache_release(c, e);
    }
}
