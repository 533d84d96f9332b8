/*
 * proof.c: roots, inclusion and consistency proofs from stored tiles.
 *
 * In a tree of n leaves, node (H, i) of height H covers leaves
 * [i << H, min((i+1) << H, n)). It is complete when (i+1) << H <= n; then it
 * lies in one tile: level L = H / 8, reached by hashing h = H % 8 rows up
 * from the tile's hashes. Only the last node of each height can be
 * incomplete; its hash, right[H], is MTH of that leaf range (RFC 9162 splits
 * at the largest power of two, which is exactly this layout). right[0] is
 * the last leaf, right[H+1] is right[H] when the last index at height H is
 * even (no left sibling), else H(node(H, last-1), right[H]); the root is
 * right[top] with top = bit length of n-1.
 *
 * So every hash a proof needs is either a complete node, served from the
 * tile-tree cache, or a right[H], computed once per prover from the
 * right-edge tile of each level, and only as high as its proofs need. PATH(m, n) takes, for each height H below
 * top, the sibling s = (m >> H) ^ 1 when it exists: node(H, s) if complete,
 * right[H] if it is the last node, nothing if it lies past the end.
 * PROOF(m, n) follows the RFC 9162 SUBPROOF recursion, where every subtree
 * hash is a complete node or (for a subtree ending at n) a right[H].
 *
 * With a shared tile cache on the reader (cache.c), a slot points at the
 * cached tile tree of a tile instead of hashing its own copy.
 *
 * Cache: direct-mapped, `ways` slots per level (slot = (index % ways) * 8 +
 * level), each holding one tile's 511-node tile tree. Tiles of different
 * levels never evict each other, and a batch of consecutive leaves touches
 * each tile once.
 */
#include <string.h>

#include "internal.h"

typedef struct slot {
    bool valid;
    unsigned level;
    uint64_t index;
    size_t width;                /* complete hashes at the prover's size */
    const uint8_t (*view)[32];   /* the tile tree: `nodes` or a shared cache entry */
    scitt_merkle__cached_t *ref; /* the cache entry `view` points into, or NULL */
    uint8_t (*nodes)[32];        /* SCITT_MERKLE__TILE_NODES, allocated on first use */
} slot_t;

struct scitt_merkle_prover {
    const scitt_mem_t *mem;
    scitt_tile_reader_t rd;
    uint64_t size;
    unsigned top;       /* height of the root */
    unsigned num_right; /* right[0 .. num_right - 1] are computed */
    uint8_t right[65][32];
    size_t num_slots;
    slot_t slots[]; /* in the same allocation */
};

/* node() finds complete node (H, i) and points `*out` at its hash, which
 * stays valid until the next node() call that evicts its tile. */
static int node(scitt_merkle_prover_t *p, unsigned height, uint64_t i, const uint8_t **out)
{
    unsigned level = height / SCITT_MERKLE_TILE_HEIGHT, h = height % SCITT_MERKLE_TILE_HEIGHT;
    uint64_t tile = i >> (SCITT_MERKLE_TILE_HEIGHT - h);
    size_t ways = p->num_slots / SCITT_MERKLE_MAX_LEVELS;
    slot_t *s = &p->slots[(size_t)(tile % ways) * SCITT_MERKLE_MAX_LEVELS + level];
    if (!s->valid || s->level != level || s->index != tile) {
        /* The tile's width at this tree size: full, or the partial prefix. */
        uint64_t avail = (p->size >> (level * SCITT_MERKLE_TILE_HEIGHT)) - tile * SCITT_MERKLE_TILE_WIDTH;
        size_t width = avail < SCITT_MERKLE_TILE_WIDTH ? (size_t)avail : SCITT_MERKLE_TILE_WIDTH;
        s->valid = false;
        scitt_merkle_tile_cache_t *cache = p->rd.cache;
        if (s->ref != NULL) {
            scitt_merkle__cache_release(cache, s->ref);
            s->ref = NULL;
        }
        s->view = cache != NULL ? scitt_merkle__cache_get(cache, level, tile, width, &s->ref) : NULL;
        if (s->view == NULL) {
            const uint8_t *hashes;
            size_t stored;
            int rc = scitt_merkle__read_tile(&p->rd, level, tile, width, &hashes, &stored);
            if (rc != 0) {
                return rc;
            }
            if (cache != NULL) {
                /* Everything stored is final: hash it once for everyone,
                 * also the part past this prover's size. */
                s->view = scitt_merkle__cache_put(cache, level, tile, hashes, stored, &s->ref);
            }
            if (s->view == NULL) {
                if (s->nodes == NULL) {
                    s->nodes = scitt_mem_malloc(p->mem, SCITT_MERKLE__TILE_NODES * 32);
                    if (s->nodes == NULL) {
                        return SCITT_ENOMEM;
                    }
                }
                memcpy(s->nodes, hashes, width * 32);
                scitt_merkle__tile_tree(s->nodes, width);
                s->view = (const uint8_t(*)[32])s->nodes;
            }
        }
        /* A cached tile may hold nodes past `width`: they are not complete
         * at this size, and the check below never serves them. */
        s->valid = true;
        s->level = level;
        s->index = tile;
        s->width = width;
    }
    size_t local = (size_t)(i & ((SCITT_MERKLE_TILE_WIDTH >> h) - 1));
    if (local >= s->width >> h) {
        return SCITT_ECORRUPT; /* not a complete node: a caller bug or a bad size */
    }
    *out = s->view[scitt_merkle__row(h) + local];
    return 0;
}

/* right_to computes right[] up to height `h` (at most top), bottom up. */
static int right_to(scitt_merkle_prover_t *p, unsigned h)
{
    uint64_t last = p->size - 1;
    for (; p->num_right <= h; p->num_right++) {
        unsigned k = p->num_right - 1;
        uint64_t li = last >> k;
        if (li & 1) {
            const uint8_t *hash;
            int rc = node(p, k, li - 1, &hash);
            if (rc != 0) {
                return rc;
            }
            scitt_merkle__node(p->right[k + 1], hash, p->right[k]);
        } else {
            memcpy(p->right[k + 1], p->right[k], 32);
        }
    }
    return 0;
}

int scitt_merkle_prover_new(scitt_merkle_prover_t **out, const scitt_mem_t *mem, const scitt_tile_reader_t *rd,
                            uint64_t size, size_t cache_tiles)
{
    if (size == 0) {
        return SCITT_ERANGE;
    }
    if (mem == NULL) {
        mem = scitt_mem_default();
    }
    if (cache_tiles == 0) {
        cache_tiles = 64;
    }
    if (cache_tiles > SIZE_MAX / 2 / sizeof(slot_t)) {
        return SCITT_ENOMEM;
    }
    size_t ways = (cache_tiles + SCITT_MERKLE_MAX_LEVELS - 1) / SCITT_MERKLE_MAX_LEVELS;
    size_t num_slots = ways * SCITT_MERKLE_MAX_LEVELS;
    /* One allocation; right[] is written before it is read, so only the
     * slots are zeroed. */
    scitt_merkle_prover_t *p = scitt_mem_malloc(mem, sizeof(*p) + num_slots * sizeof(slot_t));
    if (p == NULL) {
        return SCITT_ENOMEM;
    }
    p->mem = mem;
    p->rd = *rd;
    p->size = size;
    p->num_right = 0;
    p->num_slots = num_slots;
    memset(p->slots, 0, num_slots * sizeof(slot_t));

    /* right[0] now; the others on first use (right_to): a proof for a leaf
     * near the end of the tree needs only the lowest few. */
    const uint8_t *hash;
    uint64_t last = size - 1;
    int rc = node(p, 0, last, &hash);
    if (rc != 0) {
        goto fail;
    }
    memcpy(p->right[0], hash, 32);
    p->num_right = 1;
    p->top = last == 0 ? 0 : 64 - (unsigned)__builtin_clzll(last);
    *out = p;
    return 0;
fail:
    scitt_merkle_prover_free(p);
    return rc;
}

void scitt_merkle_prover_free(scitt_merkle_prover_t *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->num_slots; i++) {
        scitt_merkle__cache_release(p->rd.cache, p->slots[i].ref);
        scitt_mem_free(p->mem, p->slots[i].nodes);
    }
    scitt_mem_free(p->mem, p);
}

int scitt_merkle_prover_root(scitt_merkle_prover_t *p, uint8_t out[32])
{
    int rc = right_to(p, p->top);
    if (rc == 0) {
        memcpy(out, p->right[p->top], 32);
    }
    return rc;
}

int scitt_merkle_prover_inclusion(scitt_merkle_prover_t *p, uint8_t (*out_path)[32], size_t *out_len, uint64_t index)
{
    if (index >= p->size) {
        return SCITT_ERANGE;
    }
    uint64_t last = p->size - 1;
    size_t len = 0;
    for (unsigned h = 0; h < p->top; h++) {
        uint64_t sib = (index >> h) ^ 1, li = last >> h;
        if (sib > li) {
            continue; /* nothing to the right at this height: the node is promoted */
        }
        if (sib == li) {
            int rc = right_to(p, h);
            if (rc != 0) {
                return rc;
            }
            memcpy(out_path[len++], p->right[h], 32);
            continue;
        }
        const uint8_t *hash;
        int rc = node(p, h, sib, &hash);
        if (rc != 0) {
            return rc;
        }
        memcpy(out_path[len++], hash, 32);
    }
    *out_len = len;
    return 0;
}

/* subtree_hash writes MTH(D[off : off+len]) for a subtree the SUBPROOF
 * recursion visits: a complete node, or a range ending at the tree size. */
static int subtree_hash(scitt_merkle_prover_t *p, uint8_t out[32], uint64_t off, uint64_t len)
{
    unsigned h = len == 1 ? 0 : 64 - (unsigned)__builtin_clzll(len - 1); /* ceil(log2 len) */
    if (off + len == p->size) {
        int rc = right_to(p, h);
        if (rc == 0) {
            memcpy(out, p->right[h], 32);
        }
        return rc;
    }
    const uint8_t *hash;
    int rc = node(p, h, off >> h, &hash);
    if (rc == 0) {
        memcpy(out, hash, 32);
    }
    return rc;
}

int scitt_merkle_prover_consistency(scitt_merkle_prover_t *p, uint8_t (*out_proof)[32], size_t *out_len,
                                    uint64_t old_size)
{
    if (old_size == 0 || old_size > p->size) {
        return SCITT_ERANGE;
    }
    /* SUBPROOF(m, D[off : off+len], whole) appends its subtree's sibling
     * after recursing, so collect leaf-to-root by walking root-to-leaf and
     * reversing at the end. */
    uint64_t m = old_size, off = 0, len = p->size;
    bool whole = true;
    size_t num = 0;
    int rc = 0;
    while (m != len) {
        uint64_t k = (uint64_t)1 << (63 - __builtin_clzll(len - 1)); /* largest power of two < len */
        if (m <= k) {
            rc = subtree_hash(p, out_proof[num++], off + k, len - k);
            len = k;
        } else {
            rc = subtree_hash(p, out_proof[num++], off, k);
            m -= k;
            off += k;
            len -= k;
            whole = false;
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (!whole) {
        rc = subtree_hash(p, out_proof[num++], off, len);
        if (rc != 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < num / 2; i++) {
        uint8_t tmp[32];
        memcpy(tmp, out_proof[i], 32);
        memcpy(out_proof[i], out_proof[num - 1 - i], 32);
        memcpy(out_proof[num - 1 - i], tmp, 32);
    }
    *out_len = num;
    return 0;
}

/* One-shot forms: one tile slot per level is all a single answer needs. */
int scitt_merkle_root_at(const scitt_mem_t *mem, const scitt_tile_reader_t *rd, uint64_t size, uint8_t out[32])
{
    if (size == 0) {
        scitt_merkle_empty_root(out);
        return 0;
    }
    scitt_merkle_prover_t *p;
    int rc = scitt_merkle_prover_new(&p, mem, rd, size, SCITT_MERKLE_MAX_LEVELS);
    if (rc == 0) {
        rc = scitt_merkle_prover_root(p, out);
        scitt_merkle_prover_free(p);
    }
    return rc;
}

int scitt_merkle_inclusion_proof(const scitt_mem_t *mem, const scitt_tile_reader_t *rd, uint64_t size, uint64_t index,
                                 uint8_t (*out_path)[32], size_t *out_len)
{
    if (index >= size) {
        return SCITT_ERANGE;
    }
    scitt_merkle_prover_t *p;
    int rc = scitt_merkle_prover_new(&p, mem, rd, size, SCITT_MERKLE_MAX_LEVELS);
    if (rc == 0) {
        rc = scitt_merkle_prover_inclusion(p, out_path, out_len, index);
        scitt_merkle_prover_free(p);
    }
    return rc;
}

int scitt_merkle_consistency_proof(const scitt_mem_t *mem, const scitt_tile_reader_t *rd, uint64_t old_size,
                                   uint64_t size, uint8_t (*out_proof)[32], size_t *out_len)
{
    if (old_size == 0 || old_size > size) {
        return SCITT_ERANGE;
    }
    scitt_merkle_prover_t *p;
    int rc = scitt_merkle_prover_new(&p, mem, rd, size, SCITT_MERKLE_MAX_LEVELS);
    if (rc == 0) {
        rc = scitt_merkle_prover_consistency(p, out_proof, out_len, old_size);
        scitt_merkle_prover_free(p);
    }
    return rc;
}
