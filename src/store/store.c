/*
 * store.c: the store's dispatcher (engine.h). scitt_store_open picks the
 * engine (LMDB for a data folder, PostgreSQL for a database), and every
 * public function is a call through the engine's table of operations, after
 * the checks that do not depend on the engine: a batch's shape before a
 * commit, the level-0 check of an entry about to be served, and the single
 * getters as one-element batches.
 */
#include <string.h>

#include "engine.h"
#include "scitt/crypto.h"
#include "scitt/sha256.h"

static void sha256_entry(uint8_t out[32], const uint8_t *stored, size_t len)
{
    scitt_sha256(out, stored, len);
}

int scitt_store_open(scitt_store_t **out, const scitt_store_config_t *cfg, const char **out_err_desc)
{
    const char *no_desc = NULL;
    const char **why = out_err_desc != NULL ? out_err_desc : &no_desc;
    *why = NULL;
    const scitt_store_ops_t *ops = &scitt_store__lmdb_ops;
    if (cfg->database != NULL) {
#ifdef SCITT_HAVE_POSTGRESQL
        ops = &scitt_store__pg_ops;
#else
        *why = "this scittd was built without PostgreSQL";
        return SCITT_EINVAL;
#endif
    }
    scitt_store_config_t c = *cfg;
    if (c.entry_hash == NULL) {
        c.entry_hash = sha256_entry;
    }
    scitt_store_t *st;
    int rc = ops->open(&st, &c, why);
    if (rc == 0) {
        st->ops = ops;
        st->entry_hash = c.entry_hash;
        *out = st;
    }
    return rc;
}

void scitt_store_close(scitt_store_t *st)
{
    if (st != NULL) {
        st->ops->close(st);
    }
}

/* check_batch: what a batch must satisfy whatever is stored. */
static int check_batch(const scitt_store_batch_t *b)
{
    if ((b->num_entries > 0 && (b->entries == NULL || b->entry_hashes == NULL)) ||
        (b->num_tiles > 0 && b->tiles == NULL) || (b->num_index > 0 && b->index == NULL) ||
        (b->num_dequeue > 0 && b->dequeue == NULL)) {
        return SCITT_EINVAL;
    }
    for (size_t i = 0; i < b->num_tiles; i++) {
        if (b->tiles[i].width == 0 || b->tiles[i].width > 256 || b->tiles[i].level > UINT8_MAX) {
            return SCITT_EINVAL;
        }
    }
    return b->head != NULL ? scitt_store__head_check(b->head) : 0;
}

int scitt_store_commit(scitt_store_t *st, const scitt_store_batch_t *batch)
{
    int rc = check_batch(batch);
    if (rc == 0 && batch->num_dequeue > 0 && !scitt_store_shared(st)) {
        rc = SCITT_ENOTSUP; /* only a shared store has a hand-off queue */
    }
    return rc != 0 ? rc : st->ops->commit(st, batch);
}

int scitt_store_meta_put(scitt_store_t *st, const char *key, scitt_span_t value)
{
    return st->ops->meta_put(st, key, value);
}

int scitt_store_writer_acquire(scitt_store_t *st, char *why, size_t cap)
{
    return st->ops->writer_acquire(st, why, cap);
}

bool scitt_store_shared(const scitt_store_t *st)
{
    return st->ops->lease != NULL;
}

/* SHARED calls an engine's shared-store operation, or answers
 * SCITT_ENOTSUP for an engine that has none. */
#define SHARED(ops, op, ...) ((ops)->op != NULL ? (ops)->op(__VA_ARGS__) : SCITT_ENOTSUP)

int scitt_store_lease(scitt_store_t *st, unsigned lease_ms, scitt_store_lease_t *out)
{
    *out = (scitt_store_lease_t){0};
    return SHARED(st->ops, lease, st, lease_ms, out);
}

int scitt_store_lease_release(scitt_store_t *st)
{
    return SHARED(st->ops, lease_release, st);
}

int scitt_store_queue_put(scitt_store_t *st, const scitt_store_queued_t *q, size_t n)
{
    return n == 0 ? 0 : SHARED(st->ops, queue_put, st, q, n);
}

int scitt_store_queue_put_aside(scitt_store_t *st, const scitt_store_queued_t *q, size_t n)
{
    return n == 0 ? 0 : SHARED(st->ops, queue_put_aside, st, q, n);
}

int scitt_store_queue_take(scitt_store_t *st, uint64_t after, scitt_store_queued_t *out, size_t max, size_t *out_num)
{
    *out_num = 0;
    return SHARED(st->ops, queue_take, st, after, out, max, out_num);
}

int scitt_store_queue_drop(scitt_store_t *st, const uint8_t (*hashes)[32], size_t n)
{
    return n == 0 ? 0 : SHARED(st->ops, queue_drop, st, hashes, n);
}

int scitt_store_queue_has(scitt_store_read_t *rd, const uint8_t (*hashes)[32], size_t n, bool *out)
{
    return SHARED(rd->st->ops, queue_has, rd, hashes, n, out);
}

int scitt_store_wait_event(scitt_store_t *st, unsigned timeout_ms, unsigned *out_events, uint64_t *out_size)
{
    *out_events = 0;
    return SHARED(st->ops, wait_event, st, timeout_ms, out_events, out_size);
}

void scitt_store_wake(scitt_store_t *st)
{
    if (st->ops->wake != NULL) {
        st->ops->wake(st);
    }
}

int scitt_store_maintain(scitt_store_t *st)
{
    return st->ops->maintain(st);
}

bool scitt_store_local_reads(const scitt_store_t *st)
{
    return st->ops->local_reads;
}

void scitt_store_stats(scitt_store_t *st, scitt_store_stats_t *out)
{
    *out = (scitt_store_stats_t){.engine = st->ops->name};
    st->ops->stats(st, out);
}

void scitt_store_entry_hash(const scitt_store_t *st, uint8_t out[32], const uint8_t *stored, size_t len)
{
    st->entry_hash(out, stored, len);
}

int scitt_store_read_begin(scitt_store_t *st, scitt_store_read_t **out)
{
    *out = NULL; /* on failure too, so a caller may always scitt_store_read_end it */
    int rc = st->ops->read_begin(st, out);
    if (rc != 0) {
        *out = NULL;
    }
    return rc;
}

void scitt_store_read_end(scitt_store_read_t *rd)
{
    if (rd != NULL) {
        rd->st->ops->read_end(rd);
    }
}

int scitt_store_get_entries(scitt_store_read_t *rd, uint64_t first, size_t n, scitt_span_t *out)
{
    return rd->st->ops->get_entries(rd, first, n, out);
}

int scitt_store_get_tiles(scitt_store_read_t *rd, const scitt_store_tile_id_t *ids, size_t n,
                          scitt_store_tile_hashes_t *out)
{
    return rd->st->ops->get_tiles(rd, ids, n, out);
}

int scitt_store_find_entries(scitt_store_read_t *rd, const uint8_t (*hashes)[32], size_t n, uint64_t *out)
{
    return rd->st->ops->find_entries(rd, hashes, n, out);
}

int scitt_store_get_meta(scitt_store_read_t *rd, const char *key, scitt_span_t *out)
{
    return rd->st->ops->get_meta(rd, key, out);
}

int scitt_store_query(scitt_store_read_t *rd, const scitt_store_query_t *q, uint64_t *out, size_t max, size_t *out_num,
                      uint64_t *out_next)
{
    return rd->st->ops->query(rd, q, out, max, out_num, out_next);
}

int scitt_store_index_stats(scitt_store_read_t *rd, scitt_store_index_stats_t *out)
{
    return rd->st->ops->index_stats(rd, out);
}

int scitt_store_get_entry(scitt_store_read_t *rd, uint64_t index, scitt_span_t *out)
{
    return scitt_store_get_entries(rd, index, 1, out);
}

int scitt_store_get_tile(scitt_store_read_t *rd, unsigned level, uint64_t index, const uint8_t **out_hashes,
                         size_t *out_width)
{
    scitt_store_tile_id_t id = {level, index};
    scitt_store_tile_hashes_t t;
    int rc = scitt_store_get_tiles(rd, &id, 1, &t);
    if (rc == 0 && t.width == 0) {
        rc = SCITT_ENOTFOUND;
    }
    if (rc == 0) {
        *out_hashes = t.hashes;
        *out_width = t.width;
    }
    return rc;
}

int scitt_store_get_head(scitt_store_read_t *rd, uint64_t size, scitt_store_head_t *out)
{
    return rd->st->ops->get_head(rd, SCITT_STORE_HEAD_EXACT, size, out);
}

int scitt_store_get_latest_head(scitt_store_read_t *rd, scitt_store_head_t *out)
{
    return rd->st->ops->get_head(rd, SCITT_STORE_HEAD_LATEST, 0, out);
}

int scitt_store_get_head_from(scitt_store_read_t *rd, uint64_t size, scitt_store_head_t *out)
{
    return rd->st->ops->get_head(rd, SCITT_STORE_HEAD_FROM, size, out);
}

int scitt_store_get_entryidx(scitt_store_read_t *rd, const uint8_t entry_hash[32], uint64_t *out_index)
{
    int rc = scitt_store_find_entries(rd, (const uint8_t(*)[32])entry_hash, 1, out_index);
    return rc == 0 && *out_index == UINT64_MAX ? SCITT_ENOTFOUND : rc;
}

int scitt_store_get_entries_checked(scitt_store_read_t *rd, uint64_t first, size_t n, scitt_span_t *out,
                                    uint8_t (*out_hashes)[32])
{
    int rc = scitt_store_get_entries(rd, first, n, out);
    for (size_t i = 0; i < n && rc == 0;) {
        /* The level-0 tile committed with these entries holds their leaf
         * hashes; a leaf no tile covers yet is not compared. */
        uint64_t index = first + i;
        size_t in_tile = 256 - (size_t)(index & 0xff);
        size_t m = in_tile < n - i ? in_tile : n - i;
        scitt_store_tile_id_t id = {0, index >> 8};
        scitt_store_tile_hashes_t t;
        rc = scitt_store_get_tiles(rd, &id, 1, &t);
        if (rc != 0) {
            break;
        }
        for (size_t k = 0; k < m; k++) {
            scitt_store_entry_hash(rd->st, out_hashes[i + k], out[i + k].base, out[i + k].len);
        }
        /* The span's leaf hashes in one call (the multi-buffer kernels). */
        uint8_t leaves[256][32];
        scitt_sha256_leaves(leaves, (const uint8_t(*)[32])out_hashes[i], m);
        size_t slot = (size_t)(index & 0xff);
        for (size_t k = 0; k < m && rc == 0; k++) {
            if (slot + k < t.width && memcmp(leaves[k], t.hashes + 32 * (slot + k), 32) != 0) {
                rc = SCITT_EDAMAGED;
            }
        }
        i += m;
    }
    return rc;
}

int scitt_store_get_entry_checked(scitt_store_read_t *rd, uint64_t index, scitt_span_t *out, uint8_t out_hash[32])
{
    uint8_t h[1][32];
    int rc = scitt_store_get_entries_checked(rd, index, 1, out, h);
    if (rc == 0 && out_hash != NULL) {
        memcpy(out_hash, h[0], 32);
    }
    return rc;
}
