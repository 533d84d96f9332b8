/*
 * store.h: the log's durable state behind one interface (DESIGN.md section
 * 3): entries by leaf index, Merkle tiles, signed tree heads, meta values,
 * an exact entry index (entry hash -> leaf) and the audit indexes. Two
 * engines implement it (src/store/engine.h): LMDB in a data folder (the
 * default; src/store/lmdb.c describes its layout) and PostgreSQL.
 *
 * One writer (the sequencer) commits whole batches with scitt_store_commit(),
 * each atomically and durably, as a compare-and-swap on the log end; any
 * number of threads read through read handles, each a consistent snapshot
 * whose values are borrowed until scitt_store_read_end(). A failed commit
 * (a full disk gives SCITT_ENOSPC) leaves the last committed state intact.
 */
#ifndef SCITT_STORE_H
#define SCITT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "scitt/core.h"

#define SCITT_STORE_FORMAT "3"

typedef struct scitt_store scitt_store_t;
typedef struct scitt_store_read scitt_store_read_t;
struct scitt_store_tuning;

typedef struct scitt_store_config {
    const char *dir;           /* LMDB: the folder, created (0700) if missing */
    const char *database;      /* PostgreSQL: a libpq connection string or URI (then dir is unused) */
    unsigned database_wait_ms; /* PostgreSQL: retry an unreachable database this long at open (0: once) */
    /* entry_hash computes an entry's hash (the entry index key) from its stored
     * bytes; NULL means SHA-256 of them (scittd stores normalised
     * statements). A mirror, which stores transparent statements, passes
     * one that hashes the normalised form. */
    void (*entry_hash)(uint8_t out[32], const uint8_t *stored, size_t len);
    /* Engine knobs for tests and benchmarks (src/store/tuning.h), read at
     * open; NULL (production) means every default. */
    const struct scitt_store_tuning *tuning;
} scitt_store_config_t;

/* scitt_store_open opens or creates the store: the LMDB environment in
 * `cfg->dir` when `cfg->database` is NULL, else the PostgreSQL database
 * (SCITT_EINVAL when this scittd was built without PostgreSQL); it checks the
 * format version (SCITT_EFORMAT when it differs). `*out` is newly allocated.
 * `*out_err_desc` (static text) explains a failure. */
int scitt_store_open(scitt_store_t **out, const scitt_store_config_t *cfg, const char **out_err_desc);

/* scitt_store_close closes the store; no read handle may be open. */
void scitt_store_close(scitt_store_t *st);

/* A tile to write: `width` hashes (1..256) of tile (`level`, `index`). */
typedef struct scitt_store_tile {
    unsigned level;
    uint64_t index;
    size_t width;
    const uint8_t (*hashes)[32];
} scitt_store_tile_t;

/* A signed tree head as stored: the root at `size`, the commit time, the
 * receipt signature shared by every receipt of that size, and the signed
 * checkpoint note. Read from the store, the spans are borrowed. */
typedef struct scitt_store_head {
    uint64_t size;
    uint8_t root[32];
    int64_t time;
    scitt_span_t receipt_sig;
    scitt_span_t checkpoint;
    /* The kid (SCITT_SHA256_LEN bytes) of the receipt key that made
     * receipt_sig; empty for a head stored before key rotation (issue 21),
     * which the log's first receipt key (meta receipt_kid) signed. */
    scitt_span_t receipt_kid;
} scitt_store_head_t;

/* Secondary indexes (issue 10). An index record says "leaf `leaf` has
 * value V in field F"; the store keeps only a 64-bit key for (F, V), from
 * scitt_store_index_key, so a lookup finds candidates that the caller
 * confirms against the entry itself (a key shared by two values costs a
 * confirmation, never a wrong answer). Records travel with their batch and
 * are written in the batch's transaction; the batch's registration time is
 * indexed there too (head->time; times never go backwards). */
enum {
    SCITT_INDEX_ISS = 1,      /* CWT iss */
    SCITT_INDEX_KEY = 2,      /* kid, or x5chain leaf thumbprint */
    SCITT_INDEX_SUB = 3,      /* CWT sub */
    SCITT_INDEX_ARTIFACT = 4, /* artifact digest */
};

typedef struct scitt_store_index_rec {
    uint64_t key;  /* scitt_store_index_key(field, value) */
    uint64_t leaf; /* within the batch's range */
} scitt_store_index_rec_t;

/* scitt_store_index_key: the first 8 bytes (big-endian) of
 * SHA-256(field byte || value). */
uint64_t scitt_store_index_key(unsigned field, const uint8_t *value, size_t len);

/* The values of the indexed fields of one statement, or of one audit query;
 * an empty span is not indexed (a statement without it, a query without
 * that filter). */
typedef struct scitt_store_index_values {
    scitt_span_t iss, kid, sub, artifact;
} scitt_store_index_values_t;

#define SCITT_STORE_INDEX_FIELDS 4

/* scitt_store_index_keys writes the keys of the non-empty values of `v` to
 * `keys` (one per field, in field order) and returns how many: the keys a
 * registration indexes and the keys a query looks up are derived here
 * alone. */
size_t scitt_store_index_keys(const scitt_store_index_values_t *v, uint64_t keys[SCITT_STORE_INDEX_FIELDS]);

/* One batch, committed in one write transaction: entries first_index ..
 * first_index + num_entries - 1, the changed tiles and the new head. Each
 * entry hash must be the config's entry_hash of its entry (the entry index
 * key: the index is rebuilt from the entries by hashing them that way; a
 * mirror's store hashes the normalised form of the transparent statements
 * it keeps, so its lookups find the same EntryIDs as the log's), and a
 * level-0 tile's hashes must be its leaves' RFC 9162 leaf hashes,
 * SHA-256(0x00 || entry hash) (lookups confirm against them).
 * first_index is the fence of a compare-and-swap: it must equal the number
 * of entries stored (the log end), also for a head-only batch
 * (num_entries 0), and a head must lie in [latest stored head, first_index +
 * num_entries]; otherwise the commit writes nothing (SCITT_ECONFLICT). */
typedef struct scitt_store_batch {
    uint64_t first_index;
    size_t num_entries;
    const scitt_span_t *entries;
    const uint8_t (*entry_hashes)[32];
    const scitt_store_tile_t *tiles;
    size_t num_tiles;
    const scitt_store_head_t *head;
    const scitt_store_index_rec_t *index; /* any order; NULL when num_index is 0 */
    size_t num_index;
    /* Shared stores (issue 18, see "Several processes, one log" below):
     * the writer epoch of the sequencer lease this batch is committed
     * under (the commit is refused with SCITT_ECONFLICT once another
     * process took the lease over), and the entry hashes whose hand-off
     * queue rows this commit removes (every row the batch took, repeats
     * included). Both 0 / NULL on an engine that is not shared. */
    uint64_t epoch;
    const uint8_t (*dequeue)[32];
    size_t num_dequeue;
} scitt_store_batch_t;

/* scitt_store_commit writes `batch` and commits it durably, so when it
 * returns 0 its entries are found by scitt_store_get_entryidx. On
 * SCITT_ENOSPC, SCITT_EIO or any other failure nothing of the batch is
 * visible and the store stays usable. SCITT_ECONFLICT: the batch does not
 * extend the stored log (a gap, an overlap, or a head behind the stored
 * one: see scitt_store_batch_t); nothing was written. SCITT_EINVAL for a
 * batch of the wrong shape (a tile of width 0 or over 256, a head with an
 * empty checkpoint), SCITT_ETOOBIG for a receipt signature over 65535
 * bytes. One writer thread at a time. */
int scitt_store_commit(scitt_store_t *st, const scitt_store_batch_t *batch);

/* scitt_store_meta_put writes one meta value in its own transaction. */
int scitt_store_meta_put(scitt_store_t *st, const char *key, scitt_span_t value);

/* Reading. scitt_store_read_begin starts a read handle (one consistent
 * snapshot); every span it hands out is valid until scitt_store_read_end().
 * A handle is used by one thread at a time, begun and ended on the same
 * thread; a thread may hold several at once. On failure `*out` is NULL,
 * and scitt_store_read_end(NULL) does nothing. */
int scitt_store_read_begin(scitt_store_t *st, scitt_store_read_t **out);
void scitt_store_read_end(scitt_store_read_t *rd);

/* Each getter returns 0, SCITT_ENOTFOUND, or SCITT_ECORRUPT for a value of
 * the wrong shape. */
int scitt_store_get_entry(scitt_store_read_t *rd, uint64_t index, scitt_span_t *out);
int scitt_store_get_tile(scitt_store_read_t *rd, unsigned level, uint64_t index, const uint8_t **out_hashes,
                         size_t *out_width);
/* scitt_store_get_entry_checked is scitt_store_get_entry for bytes about
 * to be served: it hashes the entry (scitt_store_entry_hash, into
 * `out_hash` unless NULL) and compares the leaf hash with the one in its
 * level-0 tile, committed with it. SCITT_EDAMAGED when they differ (the
 * entry or the tile changed on disk); a leaf no tile covers yet is not
 * compared. */
int scitt_store_get_entry_checked(scitt_store_read_t *rd, uint64_t index, scitt_span_t *out, uint8_t out_hash[32]);
/* scitt_store_get_entries_checked is the same for entries first .. first +
 * n - 1 in one batched read (one tile read per level-0 tile they span),
 * with every entry's hash in `out_hashes` (n of them). A tile that cannot be
 * read fails the call. */
int scitt_store_get_entries_checked(scitt_store_read_t *rd, uint64_t first, size_t n, scitt_span_t *out,
                                    uint8_t (*out_hashes)[32]);
int scitt_store_get_head(scitt_store_read_t *rd, uint64_t size, scitt_store_head_t *out);
/* scitt_store_get_latest_head returns the head of the largest tree size;
 * SCITT_ENOTFOUND for an empty log. */
int scitt_store_get_latest_head(scitt_store_read_t *rd, scitt_store_head_t *out);
/* scitt_store_get_head_from returns the first head whose tree size is at
 * least `size`: for size = index + 1, the head of the batch that committed
 * leaf `index`, whose receipt for that leaf never changes. */
int scitt_store_get_head_from(scitt_store_read_t *rd, uint64_t size, scitt_store_head_t *out);
/* scitt_store_get_entryidx finds the leaf whose entry hash is `entry_hash`.
 * Exact: the index slot holds 64 bits of the hash, and every candidate is
 * confirmed in `rd`'s snapshot against all 32 bytes, through the leaf hash
 * in its level-0 tile (SHA-256(0x00 || entry hash)), or where no tile
 * covers it by hashing the stored entry, so hashes sharing a prefix, stale or torn slots
 * never give a false hit. Safe from any thread while the writer commits
 * (an rwlock: lookups share it; a batch insert and the swap to a grown
 * table take it exclusively, for microseconds). An entry is found once the
 * commit that wrote it returned (and in snapshots that include it).
 * Fails with the error that broke the index while it could not grow, until
 * scitt_store_maintain mends it. */
int scitt_store_get_entryidx(scitt_store_read_t *rd, const uint8_t entry_hash[32], uint64_t *out_index);
int scitt_store_get_meta(scitt_store_read_t *rd, const char *key, scitt_span_t *out);

/* An index query: the leaves, oldest first, that have every key in `keys`
 * (AND; none means every leaf) and were registered in [since, until)
 * (unix seconds; 0 means unbounded), starting at leaf `from`. */
typedef struct scitt_store_query {
    const uint64_t *keys;
    size_t num_keys; /* at most SCITT_STORE_QUERY_MAX_KEYS */
    int64_t since, until;
    uint64_t from;
} scitt_store_query_t;

#define SCITT_STORE_QUERY_MAX_KEYS 8

/* scitt_store_query finds up to `max` candidate leaves for `q` in `rd`'s
 * snapshot, ascending, into `out` (`*out_num` of them), in O(R log n +
 * examined) for R index runs. Candidates still need confirming against the
 * entry (64-bit keys). It examines a bounded number of records per call, so
 * a page may hold fewer than `max` leaves without the query being done:
 * `*out_next` is the leaf to resume from, or UINT64_MAX when nothing
 * matching remains. */
int scitt_store_query(scitt_store_read_t *rd, const scitt_store_query_t *q, uint64_t *out, size_t max, size_t *out_num,
                      uint64_t *out_next);

/* scitt_store_index_stats describes the index runs in `rd`'s snapshot
 * (tests, benchmarks, metrics). SCITT_ECORRUPT for a damaged run. */
typedef struct scitt_store_index_stats {
    size_t runs;        /* runs a query may visit */
    unsigned max_level; /* highest merge level */
    size_t final_runs;  /* runs never merged again */
} scitt_store_index_stats_t;
int scitt_store_index_stats(scitt_store_read_t *rd, scitt_store_index_stats_t *out);

/* Batched reads: one call (one round trip on PostgreSQL) for what a
 * caller needs together. scitt_store_get_entries reads entries first ..
 * first + n - 1 (SCITT_ENOTFOUND when one is absent).
 * scitt_store_get_tiles reads tiles ids[0..n-1]; an absent tile has width
 * 0. scitt_store_find_entries looks up n entry hashes (exact, as
 * scitt_store_get_entryidx); UINT64_MAX for each one absent. */
typedef struct scitt_store_tile_id {
    unsigned level;
    uint64_t index;
} scitt_store_tile_id_t;
typedef struct scitt_store_tile_hashes {
    const uint8_t *hashes; /* width x 32 bytes, borrowed */
    size_t width;
} scitt_store_tile_hashes_t;
int scitt_store_get_entries(scitt_store_read_t *rd, uint64_t first, size_t n, scitt_span_t *out);
int scitt_store_get_tiles(scitt_store_read_t *rd, const scitt_store_tile_id_t *ids, size_t n,
                          scitt_store_tile_hashes_t *out);
int scitt_store_find_entries(scitt_store_read_t *rd, const uint8_t (*hashes)[32], size_t n, uint64_t *out);

/* scitt_store_writer_acquire makes `st` the log's only writer or refuses
 * with SCITT_EBUSY, describing the holder in `why`. */
int scitt_store_writer_acquire(scitt_store_t *st, char *why, size_t cap);

/* ---- Several processes, one log (issue 18) ----
 *
 * A shared store (PostgreSQL) lets several scittd processes work on one
 * log; LMDB is one process per folder and answers SCITT_ENOTSUP to every
 * call of this section (scitt_store_shared() is false).
 *
 * The sequencer lease. One process at a time holds it and is the only one
 * that commits. Each takeover raises the writer epoch; a batch carries the
 * epoch it was built under and its commit is refused (SCITT_ECONFLICT,
 * nothing written) once another process took over, so a paused or cut-off
 * former holder can never commit again. Lease times run on the database's
 * clock, never the processes' clocks.
 *
 * The hand-off queue. Every process queues the statements it verified in
 * the database (durably, one transaction per call) before it acknowledges
 * them (201 or 202); the lease holder takes them in queue order, commits
 * them, and the same commit removes their queue rows (batch.dequeue), so a
 * statement is always in the queue or in the log, never in neither.
 *
 * Events. scitt_store_wait_event reports, without polling, that statements
 * were queued (by any process) or that the log grew (any process's commit,
 * this one's included). */
bool scitt_store_shared(const scitt_store_t *st);

typedef struct scitt_store_lease {
    bool held;        /* this handle holds the lease now */
    bool taken_over;  /* held, and this call took it (a new epoch: recover before committing) */
    uint64_t epoch;   /* the writer epoch while held */
    char holder[128]; /* the holder as recorded ("pid N on HOST"), when known */
} scitt_store_lease_t;

/* scitt_store_lease (the writer's thread, every lease_ms / 4 or so) takes
 * the lease when nobody holds it, or when its holder let it expire (then
 * the holder's database session is ended first, so its connection can
 * never commit again), or renews it for lease_ms when this handle holds
 * it. *out says what holds now. Errors: SCITT_EUNAVAIL (database
 * unreachable: treat the lease as lost), SCITT_ENOTSUP. A handle that
 * loses its writer connection loses the lease with it. */
int scitt_store_lease(scitt_store_t *st, unsigned lease_ms, scitt_store_lease_t *out);
/* scitt_store_lease_release gives the lease up at once (a clean stop), so
 * another process takes over without waiting for it to expire. */
int scitt_store_lease_release(scitt_store_t *st);

/* One statement in the hand-off queue: what the lease holder needs to log
 * it without verifying it again. */
typedef struct scitt_store_queued {
    uint8_t entry_hash[32];
    scitt_span_t stored; /* the normalised statement (the entry's bytes) */
    size_t num_keys;     /* its index keys (scitt_store_index_keys) */
    uint64_t keys[SCITT_STORE_INDEX_FIELDS];
    uint64_t seq; /* queue position, set by the store (increasing; take's cursor) */
} scitt_store_queued_t;

/* scitt_store_queue_put queues `n` statements durably in one transaction
 * (writer's thread). A statement already queued (same entry hash) stays
 * as it is (not an error); one already in the log is queued anyway (the
 * lease holder finds it and dequeues it). Wakes SCITT_STORE_EVENT_QUEUED
 * waiters in every process. SCITT_EINDOUBT: the transaction was sent and
 * its outcome lost with the connection, so the statements may be queued
 * (the caller reads the store to know; putting them again is harmless);
 * any other error: none of them was queued. */
int scitt_store_queue_put(scitt_store_t *st, const scitt_store_queued_t *q, size_t n);
/* scitt_store_queue_put_aside is scitt_store_queue_put on the calling
 * thread's own connection (any thread but the writer's, with none of its
 * read handles open): it does not wait for a commit in progress on the
 * writer's connection. Same answers. */
int scitt_store_queue_put_aside(scitt_store_t *st, const scitt_store_queued_t *q, size_t n);
/* scitt_store_queue_take reads up to `max` queued statements with seq >
 * `after`, in seq order, without removing them (writer's thread; the
 * commit removes them). Spans stay valid until the next queue_take or
 * commit on `st`. */
int scitt_store_queue_take(scitt_store_t *st, uint64_t after, scitt_store_queued_t *out, size_t max, size_t *out_num);
/* scitt_store_queue_drop removes queue rows without a commit (writer's
 * thread): statements found already logged, so no batch carries them. */
int scitt_store_queue_drop(scitt_store_t *st, const uint8_t (*hashes)[32], size_t n);
/* scitt_store_queue_has tells, in `rd`'s snapshot, which of `hashes` are
 * queued (out[i]); with find_entries on the same handle it answers GET
 * /entries/{id} on any process (queued: 204; logged: 200; else 404). */
int scitt_store_queue_has(scitt_store_read_t *rd, const uint8_t (*hashes)[32], size_t n, bool *out);

enum {
    SCITT_STORE_EVENT_QUEUED = 1u, /* statements were queued */
    SCITT_STORE_EVENT_GREW = 2u,   /* the log grew (*out_size: the largest log end announced) */
    SCITT_STORE_EVENT_LOST = 4u,   /* the event connection was lost and made again: events in between
                                    * may be lost, so check the store (queue and log end) afresh */
};
/* scitt_store_wait_event waits up to timeout_ms for events on its own
 * connection (one thread only, any thread but the writer's). 0 with
 * *out_events (0 on timeout, or after scitt_store_wake); SCITT_EUNAVAIL
 * when the database cannot be reached (the next call reconnects and
 * reports SCITT_STORE_EVENT_LOST). */
int scitt_store_wait_event(scitt_store_t *st, unsigned timeout_ms, unsigned *out_events, uint64_t *out_size);
/* scitt_store_wake makes a scitt_store_wait_event in progress (or the
 * next one) return at once; any thread. */
void scitt_store_wake(scitt_store_t *st);

/* scitt_store_maintain (the writer's thread, before each batch and about
 * once a second while idle) does the engine's repair work: it mends an
 * incomplete entry index (LMDB), reconnects and resolves a commit in doubt
 * (PostgreSQL). 0 when the store is ready for the next commit. */
int scitt_store_maintain(scitt_store_t *st);

/* scitt_store_local_reads: true when reads are memory accesses (LMDB), so
 * the io loop may read inline; false when each read is a round trip to a
 * server (PostgreSQL), so reads go to a worker pool. */
bool scitt_store_local_reads(const scitt_store_t *st);

/* Engine-neutral figures for /metrics. */
typedef struct scitt_store_stats {
    const char *engine; /* "lmdb" or "postgresql" */
    bool available;     /* the storage can be reached now */
    uint64_t bytes;     /* storage used (file or database size) */
    uint64_t commits, conflicts, reconnects;
    /* A shared store (issue 18): this handle holds the sequencer lease;
     * the writer epoch of the last lease it took; its lease takeovers;
     * the statements it queued. 0 on an engine that is not shared. */
    bool lease_held;
    uint64_t writer_epoch, lease_takeovers, queued;
} scitt_store_stats_t;
void scitt_store_stats(scitt_store_t *st, scitt_store_stats_t *out);

/* scitt_store_entry_hash hashes stored entry bytes as the store's
 * configuration says (see entry_hash). */
void scitt_store_entry_hash(const scitt_store_t *st, uint8_t out[32], const uint8_t *stored, size_t len);

#endif /* SCITT_STORE_H */
