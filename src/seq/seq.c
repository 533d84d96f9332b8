/*
 * seq.c: the pipeline's life cycle: start (origin check, recovery, threads),
 * stop (drain and join), free, and the gauges.
 *
 * Invariants:
 *  - The origin is part of the log's identity: meta records it on the first
 *    start of an empty log, and every later start must name the same one.
 *  - scitt_seq_start either returns a running pipeline or leaves nothing
 *    running and nothing allocated.
 *  - scitt_seq_stop is idempotent; after it returns every submission has
 *    been answered and no pipeline thread runs.
 */
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "scitt/cond.h"

/* check_origin compares the configured origin with the one meta records;
 * `*out_record` says an empty log has none yet (recorded once the start
 * succeeds, so a refused start leaves meta alone). */
static int check_origin(scitt_seq_t *seq, bool *out_record, const char **why)
{
    scitt_store_read_t *rd;
    scitt_span_t v;
    scitt_store_head_t head;
    *out_record = false;
    int rc = scitt_store_read_begin(seq->store, &rd);
    if (rc != 0) {
        *why = "cannot read the store";
        return rc;
    }
    rc = scitt_store_get_meta(rd, SCITT_SEQ__META_ORIGIN, &v);
    if (rc == 0 && !scitt_span_eq(v, scitt_span_str(seq->origin))) {
        *why = "the origin differs from the one this log was created with (meta origin); "
               "a log's origin is part of its identity and cannot change";
        rc = SCITT_EINVAL;
    } else if (rc == SCITT_ENOTFOUND) {
        rc = scitt_store_get_latest_head(rd, &head);
        if (rc == 0) {
            *why = "the log has tree heads but its meta records no origin";
            rc = SCITT_ECORRUPT;
        } else if (rc == SCITT_ENOTFOUND) {
            *out_record = true;
            rc = 0;
        }
    } else if (rc != 0) {
        *why = "cannot read the origin in the store's meta";
    }
    scitt_store_read_end(rd);
    return rc;
}

/* release frees a pipeline whose threads are not running. */
static void release(scitt_seq_t *seq)
{
    scitt_seq__shared_free(seq);
    scitt_seq__sequencer_free(seq->sequencer);
    scitt_seq__pendset_cleanup(&seq->pendset);
    pthread_mutex_destroy(&seq->vq_lock);
    pthread_cond_destroy(&seq->vq_cond);
    pthread_mutex_destroy(&seq->sq_lock);
    pthread_cond_destroy(&seq->sq_cond);
    free(seq->pool_threads);
    free(seq->origin);
    if (seq->own_log) {
        scitt_log_free(seq->log);
    }
    free(seq);
}

int scitt_seq_start(scitt_seq_t **out, const scitt_seq_config_t *cfg, const char **out_err_desc)
{
    static const char *unused;
    const char **why = out_err_desc != NULL ? out_err_desc : &unused;
    *why = NULL;
    if (cfg->store == NULL || cfg->keys == NULL || cfg->keys->receipt_key == NULL ||
        cfg->keys->checkpoint_key == NULL) {
        *why = "the sequencer needs a store and the service keys";
        return SCITT_EINVAL;
    }
    scitt_seq_t *seq = calloc(1, sizeof(*seq));
    if (seq == NULL) {
        return SCITT_ENOMEM;
    }
    seq->store = cfg->store;
    seq->keys = cfg->keys;
    seq->policy = cfg->policy;
    seq->origin = strdup(cfg->origin != NULL ? cfg->origin : SCITT_SEQ__DEFAULT_ORIGIN);
    seq->max_pending = cfg->max_pending != 0 ? cfg->max_pending : SCITT_SEQ__DEFAULT_MAX_PENDING;
    seq->bench_no_index = cfg->bench_no_index;
    seq->guard = cfg->guard;
    seq->guard_ctx = cfg->guard_ctx;
    seq->max_pending_bytes = cfg->max_pending_bytes != 0 ? cfg->max_pending_bytes : (size_t)64 << 20;
    seq->batch_max = cfg->batch_max != 0 ? cfg->batch_max : SCITT_SEQ__DEFAULT_BATCH_MAX;
    if (seq->batch_max > seq->max_pending) {
        seq->batch_max = seq->max_pending; /* a batch never holds more than is pending */
    }
    if (seq->batch_max > UINT32_MAX / 4) {
        seq->batch_max = UINT32_MAX / 4;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    seq->workers = cfg->policy == NULL ? 0 : cfg->workers != 0 ? cfg->workers : ncpu > 0 ? (unsigned)ncpu : 1;
    pthread_mutex_init(&seq->vq_lock, NULL);
    pthread_cond_init(&seq->vq_cond, NULL);
    pthread_mutex_init(&seq->sq_lock, NULL);
    seq->sq_wake_at = 1;
    seq->linger_ns = cfg->commit_linger_us == SCITT_SEQ_LINGER_OFF ? 0
                     : cfg->commit_linger_us != 0                  ? cfg->commit_linger_us * 1000
                                                                   : SCITT_SEQ_DEFAULT_LINGER_US * 1000;
    scitt_cond_init(&seq->sq_cond); /* linger waits on it with a deadline */
    int rc = seq->origin == NULL ? SCITT_ENOMEM : scitt_seq__pendset_init(&seq->pendset, seq->max_pending);
    seq->log = cfg->log;
    if (rc == 0 && seq->log == NULL) {
        scitt_log_config_t lcfg = {.store = seq->store,
                                   .receipt_kid = cfg->keys->first_receipt_kid,
                                   .origin = seq->origin,
                                   .tile_cache_bytes = cfg->tile_cache_bytes,
                                   .receipt_cache_bytes = cfg->receipt_cache_bytes};
        rc = scitt_log_new(&seq->log, &lcfg);
        seq->own_log = rc == 0;
    }
    if (rc == 0) {
        seq->pool_threads = calloc(seq->workers != 0 ? seq->workers : 1, sizeof(*seq->pool_threads));
        rc = seq->pool_threads == NULL ? SCITT_ENOMEM : 0;
    }
    bool record_origin = false;
    if (rc == 0) {
        rc = check_origin(seq, &record_origin, why);
    }
    if (rc == 0) {
        rc = scitt_seq__sequencer_new(seq, why);
    }
    seq->shared = scitt_store_shared(seq->store);
    seq->lease_ms = cfg->lease_ms != 0 ? cfg->lease_ms : SCITT_SEQ_DEFAULT_LEASE_MS;
    seq->rescue_ms = cfg->direct_rescue_ms != 0 ? cfg->direct_rescue_ms : 1000;
    if (rc == 0 && seq->shared) {
        rc = scitt_seq__shared_new(seq);
        *why = rc == 0 ? NULL : "cannot start the shared store's event thread";
    }
    if (rc == 0) {
        rc = scitt_log_advance(seq->log, atomic_load_explicit(&seq->tree_size, memory_order_relaxed));
        *why = rc == 0 ? NULL : "cannot read the latest checkpoint";
    }
    if (rc == 0 && record_origin) {
        rc = scitt_store_meta_put(seq->store, SCITT_SEQ__META_ORIGIN, scitt_span_str(seq->origin));
        *why = rc == 0 ? NULL : "cannot record the origin in the store's meta";
    }
    if (rc != 0) {
        release(seq);
        return rc;
    }
    seq->workers_alive = seq->workers;
    rc = -pthread_create(&seq->seq_thread, NULL, seq->shared ? scitt_seq__shared_main : scitt_seq__sequencer_main, seq);
    seq->seq_thread_started = rc == 0;
    for (unsigned i = 0; rc == 0 && i < seq->workers; i++) {
        rc = -pthread_create(&seq->pool_threads[i], NULL, scitt_seq__pool_main, seq);
        if (rc == 0) {
            seq->num_pool_threads++;
        }
    }
    if (rc != 0) {
        pthread_mutex_lock(&seq->sq_lock);
        seq->workers_alive -= seq->workers - seq->num_pool_threads;
        pthread_mutex_unlock(&seq->sq_lock);
        *why = "cannot start the pipeline threads";
        scitt_seq_stop(seq);
        release(seq);
        return rc;
    }
    *out = seq;
    return 0;
}

void scitt_seq_stop(scitt_seq_t *seq)
{
    if (seq == NULL || seq->stopped) {
        return;
    }
    pthread_mutex_lock(&seq->vq_lock);
    seq->stopping = true;
    pthread_cond_broadcast(&seq->vq_cond);
    pthread_mutex_unlock(&seq->vq_lock);
    pthread_mutex_lock(&seq->sq_lock);
    seq->sq_closed = true;
    seq->hold = false;
    pthread_cond_broadcast(&seq->sq_cond);
    pthread_mutex_unlock(&seq->sq_lock);
    for (unsigned i = 0; i < seq->num_pool_threads; i++) {
        pthread_join(seq->pool_threads[i], NULL);
    }
    if (seq->seq_thread_started) {
        pthread_join(seq->seq_thread, NULL);
    }
    seq->stopped = true;
}

void scitt_seq_free(scitt_seq_t *seq)
{
    if (seq != NULL) {
        scitt_seq_stop(seq);
        release(seq);
    }
}

void scitt_seq__hold(scitt_seq_t *seq, bool hold)
{
    pthread_mutex_lock(&seq->sq_lock);
    seq->hold = hold && !seq->sq_closed;
    pthread_cond_broadcast(&seq->sq_cond);
    pthread_mutex_unlock(&seq->sq_lock);
}

void scitt_seq_stats(scitt_seq_t *seq, scitt_seq_stats_t *out)
{
    scitt_log_stats_t ls;
    scitt_log_stats(seq->log, &ls);
    out->tile_cache_bytes = ls.tile_cache_bytes;
    out->tile_cache_hits = ls.tile_cache_hits;
    out->tile_cache_misses = ls.tile_cache_misses;
    scitt_x5chain_cache_stats_t cs = {0};
    if (seq->policy != NULL) {
        scitt_policy_x5chain_cache_stats(seq->policy, &cs);
    }
    out->x5chain_cache_hits = cs.hits;
    out->x5chain_cache_misses = cs.misses;
    out->tree_size = atomic_load_explicit(&seq->tree_size, memory_order_relaxed);
    out->pending = atomic_load_explicit(&seq->pending, memory_order_relaxed);
    out->batches = atomic_load_explicit(&seq->batches, memory_order_relaxed);
    out->last_batch_size = atomic_load_explicit(&seq->last_batch_size, memory_order_relaxed);
    out->last_commit_seconds = (double)atomic_load_explicit(&seq->last_commit_ns, memory_order_relaxed) * 1e-9;
    for (size_t i = 0; i < SCITT_SEQ_FAIL_NUM; i++) {
        out->commit_failures[i] = atomic_load_explicit(&seq->commit_failures[i], memory_order_relaxed);
    }
    out->in_doubt_committed = atomic_load_explicit(&seq->in_doubt_committed, memory_order_relaxed);
    out->in_doubt_rolled_back = atomic_load_explicit(&seq->in_doubt_rolled_back, memory_order_relaxed);
    out->in_doubt_given_up = atomic_load_explicit(&seq->in_doubt_given_up, memory_order_relaxed);
    out->in_doubt = atomic_load_explicit(&seq->in_doubt, memory_order_relaxed);
    out->shared = seq->shared;
    out->sequencer = atomic_load_explicit(&seq->is_sequencer, memory_order_relaxed);
    out->writer_epoch = atomic_load_explicit(&seq->writer_epoch, memory_order_relaxed);
    out->lease_takeovers = atomic_load_explicit(&seq->lease_takeovers, memory_order_relaxed);
    out->queue_puts = atomic_load_explicit(&seq->queue_puts, memory_order_relaxed);
    out->handoff_depth = atomic_load_explicit(&seq->handoff_depth, memory_order_relaxed);
    out->direct_commits = atomic_load_explicit(&seq->direct_commits, memory_order_relaxed);
}

void scitt_seq_set_keys(scitt_seq_t *seq, const scitt_seq_keys_t *keys)
{
    atomic_store(&seq->keys, keys);
}

scitt_log_reader_t *scitt_seq_log(scitt_seq_t *seq)
{
    return seq->log;
}
