/*
 * internal.h: what the files of src/log share, and the internals the
 * tests reach (the recent-receipt ring).
 */
#ifndef SCITT_SRC_LOG_INTERNAL_H
#define SCITT_SRC_LOG_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "scitt/log.h"

/* The receipts of the most recent leaves (recent.c), as the answer thread
 * built them: a window of consecutive leaves in a ring of bytes. */
typedef struct scitt_log__recent_slot {
    size_t off, len;   /* the receipt */
    size_t owned;      /* bytes it holds in the ring: len, plus the end of the
                        * ring skipped after it when the next one wrapped */
    uint8_t entry[32]; /* the leaf's entry hash, when has_entry */
    bool has_entry;
} scitt_log__recent_slot_t;

typedef struct scitt_log__recent {
    pthread_mutex_t lock;
    uint8_t *bytes;
    size_t cap; /* bytes in the ring */
    scitt_log__recent_slot_t *slots;
    size_t num_slots;     /* 0: off */
    uint64_t first, next; /* the leaves held */
    size_t head, used;    /* where the next receipt goes; bytes held */
    /* Entry hash -> leaf for the held leaves that have one: open
     * addressing, linear probing, a cell holds leaf + 1 (0: empty). */
    uint64_t *cells;
    size_t cells_mask;
} scitt_log__recent_t;

/* scitt_log__recent_init sizes the cache to about `bytes` (under 4 KiB:
 * off). recent_put keeps the receipt of `leaf` and, with `entry` (or NULL),
 * which entry hash it is for (called in leaf order by one thread, once the
 * leaf is committed); recent_get appends a held receipt to `out`, and
 * recent_find the receipt of the held leaf of entry hash `entry` (its leaf
 * in `*out_leaf`), SCITT_ENOTFOUND when it is not held. All thread-safe. */
int scitt_log__recent_init(scitt_log__recent_t *r, size_t bytes);
void scitt_log__recent_cleanup(scitt_log__recent_t *r);
void scitt_log__recent_put(scitt_log__recent_t *r, uint64_t leaf, const uint8_t *entry, scitt_span_t receipt);
int scitt_log__recent_get(scitt_log__recent_t *r, uint64_t leaf, scitt_buf_t *out);
int scitt_log__recent_find(scitt_log__recent_t *r, const uint8_t entry[32], uint64_t *out_leaf, scitt_buf_t *out);

/* The reader pool (pool.c): K threads started on first submit, one FIFO. */
typedef struct scitt_log__pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    scitt_log_job_t *head, *tail; /* queued, oldest first */
    size_t queued;
    pthread_t *threads;
    unsigned num_threads, want_threads;
    bool stopping;
} scitt_log__pool_t;

int scitt_log__pool_init(scitt_log__pool_t *p, unsigned threads);
/* scitt_log__pool_cleanup lets the threads finish what is queued, joins
 * them and frees the pool. */
void scitt_log__pool_cleanup(scitt_log__pool_t *p);

/* A function scitt_log_on_advance set. */
typedef struct scitt_log__hook {
    void (*fn)(void *ctx, uint64_t size);
    void *ctx;
} scitt_log__hook_t;

struct scitt_log_reader {
    scitt_store_t *store;
    bool has_kid;
    uint8_t receipt_kid[SCITT_SHA256_LEN];
    char *origin;
    scitt_merkle_tile_cache_t *tile_cache;
    scitt_log__recent_t recent;
    scitt_log__pool_t pool;
    atomic_bool force_pool; /* tests: the loop sends every read to the pool */

    /* The head cache: the latest checkpoint scitt_log_advance saw. */
    pthread_mutex_t head_lock;
    bool head_known; /* advance ran: `head_size` 0 with no checkpoint is an empty log */
    uint64_t head_size;
    scitt_buf_t checkpoint;
    scitt_log__hook_t on_advance[SCITT_LOG_MAX_ADVANCE_HOOKS]; /* under head_lock */

    /* Publication (scitt_log_publishing): what /checkpoint serves. */
    bool publishing;
    uint64_t published_size;
    scitt_buf_t published; /* len 0: nothing published yet */
};

#endif /* SCITT_SRC_LOG_INTERNAL_H */
