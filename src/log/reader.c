/*
 * reader.c: the log reader's life cycle, its head cache and the try_
 * answers from memory.
 *
 * Invariants:
 *  - The head cache only moves forward: scitt_log_advance replaces it only
 *    with a head of a larger tree size, so the checkpoint a reader serves
 *    never goes backwards, whoever calls advance and in whatever order.
 *  - The cache only holds what was committed: advance reads it from the
 *    store, and advance_to is given it by the writer once its commit
 *    returned. A reader nobody advances (a served mirror, whose store another
 *    process writes) caches no checkpoint and reads the store each time.
 *  - try_ answers never touch the store, so the io loop may call them.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int scitt_log_new(scitt_log_reader_t **out, const scitt_log_config_t *cfg)
{
    scitt_log_reader_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return SCITT_ENOMEM;
    }
    r->store = cfg->store;
    if (cfg->receipt_kid != NULL) {
        r->has_kid = true;
        memcpy(r->receipt_kid, cfg->receipt_kid, SCITT_SHA256_LEN);
    }
    pthread_mutex_init(&r->head_lock, NULL);
    scitt_buf_init(&r->checkpoint, NULL, 0);
    scitt_buf_init(&r->published, NULL, 0);
    atomic_init(&r->force_pool, false);
    r->origin = strdup(cfg->origin != NULL ? cfg->origin : SCITT_LOG_DEFAULT_ORIGIN);
    int rc = r->origin == NULL ? SCITT_ENOMEM : 0;
    if (rc == 0) {
        rc = scitt_merkle_tile_cache_new(&r->tile_cache, cfg->tile_cache_bytes != 0 ? cfg->tile_cache_bytes
                                                                                    : SCITT_LOG_DEFAULT_TILE_CACHE);
    }
    int recent_rc = scitt_log__recent_init(&r->recent, cfg->receipt_cache_bytes != 0 ? cfg->receipt_cache_bytes
                                                                                     : SCITT_LOG_DEFAULT_RECEIPT_CACHE);
    rc = rc != 0 ? rc : recent_rc;
    int pool_rc =
        scitt_log__pool_init(&r->pool, cfg->read_workers != 0 ? cfg->read_workers : SCITT_LOG_DEFAULT_READ_WORKERS);
    rc = rc != 0 ? rc : pool_rc;
    if (rc != 0) {
        scitt_log_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void scitt_log_free(scitt_log_reader_t *r)
{
    if (r == NULL) {
        return;
    }
    scitt_log__pool_cleanup(&r->pool);
    scitt_merkle_tile_cache_free(r->tile_cache);
    scitt_log__recent_cleanup(&r->recent);
    scitt_buf_cleanup(&r->checkpoint);
    scitt_buf_cleanup(&r->published);
    pthread_mutex_destroy(&r->head_lock);
    free(r->origin);
    free(r);
}

scitt_store_t *scitt_log_store(const scitt_log_reader_t *r)
{
    return r->store;
}

scitt_span_t scitt_log_origin(const scitt_log_reader_t *r)
{
    return scitt_span_str(r->origin);
}

bool scitt_log_local_reads(const scitt_log_reader_t *r)
{
    return !atomic_load_explicit(&r->force_pool, memory_order_relaxed) &&
           (r->store == NULL || scitt_store_local_reads(r->store));
}

void scitt_log__force_pool(scitt_log_reader_t *r, bool on)
{
    atomic_store_explicit(&r->force_pool, on, memory_order_relaxed);
}

/* ------------------------------------------------------------------------ */
/* The head cache                                                           */

/* set_head makes (size, checkpoint) the cached head if it is newer; the
 * checkpoint's bytes are taken (swapped into `*cp`) and the advance hooks
 * run. */
static void set_head(scitt_log_reader_t *r, uint64_t size, scitt_buf_t *cp)
{
    pthread_mutex_lock(&r->head_lock);
    bool moved = false;
    if (!r->head_known || size > r->head_size || r->checkpoint.len == 0) {
        scitt_buf_t old = r->checkpoint; /* swapped, then freed outside the lock */
        r->checkpoint = *cp;
        *cp = old;
        r->head_size = size;
        r->head_known = true;
        moved = true;
    }
    scitt_log__hook_t hooks[SCITT_LOG_MAX_ADVANCE_HOOKS];
    memcpy(hooks, r->on_advance, sizeof(hooks));
    pthread_mutex_unlock(&r->head_lock);
    for (size_t i = 0; moved && i < SCITT_LOG_MAX_ADVANCE_HOOKS; i++) {
        if (hooks[i].fn != NULL) {
            hooks[i].fn(hooks[i].ctx, size); /* outside the lock: a hook may read the head */
        }
    }
}

int scitt_log_advance_to(scitt_log_reader_t *r, uint64_t size, scitt_span_t checkpoint)
{
    scitt_buf_t cp;
    scitt_buf_init(&cp, NULL, 0);
    int rc = scitt_buf_append(&cp, checkpoint.base, checkpoint.len);
    if (rc == 0) {
        set_head(r, size, &cp);
    }
    scitt_buf_cleanup(&cp);
    return rc;
}

int scitt_log_advance(scitt_log_reader_t *r, uint64_t size)
{
    pthread_mutex_lock(&r->head_lock);
    bool have = r->head_known && r->head_size >= size;
    pthread_mutex_unlock(&r->head_lock);
    if (have) {
        return 0;
    }
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    scitt_buf_t cp;
    scitt_buf_init(&cp, NULL, 0);
    int rc = scitt_store_read_begin(r->store, &rd);
    if (rc != 0) {
        return rc;
    }
    rc = scitt_store_get_latest_head(rd, &head);
    if (rc == 0) {
        rc = scitt_buf_append(&cp, head.checkpoint.base, head.checkpoint.len);
    }
    scitt_store_read_end(rd);
    if (rc == 0) {
        set_head(r, head.size, &cp);
    } else if (rc == SCITT_ENOTFOUND && size == 0) {
        pthread_mutex_lock(&r->head_lock);
        r->head_known = true; /* an empty log: no checkpoint yet */
        pthread_mutex_unlock(&r->head_lock);
        rc = 0;
    }
    scitt_buf_cleanup(&cp);
    return rc;
}

int scitt_log_on_advance(scitt_log_reader_t *r, void (*fn)(void *ctx, uint64_t size), void *ctx)
{
    int rc = fn != NULL ? SCITT_EFULL : 0;
    pthread_mutex_lock(&r->head_lock);
    for (size_t i = 0; i < SCITT_LOG_MAX_ADVANCE_HOOKS; i++) {
        if (fn == NULL && r->on_advance[i].ctx == ctx) {
            r->on_advance[i].fn = NULL;
            r->on_advance[i].ctx = NULL;
        } else if (fn != NULL && rc != 0 && r->on_advance[i].fn == NULL) {
            r->on_advance[i].fn = fn;
            r->on_advance[i].ctx = ctx;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&r->head_lock);
    return rc;
}

void scitt_log_publishing(scitt_log_reader_t *r)
{
    pthread_mutex_lock(&r->head_lock);
    r->publishing = true;
    pthread_mutex_unlock(&r->head_lock);
}

int scitt_log_publish(scitt_log_reader_t *r, uint64_t size, scitt_span_t note)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    int rc = scitt_buf_append(&b, note.base, note.len);
    pthread_mutex_lock(&r->head_lock);
    if (rc == 0 && (r->published.len != 0 && size < r->published_size)) {
        rc = SCITT_ERANGE;
    }
    if (rc == 0) {
        scitt_buf_t old = r->published;
        r->published = b;
        r->published_size = size;
        b = old;
    }
    pthread_mutex_unlock(&r->head_lock);
    scitt_buf_cleanup(&b);
    return rc;
}

int scitt_log_head(scitt_log_reader_t *r, scitt_buf_t *out, uint64_t *out_size)
{
    pthread_mutex_lock(&r->head_lock);
    int rc = !r->head_known           ? SCITT_EAGAIN
             : r->checkpoint.len == 0 ? SCITT_ENOTFOUND
                                      : scitt_buf_append(out, r->checkpoint.base, r->checkpoint.len);
    if (rc == 0) {
        *out_size = r->head_size;
    }
    pthread_mutex_unlock(&r->head_lock);
    return rc;
}

int scitt_log_try_checkpoint(scitt_log_reader_t *r, scitt_buf_t *out, uint64_t *out_size)
{
    pthread_mutex_lock(&r->head_lock);
    if (r->publishing && r->published.len == 0 && r->head_known && r->checkpoint.len != 0) {
        /* Served once, never older: the head is published as it is until
         * the publisher's first round replaces it. */
        int rc = scitt_buf_append(&r->published, r->checkpoint.base, r->checkpoint.len);
        r->published_size = r->head_size;
        if (rc != 0) {
            pthread_mutex_unlock(&r->head_lock);
            return rc;
        }
    }
    const scitt_buf_t *cp = r->publishing && r->published.len != 0 ? &r->published : &r->checkpoint;
    int rc = !r->head_known ? SCITT_EAGAIN : cp->len == 0 ? SCITT_ENOTFOUND : scitt_buf_append(out, cp->base, cp->len);
    if (rc == 0 && out_size != NULL) {
        *out_size = cp == &r->published ? r->published_size : r->head_size;
    }
    pthread_mutex_unlock(&r->head_lock);
    return rc;
}

int scitt_log_checkpoint(scitt_log_reader_t *r, scitt_store_read_t *rd, scitt_buf_t *out)
{
    scitt_store_read_t *own = NULL;
    scitt_store_head_t head;
    if (rd == NULL) {
        int rc = scitt_store_read_begin(r->store, &own);
        if (rc != 0) {
            return rc;
        }
        rd = own;
    }
    int rc = scitt_store_get_latest_head(rd, &head);
    if (rc == 0) {
        rc = scitt_buf_append(out, head.checkpoint.base, head.checkpoint.len);
    }
    scitt_store_read_end(own);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Tiles from memory                                                        */

int scitt_log_try_tile(scitt_log_reader_t *r, unsigned level, uint64_t index, scitt_buf_t *out)
{
    pthread_mutex_lock(&r->head_lock);
    uint64_t size = r->head_known ? r->head_size : 0;
    pthread_mutex_unlock(&r->head_lock);
    /* Full within the cached head: level `level` holds size >> 8L hashes. */
    if (level >= SCITT_MERKLE_MAX_LEVELS || ((size >> (8 * level)) >> 8) <= index) {
        return SCITT_EAGAIN;
    }
    int rc = scitt_buf_reserve(out, 256 * 32);
    if (rc != 0) {
        return rc;
    }
    rc = scitt_merkle_tile_cache_copy(r->tile_cache, level, index, (uint8_t(*)[32])(out->base + out->len));
    if (rc != 0) {
        return SCITT_EAGAIN;
    }
    out->len += 256 * 32;
    return 0;
}

void scitt_log_keep_tile(scitt_log_reader_t *r, unsigned level, uint64_t index, const uint8_t hashes[256 * 32])
{
    scitt_merkle_tile_cache_add(r->tile_cache, level, index, hashes, 256);
}

void scitt_log_stats(scitt_log_reader_t *r, scitt_log_stats_t *out)
{
    scitt_merkle_tile_cache_stats_t tc;
    scitt_merkle_tile_cache_stats(r->tile_cache, &tc);
    out->tile_cache_bytes = tc.bytes;
    out->tile_cache_hits = tc.hits;
    out->tile_cache_misses = tc.misses;
    pthread_mutex_lock(&r->head_lock);
    out->head_size = r->head_size;
    pthread_mutex_unlock(&r->head_lock);
    pthread_mutex_lock(&r->pool.lock);
    out->pool_queued = r->pool.queued;
    pthread_mutex_unlock(&r->pool.lock);
}
