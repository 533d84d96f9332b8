/*
 * log.h: the log reader (issue 17, "the read side leaves the writer"):
 * what serves a committed log, apart from the sequencer that writes it.
 * Used by the front end (every GET), the served mirror (`scitt mirror
 * --serve`, no receipt key), and the sequencer (its recovery, and its
 * answer thread, which builds each batch's receipts through the reader's
 * tile cache and keeps them in its recent-receipt ring).
 *
 * The reader owns what makes reads cheap:
 *  - the tile cache: full tiles' hashed interiors (scitt_merkle_tile_cache_t),
 *    shared by every prover of this log, so a receipt for an old leaf costs
 *    lookups, not ~1500 hashes;
 *  - the recent-receipt ring: the receipts of the latest leaves as the
 *    answer thread built them;
 *  - the head cache: the latest committed checkpoint, set by
 *    scitt_log_advance, which never goes backwards;
 *  - the reader pool: threads that run store reads for the io loop when
 *    the store's reads are round trips (scitt_store_local_reads false).
 *
 * Operations named try_ never block and never touch the store: they answer
 * from memory or return SCITT_EAGAIN, and the io loop then reads the store
 * inline (local reads) or queues a job on the pool.
 *
 * Threading: every function is thread-safe, between scitt_log_new and
 * scitt_log_free. The reader borrows the store, which must outlive it.
 */
#ifndef SCITT_LOG_H
#define SCITT_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "scitt/core.h"
#include "scitt/crypto.h"
#include "scitt/merkle.h"
#include "scitt/store.h"

typedef struct scitt_log_reader scitt_log_reader_t;

/* The default bound of the tile cache: 2048 full tiles, every tile of the
 * first 512k leaves or the upper levels and recent tiles of a much larger
 * log. */
#define SCITT_LOG_DEFAULT_TILE_CACHE ((size_t)32 << 20)
/* The default bound of the recent-receipt ring: about 80k receipts of a
 * log of a few million entries (~400 bytes each). */
#define SCITT_LOG_DEFAULT_RECEIPT_CACHE ((size_t)32 << 20)
/* The default number of reader pool threads. */
#define SCITT_LOG_DEFAULT_READ_WORKERS 4
/* The origin when the configuration names none. */
#define SCITT_LOG_DEFAULT_ORIGIN "localhost/scittd"

typedef struct scitt_log_config {
    scitt_store_t *store;
    const uint8_t *receipt_kid; /* SCITT_SHA256_LEN bytes, borrowed; NULL: no receipts (a mirror) */
    const char *origin;         /* receipt issuer; NULL means the default (copied) */
    size_t tile_cache_bytes;    /* 0 means the default; under one tile (16 KiB): none */
    size_t receipt_cache_bytes; /* 0 means the default; under 4 KiB: off */
    unsigned read_workers;      /* reader pool threads, started on first use; 0 means the default */
} scitt_log_config_t;

/* scitt_log_new makes a reader; `*out` is newly allocated. 0 or
 * SCITT_ENOMEM. (A reader without a store serves nothing: tests of a front
 * end that reads no log.) The head cache starts unknown:
 * scitt_log_try_checkpoint answers SCITT_EAGAIN until the log's writer
 * calls scitt_log_advance (a reader whose store another process writes,
 * such as a served mirror's, never caches a checkpoint). */
int scitt_log_new(scitt_log_reader_t **out, const scitt_log_config_t *cfg);
/* scitt_log_free waits for the pool's jobs to finish and frees the reader;
 * NULL is a no-op. Nothing may use the reader any more. */
void scitt_log_free(scitt_log_reader_t *r);

scitt_store_t *scitt_log_store(const scitt_log_reader_t *r);

/* scitt_log_local_reads tells whether the io loop may read the store
 * inline (scitt_store_local_reads, unless a test forced the pool). */
bool scitt_log_local_reads(const scitt_log_reader_t *r);
/* Tests: with `on`, scitt_log_local_reads answers false whatever the
 * engine, so the io loop sends every store read to the pool (as with
 * PostgreSQL). Call before serving. */
void scitt_log__force_pool(scitt_log_reader_t *r, bool on);

/* ------------------------------------------------------------------------ */
/* Checkpoints                                                              */

/* scitt_log_advance tells the reader that the log committed a head of tree
 * size `size` (or larger): it reads the latest head and caches its
 * checkpoint, unless the cache already holds one at least as large. Never
 * backwards: a smaller or equal size, or a store whose latest head is not
 * newer than the cached one, leaves the cache as it is. advance(0) on an
 * empty log records that there is no head yet. The writer calls it after
 * each commit (and once at start); it reads the store, so never on the io
 * loop. 0, or the store's error (the cache is then unchanged). */
int scitt_log_advance(scitt_log_reader_t *r, uint64_t size);
/* scitt_log_advance_to does the same without reading the store: the writer
 * gives the checkpoint of the head of tree size `size` it has just
 * committed (only once the commit returned 0). 0 or SCITT_ENOMEM. */
int scitt_log_advance_to(scitt_log_reader_t *r, uint64_t size, scitt_span_t checkpoint);

/* scitt_log_on_advance adds `fn`, called with the new tree size each time
 * scitt_log_advance or scitt_log_advance_to moves the cached checkpoint
 * forward, on the thread that called it, holding no lock of the reader.
 * It must not block: the publishers (src/publish, src/cosign) only wake
 * their own threads. At most SCITT_LOG_MAX_ADVANCE_HOOKS at once
 * (SCITT_EFULL). With `fn` NULL it removes the hook of context `ctx`. */
#define SCITT_LOG_MAX_ADVANCE_HOOKS 4
int scitt_log_on_advance(scitt_log_reader_t *r, void (*fn)(void *ctx, uint64_t size), void *ctx);

/* Publication (issue 21). By default /checkpoint serves the head cache,
 * the checkpoint of the latest commit. After scitt_log_publishing (called
 * once, before serving), scitt_log_try_checkpoint serves instead the
 * checkpoint last given to scitt_log_publish (a checkpoint publisher's,
 * with its witnesses' cosignatures), or, until there is one, the head it
 * first served, pinned as published: what is served never goes backwards,
 * and is always a committed head. scitt_log_publish replaces the published
 * note with `note` (copied) for tree size `size`, which must be at least
 * the published one (SCITT_ERANGE, nothing changes; an equal size is the
 * same checkpoint with other cosignatures). scitt_log_head copies the head
 * cache (what a publisher publishes next): 0 with `*out_size`,
 * SCITT_ENOTFOUND (an empty log) or SCITT_EAGAIN (nothing cached). */
void scitt_log_publishing(scitt_log_reader_t *r);
int scitt_log_publish(scitt_log_reader_t *r, uint64_t size, scitt_span_t note);
int scitt_log_head(scitt_log_reader_t *r, scitt_buf_t *out, uint64_t *out_size);

/* scitt_log_try_checkpoint appends the cached latest checkpoint to `out`
 * and sets `*out_size` (may be NULL) to its tree size. SCITT_ENOTFOUND:
 * the log is known to be empty; SCITT_EAGAIN: nothing cached (read it with
 * scitt_log_checkpoint). Never blocks. */
int scitt_log_try_checkpoint(scitt_log_reader_t *r, scitt_buf_t *out, uint64_t *out_size);

/* scitt_log_checkpoint appends the latest stored checkpoint, read in `rd`
 * (or a read handle of its own when NULL). SCITT_ENOTFOUND for an empty
 * log. Reads the store. */
int scitt_log_checkpoint(scitt_log_reader_t *r, scitt_store_read_t *rd, scitt_buf_t *out);

/* ------------------------------------------------------------------------ */
/* Tiles                                                                    */

/* scitt_log_try_tile appends the 256 hashes of full hash tile (level,
 * index) when the tile cache holds it and the cached checkpoint covers it;
 * SCITT_EAGAIN otherwise. Never blocks. */
int scitt_log_try_tile(scitt_log_reader_t *r, unsigned level, uint64_t index, scitt_buf_t *out);
/* scitt_log_keep_tile puts full hash tile (level, index), just read from
 * the store within a committed tree, in the tile cache, so that the next
 * scitt_log_try_tile of it answers from memory (a full tile never changes). */
void scitt_log_keep_tile(scitt_log_reader_t *r, unsigned level, uint64_t index, const uint8_t hashes[256 * 32]);

/* scitt_log_tile_reader adapts a read handle to the Merkle engine's tile
 * reader through the reader's tile cache (tiles stay valid until the
 * handle ends). scitt_log__tile_reader does the same with `cache` (NULL:
 * none), for recovery, which reads the store alone. */
scitt_tile_reader_t scitt_log_tile_reader(scitt_log_reader_t *r, scitt_store_read_t *rd);
scitt_tile_reader_t scitt_log__tile_reader(scitt_store_read_t *rd, scitt_merkle_tile_cache_t *cache);

/* ------------------------------------------------------------------------ */
/* Receipts                                                                 */

/* scitt_log_receipt appends the receipt of committed leaf `index` at the
 * head of the batch that committed it: byte for byte the receipt its
 * registration returned. From the recent-receipt ring, else rebuilt from
 * the store through the tile cache, in `rd` (the caller's handle, which
 * found the leaf) or, when `rd` is NULL, in a handle of its own.
 * SCITT_ENOTFOUND when the index is not committed (or the reader has no
 * receipt key); SCITT_ECORRUPT for damaged tiles; SCITT_ENOMEM. */
int scitt_log_receipt(scitt_log_reader_t *r, scitt_store_read_t *rd, uint64_t index, scitt_buf_t *out);

/* scitt_log_store_receipt rebuilds the receipt of leaf `index` from the
 * store alone (no cache), for service key id `kid` (SCITT_SHA256_LEN
 * bytes) and `origin` (NULL: the default), in `rd` or a handle of its own
 * when NULL: the same bytes and errors as scitt_log_receipt, for checks
 * and tests. */
int scitt_log_store_receipt(scitt_store_t *st, scitt_store_read_t *rd, const uint8_t *kid, const char *origin,
                            uint64_t index, scitt_buf_t *out);

/* scitt_log_entry_bundle appends the tlog-tiles entry bundle of leaves
 * first .. first + count - 1 (`first` a multiple of 256, count 1..256),
 * read in `rd` with one batched read of the statements and one of their
 * level-0 tile, each entry checked against that tile. SCITT_ECORRUPT when
 * an entry is missing or does not match. */
int scitt_log_entry_bundle(scitt_store_read_t *rd, uint64_t first, size_t count, scitt_buf_t *out);

/* scitt_log_transparent appends the transparent statement of committed
 * leaf `index`: its stored statement `stmt` (read in `rd`) with the
 * receipt scitt_log_receipt gives in unprotected header 394, as GET
 * /entries/{id}/statement serves it. */
int scitt_log_transparent(scitt_log_reader_t *r, scitt_store_read_t *rd, uint64_t index, scitt_span_t stmt,
                          scitt_buf_t *out);

/* scitt_log_try_receipt appends the receipt of leaf `index` when the
 * recent-receipt ring holds it; SCITT_EAGAIN otherwise. Never blocks. */
int scitt_log_try_receipt(scitt_log_reader_t *r, uint64_t index, scitt_buf_t *out);

/* scitt_log_try_entry_receipt appends the receipt of the committed leaf of
 * entry hash `entry` when the recent-receipt ring holds it; SCITT_EAGAIN
 * otherwise (look the entry up in the store). Never blocks. */
int scitt_log_try_entry_receipt(scitt_log_reader_t *r, const uint8_t entry[32], scitt_buf_t *out);

/* scitt_log_keep_receipt puts the receipt just built for new leaf `leaf`
 * of entry hash `entry` in the recent-receipt ring (the sequencer's answer
 * thread, in leaf order, once the leaf is committed). */
void scitt_log_keep_receipt(scitt_log_reader_t *r, uint64_t leaf, const uint8_t entry[32], scitt_span_t receipt);

/* scitt_log_origin is the receipt issuer (the configured origin). */
scitt_span_t scitt_log_origin(const scitt_log_reader_t *r);

/* scitt_log__receipt_at appends the receipt of committed leaf `index` built
 * from `rd`: the head of its batch, a prover at that size (through `cache`,
 * may be NULL), the stored signature. `batch`: read the proof path's tiles
 * in one scitt_store_get_tiles first (a store whose reads are round trips).
 * `prot` is scratch for the protected header. The kid in it is the one the
 * head records; `kid` (the log's first receipt key) for a head stored
 * without one. */
int scitt_log__receipt_at(scitt_store_read_t *rd, scitt_merkle_tile_cache_t *cache, bool batch, scitt_span_t kid,
                          scitt_span_t origin, uint64_t index, scitt_buf_t *prot, scitt_buf_t *out);

/* scitt_log__head_kid: the kid of the key that signed `head`'s receipt
 * signature: the one it records, else `first` (heads from before rotation). */
scitt_span_t scitt_log__head_kid(const scitt_store_head_t *head, scitt_span_t first);

/* scitt_log__put_receipt appends the receipt of `index` at the prover's
 * tree size under `prot` and `sig`. */
int scitt_log__put_receipt(scitt_buf_t *out, scitt_merkle_prover_t *prover, uint64_t size, scitt_span_t prot,
                           uint64_t index, scitt_span_t sig);

/* ------------------------------------------------------------------------ */
/* The reader pool                                                          */

/* A job for the pool, embedded in the caller's own struct. `run` runs on a
 * pool thread; `done` right after it on the same thread, or with `rc`
 * SCITT_ESHUTDOWN on the cancelling thread (see scitt_log_cancel). The job
 * belongs to the pool from submit until `done` is called. */
typedef struct scitt_log_job {
    struct scitt_log_job *next, *prev;
    void (*run)(struct scitt_log_job *j);
    void (*done)(struct scitt_log_job *j, int rc);
} scitt_log_job_t;

/* scitt_log_submit queues `j` (run and done set) for the pool, starting its
 * threads on first use. 0, or SCITT_ESHUTDOWN (the reader is being freed)
 * / a thread start error, and `j` was not queued. The pool queue itself is
 * not bounded: callers bound what they submit (the front end: 256 jobs). */
int scitt_log_submit(scitt_log_reader_t *r, scitt_log_job_t *j);

/* scitt_log_cancel takes back a job no pool thread has started: true, and
 * its `done` ran with SCITT_ESHUTDOWN before this returned; false when it
 * runs or ran (its `done` comes as usual). */
bool scitt_log_cancel(scitt_log_reader_t *r, scitt_log_job_t *j);

/* ------------------------------------------------------------------------ */
/* Gauges                                                                   */

typedef struct scitt_log_stats {
    size_t tile_cache_bytes;                     /* held by the tile cache */
    uint64_t tile_cache_hits, tile_cache_misses; /* its tile lookups */
    uint64_t head_size;                          /* of the cached checkpoint (0: none) */
    size_t pool_queued;                          /* jobs waiting for a pool thread */
} scitt_log_stats_t;
void scitt_log_stats(scitt_log_reader_t *r, scitt_log_stats_t *out);

#endif /* SCITT_LOG_H */
