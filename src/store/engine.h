/*
 * engine.h: the seam between the store's public interface
 * (include/scitt/store.h) and the engines behind it: LMDB (lmdb.c, the
 * embedded default) and PostgreSQL (pg.c, through libpq).
 *
 * store.c is the dispatcher: it owns scitt_store_t, checks what does not
 * depend on the engine (the batch's shape, the head codec, the level-0
 * check of an entry about to be served) and calls the engine through its
 * table of operations. An engine never sees another engine's types, and
 * nothing of an engine (map sizes, transactions, connections) shows
 * through store.h.
 *
 * Handles. scitt_store_t and scitt_store_read_t are defined here so an
 * engine can embed them: an engine's store handle starts with a
 * `scitt_store_t` and its read handle with a `scitt_store_read_t`, and
 * casts back (container_of style) in its operations.
 *
 * Threads. `commit`, `meta_put` and `maintain` come from one writer thread
 * at a time. Read handles may be begun on any thread and are used by one
 * thread at a time; a thread may hold several at once (nesting is the
 * engine's problem, never the caller's). A read handle sees one consistent
 * snapshot of the log, and every span or pointer a getter returns stays
 * valid until `read_end` on that handle.
 *
 * Errors: 0, or a SCITT_E* code. SCITT_ENOTFOUND for an absent value;
 * SCITT_ECORRUPT for a stored value of the wrong shape; SCITT_ECONFLICT when
 * a commit does not extend the stored log (nothing written);
 * SCITT_EUNAVAIL when the engine cannot reach its storage now (try later;
 * nothing written); SCITT_EINDOUBT when a commit's outcome is unknown
 * (`maintain` resolves it); SCITT_ENOSPC when storage is full.
 */
#ifndef SCITT_STORE_ENGINE_H
#define SCITT_STORE_ENGINE_H

#include "scitt/store.h"

typedef struct scitt_store_ops scitt_store_ops_t;

struct scitt_store {
    const scitt_store_ops_t *ops;
    void (*entry_hash)(uint8_t out[32], const uint8_t *stored, size_t len);
};

struct scitt_store_read {
    scitt_store_t *st;
};

/* How get_head picks a head. */
enum {
    SCITT_STORE_HEAD_EXACT,  /* the head of tree size `size` */
    SCITT_STORE_HEAD_LATEST, /* the head of the largest size (`size` ignored) */
    SCITT_STORE_HEAD_FROM,   /* the first head whose size is >= `size` */
};

struct scitt_store_ops {
    const char *name; /* "lmdb", "postgresql" */
    /* local_reads: a read costs memory accesses, not a round trip (LMDB's
     * map), so the io loop may read inline; otherwise reads go to a pool. */
    bool local_reads;

    /* open: a new engine handle for `cfg` (its embedded scitt_store_t is
     * filled by the dispatcher afterwards). `*why` (static text) explains a
     * failure. close: no read handle may be open. */
    int (*open)(scitt_store_t **out, const scitt_store_config_t *cfg, const char **why);
    void (*close)(scitt_store_t *st);

    /* writer_acquire makes this handle the log's only writer, or refuses
     * (SCITT_EBUSY, with the holder described in `why`). LMDB: the folder
     * lock taken by the caller already is that guarantee, so 0. */
    int (*writer_acquire)(scitt_store_t *st, char *why, size_t cap);

    /* commit writes one batch atomically and durably, after the dispatcher
     * checked its shape: the compare-and-swap on the log end happens inside
     * the engine's transaction (SCITT_ECONFLICT, nothing written). On
     * return 0 every entry is findable by find_entries. */
    int (*commit)(scitt_store_t *st, const scitt_store_batch_t *b);
    int (*meta_put)(scitt_store_t *st, const char *key, scitt_span_t value);
    /* maintain: the writer's idle work, called before each batch and about
     * once a second while idle (LMDB: mend the entry index; PostgreSQL:
     * reconnect, resolve a commit in doubt). 0 when the store is ready for
     * the next commit. */
    int (*maintain)(scitt_store_t *st);
    void (*stats)(scitt_store_t *st, scitt_store_stats_t *out);

    int (*read_begin)(scitt_store_t *st, scitt_store_read_t **out);
    void (*read_end)(scitt_store_read_t *rd);

    /* Batched reads (one round trip on a remote engine). get_entries: the
     * entries first .. first + n - 1, each or SCITT_ENOTFOUND for the first
     * one absent. get_tiles: out[i] for ids[i]; a tile absent gives width 0
     * (not an error). find_entries: the leaf of each entry hash, UINT64_MAX
     * when absent; exact (all 32 bytes compared). */
    int (*get_entries)(scitt_store_read_t *rd, uint64_t first, size_t n, scitt_span_t *out);
    int (*get_tiles)(scitt_store_read_t *rd, const scitt_store_tile_id_t *ids, size_t n,
                     scitt_store_tile_hashes_t *out);
    int (*find_entries)(scitt_store_read_t *rd, const uint8_t (*hashes)[32], size_t n, uint64_t *out);
    int (*get_head)(scitt_store_read_t *rd, int how, uint64_t size, scitt_store_head_t *out);
    int (*get_meta)(scitt_store_read_t *rd, const char *key, scitt_span_t *out);
    int (*query)(scitt_store_read_t *rd, const scitt_store_query_t *q, uint64_t *out, size_t max, size_t *out_num,
                 uint64_t *out_next);
    int (*index_stats)(scitt_store_read_t *rd, scitt_store_index_stats_t *out);

    /* A shared store (store.h, "Several processes, one log"); all NULL on
     * an engine that is not (the dispatcher answers SCITT_ENOTSUP). */
    int (*lease)(scitt_store_t *st, unsigned lease_ms, scitt_store_lease_t *out);
    int (*lease_release)(scitt_store_t *st);
    int (*queue_put)(scitt_store_t *st, const scitt_store_queued_t *q, size_t n);
    int (*queue_put_aside)(scitt_store_t *st, const scitt_store_queued_t *q, size_t n);
    int (*queue_take)(scitt_store_t *st, uint64_t after, scitt_store_queued_t *out, size_t max, size_t *out_num);
    int (*queue_drop)(scitt_store_t *st, const uint8_t (*hashes)[32], size_t n);
    int (*queue_has)(scitt_store_read_t *rd, const uint8_t (*hashes)[32], size_t n, bool *out);
    int (*wait_event)(scitt_store_t *st, unsigned timeout_ms, unsigned *out_events, uint64_t *out_size);
    void (*wake)(scitt_store_t *st);
};

extern const scitt_store_ops_t scitt_store__lmdb_ops;
#ifdef SCITT_HAVE_POSTGRESQL
extern const scitt_store_ops_t scitt_store__pg_ops;
#endif

/* The engine-neutral head codec (head.c), for engines that store a head as
 * one value: root (32) || time (i64 BE) || sig length (u16 BE) || sig ||
 * checkpoint. scitt_store__head_check refuses a head no engine may store
 * (sig longer than 65535 bytes, empty checkpoint). */
int scitt_store__head_check(const scitt_store_head_t *h);
size_t scitt_store__head_len(const scitt_store_head_t *h);
void scitt_store__head_put(uint8_t *out, const scitt_store_head_t *h);
int scitt_store__head_decode(uint64_t size, const uint8_t *v, size_t len, scitt_store_head_t *out);

#endif /* SCITT_STORE_ENGINE_H */
