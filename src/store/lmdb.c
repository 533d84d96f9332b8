/*
 * lmdb.c: the LMDB engine behind the store's interface (engine.h,
 * scitt_store__lmdb_ops): the log's durable state in one LMDB environment
 * in the data folder (DESIGN.md section 3), plus the entry index in a file
 * beside it.
 *
 *   entries  leaf index (u64 BE)          -> normalised statement bytes
 *   tiles    level (u8) || index (u64 BE) -> up to 256 x 32-byte hashes
 *   heads    tree size (u64 BE)           -> signed tree head (head.c's codec)
 *   meta     text key                     -> value ("format", "origin", key ids,
 *                                            "dedup_id")
 *   index    first leaf (u64 BE)          -> a run of index records: 16-byte
 *                                            header (level, flags, count, end
 *                                            leaf), then count x (key u64 BE,
 *                                            leaf u64 BE) sorted (index.c)
 *   times    time (u64 BE) || first leaf  -> empty: one per batch
 *   <dir>/dedup.idx  entry hash -> leaf index (entryidx.h)
 *
 * Format "3" (issue 10) added `index` and `times`, written in each batch's
 * transaction; format "2" stores (no indexes) are refused (SCITT_EFORMAT,
 * with a reason) rather than indexed after the fact.
 *
 * Format "2": the entry index moved out of LMDB (format "1" had a `dedup`
 * sub-database written in every commit: one random B-tree page per entry,
 * which capped commits at ~90k entries/s with fsync). It is derived data: a
 * commit inserts a batch's entry hashes only after its LMDB commit returned
 * success, a syncer thread makes it durable now and then, and open
 * re-inserts what a crash lost (or rebuilds the whole table when it is
 * missing, damaged or foreign) by hashing the stored entries. Format "1"
 * stores are refused (SCITT_EFORMAT, with a reason).
 *
 * A commit that finds the map full grows it and retries; a disk that is
 * full gives SCITT_ENOSPC and leaves the last committed state intact
 * (LMDB's copy-on-write B-trees).
 *
 * Invariants:
 *  - The sequencer is the only writer; scitt_store_commit writes one batch
 *    in one transaction, so a batch is either wholly visible or not at all.
 *    Inside it, check_extends compares the batch's first_index with the log
 *    end first (a compare-and-swap): a gap or an overlap writes nothing.
 *  - Growing the map (mdb_env_set_mapsize) is only allowed while no
 *    transaction is open in this process. Readers therefore hold `grow_lock`
 *    shared for the life of their read transaction, re-entrant per thread
 *    (hold_grow_lock): a thread that holds it already takes it no second
 *    time, so read handles nest without ever waiting behind a growth that
 *    waits for their own thread. A growth that waits for
 *    them stalls every new reader (the lock prefers the writer), GETs on the
 *    io loop included, for as long as the longest reader runs (an audit
 *    page, the answer thread's batch of receipts). So the map grows ahead
 *    of need and never waits: it starts large (DEFAULT_MAP_SIZE, 256 GiB
 *    of address space only: the file grows with its pages), and a commit
 *    that leaves it more than half used doubles it at once if no reader is
 *    in (trywrlock), else tries again after the next commit. Only a commit
 *    that finds the map full anyway (MDB_MAP_FULL: a small configured map
 *    that never found a gap) waits for the readers: it aborts, takes the
 *    lock, doubles the map and replays the batch.
 *  - Ended read transactions are reset, not freed, and kept in a small
 *    pool (`spare`) for the next read_begin to renew: that skips LMDB's
 *    reader-table mutex and two allocations per GET (MDB_NOTLS lets any
 *    thread renew them). A growing map aborts them first.
 *  - Errors from LMDB are mapped once, in from_mdb(); a failed commit leaves
 *    the previous committed state, because LMDB never overwrites live pages.
 *  - The entry index (entryidx.c) is written only after a commit returned
 *    success, and at open it is brought up to the last entry before the
 *    store is handed out, so it never lacks a committed entry a caller could
 *    ask about and never holds an uncommitted one (a lookup that would see
 *    one anyway, e.g. after LMDB lost commits under nosync, fails to
 *    confirm against the stored entry and misses). When an insert fails
 *    (the index could not grow), the index refuses lookups until
 *    repair_entryidx (the engine's `maintain`), tried with every later commit
 *    and by the sequencer before each batch and every second while idle, has inserted
 *    from the log every entry committed since.
 */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "engine.h"
#include "entryidx.h"
#include "index.h"
#include "lmdbfile.h"
#include "tuning.h"
#include "scitt/crypto.h"
#include "scitt/sha256.h"
#include "scitt/store.h"

enum { DB_ENTRIES, DB_TILES, DB_HEADS, DB_META, DB_INDEX, DB_TIMES, NUM_DBS };
static const char *const db_names[NUM_DBS] = {"entries", "tiles", "heads", "meta", "index", "times"};

#define META_ENTRYIDX_ID "dedup_id"

#define DEFAULT_MAP_SIZE ((size_t)1 << 38)
#define SPARE_READS      16 /* reset read transactions kept for reuse */

typedef struct lmdb_read lmdb_read_t;

typedef struct lmdb {
    scitt_store_t base; /* first: the dispatcher's handle (engine.h) */
    char *dir;
    MDB_env *env;
    MDB_dbi dbi[NUM_DBS];
    pthread_rwlock_t grow_lock;
    pthread_mutex_t spare_lock;
    lmdb_read_t *spare[SPARE_READS];
    size_t num_spare;
    size_t map_size;
    size_t map_size_max;
    bool grow_when_full; /* benchmarks: no growth ahead of need */
    uint64_t grew_ahead, grew_full;
    scitt_entryidx_t *entryidx;
    scitt_store__index_writer_t index; /* the writer's, like every write */
    uint64_t commits, conflicts;       /* written by the writer, read by stats (relaxed atomics) */
} lmdb_t;

struct lmdb_read {
    scitt_store_read_t base; /* first: base.st is the lmdb_t's base */
    MDB_txn *txn;
};

/* eng: the engine handle behind a read handle. */
static lmdb_t *eng(const lmdb_read_t *rd)
{
    return (lmdb_t *)rd->base.st;
}

static int from_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return SCITT_ENOTFOUND;
    case MDB_MAP_FULL:
        return SCITT_ENOSPC;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return SCITT_ECORRUPT;
    case MDB_VERSION_MISMATCH:
        return SCITT_EFORMAT;
    case MDB_KEYEXIST:
        return SCITT_EINVAL; /* an index or entry hash written twice: a caller bug */
    case SCITT_ECONFLICT:
        return SCITT_ECONFLICT; /* check_extends: the batch does not extend the stored log */
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:
        return SCITT_EAGAIN; /* transient: the request may be retried */
    case MDB_TXN_FULL:
    case MDB_BAD_VALSIZE:
        return SCITT_ETOOBIG;
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
        return SCITT_ENOSPC;
    default:
        return rc > 0 ? -rc : SCITT_EIO; /* errno values pass through */
    }
}

static MDB_val val(const void *p, size_t n)
{
    MDB_val v = {n, (void *)p};
    return v;
}

/* check_format checks (or, in a new store, records) the format version and
 * reads the entry index's id (recorded with the format). */
static int check_format(lmdb_t *st, uint8_t entryidx_id[SCITT_ENTRYIDX_ID_LEN], const char **why)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0) {
        return from_mdb(rc);
    }
    MDB_val k = val("format", 6), v, ik = val(META_ENTRYIDX_ID, strlen(META_ENTRYIDX_ID)), iv;
    rc = mdb_get(txn, st->dbi[DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        if (getrandom(entryidx_id, SCITT_ENTRYIDX_ID_LEN, 0) != SCITT_ENTRYIDX_ID_LEN) {
            mdb_txn_abort(txn);
            *why = "cannot draw the entry index id";
            return SCITT_EIO;
        }
        v = val(SCITT_STORE_FORMAT, strlen(SCITT_STORE_FORMAT));
        iv = val(entryidx_id, SCITT_ENTRYIDX_ID_LEN);
        rc = mdb_put(txn, st->dbi[DB_META], &k, &v, 0);
        if (rc == 0) {
            rc = mdb_put(txn, st->dbi[DB_META], &ik, &iv, 0);
        }
        if (rc == 0) {
            return from_mdb(mdb_txn_commit(txn));
        }
    } else if (rc == 0 && scitt_span_eq(scitt_span(v.mv_data, v.mv_size), scitt_span_str("1"))) {
        *why = "the data folder holds a format 1 store (dedup keys in LMDB), which this scittd no longer "
               "reads; register into a new data folder";
        rc = -1;
    } else if (rc == 0 && scitt_span_eq(scitt_span(v.mv_data, v.mv_size), scitt_span_str("2"))) {
        *why = "the data folder holds a format 2 store (no secondary indexes), which this scittd no longer "
               "reads; register into a new data folder";
        rc = -1;
    } else if (rc == 0 && !scitt_span_eq(scitt_span(v.mv_data, v.mv_size), scitt_span_str(SCITT_STORE_FORMAT))) {
        *why = "the data folder was written by an incompatible scittd (format version differs)";
        rc = -1;
    } else if (rc == 0) {
        rc = mdb_get(txn, st->dbi[DB_META], &ik, &iv);
        if (rc == 0 && iv.mv_size == SCITT_ENTRYIDX_ID_LEN) {
            memcpy(entryidx_id, iv.mv_data, SCITT_ENTRYIDX_ID_LEN);
        } else if (rc == 0 || rc == MDB_NOTFOUND) {
            *why = "the store's meta has no valid entry index id";
            rc = -2;
        }
    }
    mdb_txn_abort(txn);
    return rc == -1 ? SCITT_EFORMAT : rc == -2 ? SCITT_ECORRUPT : from_mdb(rc);
}

/* log_count: the number of entries, from the last key of the cursor `cur`
 * on `entries`. */
static int log_count(MDB_cursor *cur, uint64_t *out)
{
    MDB_val k, v;
    int rc = from_mdb(mdb_cursor_get(cur, &k, &v, MDB_LAST));
    *out = 0;
    if (rc == SCITT_ENOTFOUND) {
        return 0;
    }
    if (rc == 0 && k.mv_size != 8) {
        return SCITT_ECORRUPT;
    }
    if (rc == 0) {
        *out = scitt_load_be64(k.mv_data) + 1;
    }
    return rc;
}

/* index_from_log inserts the log's entries [from, count) into the entry
 * index, hashed again from `entries` through the cursor `cur`. */
static int index_from_log(lmdb_t *st, MDB_cursor *cur, uint64_t from, uint64_t count, const char **why)
{
    enum { CHUNK = 4096 };
    MDB_val k, v;
    uint8_t(*hashes)[32] = NULL;
    int rc = 0;
    if (from < count) {
        hashes = malloc(CHUNK * 32);
        rc = hashes == NULL ? SCITT_ENOMEM : 0;
    }
    uint8_t key[8];
    scitt_store_be64(key, from);
    k = val(key, 8);
    MDB_cursor_op op = MDB_SET_RANGE;
    for (uint64_t next = from; rc == 0 && next < count;) {
        size_t n = 0;
        uint64_t first = next;
        while (rc == 0 && n < CHUNK && next < count) {
            rc = from_mdb(mdb_cursor_get(cur, &k, &v, op));
            op = MDB_NEXT;
            if (rc != 0 || k.mv_size != 8 || scitt_load_be64(k.mv_data) != next) {
                *why = "an entry is missing from the log (entries are not contiguous)";
                rc = SCITT_ECORRUPT;
                break;
            }
            scitt_store_entry_hash(&st->base, hashes[n++], v.mv_data, v.mv_size);
            next++;
        }
        if (rc == 0) {
            rc = scitt_entryidx_insert(st->entryidx, first, (const uint8_t(*)[32])hashes, n);
        }
    }
    free(hashes);
    return rc;
}

/* entries_cursor opens a read-only transaction and a cursor on `entries`. */
static int entries_cursor(lmdb_t *st, MDB_txn **txn, MDB_cursor **cur)
{
    int rc = from_mdb(mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn));
    if (rc == 0) {
        rc = from_mdb(mdb_cursor_open(*txn, st->dbi[DB_ENTRIES], cur));
        if (rc != 0) {
            mdb_txn_abort(*txn);
        }
    }
    return rc;
}

/* open_entryidx maps the entry index and brings it up to the log's end:
 * entries [from, count) are hashed again from `entries` and inserted. */
static int open_entryidx(lmdb_t *st, const uint8_t id[SCITT_ENTRYIDX_ID_LEN], bool nosync, const char **why)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = entries_cursor(st, &txn, &cur);
    if (rc != 0) {
        return rc;
    }
    uint64_t count, from = 0;
    rc = log_count(cur, &count);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", st->dir, SCITT_ENTRYIDX_FILE);
    const char *rebuild_why = NULL;
    if (rc == 0) {
        rc = scitt_entryidx_open(&st->entryidx, path, id, count, nosync, &from, &rebuild_why);
        if (rc != 0) {
            *why = rebuild_why;
        } else if (from < count) {
            /* After a crash (or with no usable table): the slow path, logged. */
            fprintf(stderr, "scittd: store: entry index %s%s%s: inserting entries %llu..%llu from the log\n", path,
                    rebuild_why != NULL ? ": " : "", rebuild_why != NULL ? rebuild_why : "", (unsigned long long)from,
                    (unsigned long long)count - 1);
        }
    }
    if (rc == 0) {
        rc = index_from_log(st, cur, from, count, why);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc == 0) {
        rc = scitt_entryidx_start(st->entryidx);
    }
    if (rc != 0 && *why == NULL) {
        *why = "cannot bring the entry index up to date";
    }
    return rc;
}

/* drop_spares aborts the pooled read transactions (no reader may be
 * starting: the map is about to change or the environment to close). */
static void drop_spares(lmdb_t *st)
{
    pthread_mutex_lock(&st->spare_lock);
    while (st->num_spare > 0) {
        lmdb_read_t *rd = st->spare[--st->num_spare];
        mdb_txn_abort(rd->txn);
        free(rd);
    }
    pthread_mutex_unlock(&st->spare_lock);
}

/* key_cmp orders keys exactly as LMDB's default does (bytewise, then the
 * shorter first), so files stay readable by any LMDB tool; it compares 8
 * bytes at a time. Our keys are big-endian numbers (8 or 9 bytes) and a GET
 * makes a few dozen comparisons, where the call into memcmp cost more than
 * the comparing. */
static int key_cmp(const MDB_val *a, const MDB_val *b)
{
    const uint8_t *x = a->mv_data, *y = b->mv_data;
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t u = scitt_load_be64(x + i), v = scitt_load_be64(y + i);
        if (u != v) {
            return u < v ? -1 : 1;
        }
    }
    for (; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return a->mv_size < b->mv_size ? -1 : a->mv_size > b->mv_size;
}

/* check_file: 0 when data.mdb holds every page LMDB may read through the
 * map (a page past the end of a truncated file would be SIGBUS on first
 * touch, not an error), MDB_CORRUPTED when it lacks one. The file may be
 * shorter than the meta page's last page when the pages it lacks are free
 * (lmdbfile.c says why); lmdbfile.c reads it with pread, under a read
 * transaction so that another process committing meanwhile cannot reuse
 * and overwrite the pages it reads. */
static int check_file(const lmdb_t *st)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/data.mdb", st->dir);
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        rc = scitt_store__lmdbfile_complete(path) ? 0 : MDB_CORRUPTED;
        mdb_txn_abort(txn);
    }
    return rc;
}

/* default_map_size: DEFAULT_MAP_SIZE, within the growth limit and within
 * a quarter of the address space limit if the process has one. */
static size_t default_map_size(size_t max)
{
    size_t n = DEFAULT_MAP_SIZE < max ? DEFAULT_MAP_SIZE : max;
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && n > lim.rlim_cur / 4) {
        n = lim.rlim_cur / 4;
    }
    return n > ((size_t)1 << 20) ? n : (size_t)1 << 20;
}

static int lmdb_open(scitt_store_t **out, const scitt_store_config_t *cfg, const char **why)
{
    if (cfg->dir == NULL) {
        *why = "no data folder given";
        return SCITT_EINVAL;
    }
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        *why = "cannot create the data folder";
        return -errno;
    }
    lmdb_t *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return SCITT_ENOMEM;
    }
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&st->grow_lock, &attr);
    pthread_mutex_init(&st->spare_lock, NULL);
    pthread_rwlockattr_destroy(&attr);
    st->dir = strdup(cfg->dir);
    if (st->dir == NULL) {
        pthread_mutex_destroy(&st->spare_lock);
        pthread_rwlock_destroy(&st->grow_lock);
        free(st);
        return SCITT_ENOMEM;
    }
    static const struct scitt_store_tuning defaults;
    const struct scitt_store_tuning *tu = cfg->tuning != NULL ? cfg->tuning : &defaults;
    st->map_size_max = tu->map_size_max != 0 ? tu->map_size_max : SIZE_MAX;
    st->map_size = tu->map_size != 0 ? tu->map_size : default_map_size(st->map_size_max);
    st->grow_when_full = tu->grow_when_full;
    st->base.entry_hash = cfg->entry_hash; /* open_entryidx hashes entries (the dispatcher fills the rest) */
    scitt_store__index_writer_init(&st->index, tu->index_fanout, tu->index_run_max);

    int rc = mdb_env_create(&st->env);
    if (rc != 0) {
        goto fail;
    }
    mdb_env_set_maxdbs(st->env, NUM_DBS);
    mdb_env_set_maxreaders(st->env, 512);
    rc = mdb_env_set_mapsize(st->env, st->map_size);
    if (rc == 0) {
        rc = mdb_env_open(st->env, cfg->dir, MDB_NOTLS | (tu->nosync ? MDB_NOSYNC : 0), 0600);
    }
    if (rc != 0) {
        *why = rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ? "the data folder does not hold an LMDB environment"
                                                               : "cannot open the LMDB environment";
        goto fail_env;
    }
    /* An existing environment may be larger than asked: adopt its size. */
    MDB_envinfo info;
    mdb_env_info(st->env, &info);
    st->map_size = info.me_mapsize;
    rc = check_file(st);
    if (rc != 0) {
        *why = rc == MDB_CORRUPTED ? "data.mdb lacks pages its LMDB meta page says are in use (the file was "
                                     "truncated or copied incompletely); restore the data folder from a backup"
                                   : "cannot open the LMDB environment";
        goto fail_env;
    }

    MDB_txn *txn;
    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    for (int i = 0; rc == 0 && i < NUM_DBS; i++) {
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &st->dbi[i]);
        if (rc == 0) {
            rc = mdb_set_compare(txn, st->dbi[i], key_cmp);
        }
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        *why = "cannot open the sub-databases";
        goto fail_env;
    }
    uint8_t entryidx_id[SCITT_ENTRYIDX_ID_LEN];
    rc = check_format(st, entryidx_id, why);
    if (rc == 0) {
        rc = open_entryidx(st, entryidx_id, tu->nosync, why);
    }
    if (rc != 0) {
        scitt_entryidx_close(st->entryidx);
        drop_spares(st);
        mdb_env_close(st->env);
        pthread_mutex_destroy(&st->spare_lock);
        pthread_rwlock_destroy(&st->grow_lock);
        scitt_store__index_writer_cleanup(&st->index);
        free(st->dir);
        free(st);
        return rc;
    }
    *out = &st->base;
    return 0;
fail_env:
    drop_spares(st);
    mdb_env_close(st->env);
fail:
    pthread_mutex_destroy(&st->spare_lock);
    pthread_rwlock_destroy(&st->grow_lock);
    scitt_store__index_writer_cleanup(&st->index);
    free(st->dir);
    free(st);
    return from_mdb(rc);
}

static void lmdb_close(scitt_store_t *base)
{
    lmdb_t *st = (lmdb_t *)base;
    if (st != NULL) {
        drop_spares(st);
        pthread_mutex_destroy(&st->spare_lock);
        scitt_entryidx_close(st->entryidx);
        mdb_env_close(st->env);
        pthread_rwlock_destroy(&st->grow_lock);
        scitt_store__index_writer_cleanup(&st->index);
        free(st->dir);
        free(st);
    }
}

static void tile_key(uint8_t key[9], unsigned level, uint64_t index)
{
    key[0] = (uint8_t)level;
    scitt_store_be64(key + 1, index);
}

static scitt_store__index_dbs_t index_dbs(const lmdb_t *st)
{
    scitt_store__index_dbs_t d = {st->dbi[DB_ENTRIES], st->dbi[DB_INDEX], st->dbi[DB_TIMES]};
    return d;
}

/* check_extends is the commit's compare-and-swap, inside its write txn:
 * the batch must start at the log end (the entries stored: MDB_APPEND
 * alone would accept a gap), and its head, if any, must lie within the new
 * log end and not below the latest stored head. SCITT_ECONFLICT otherwise:
 * the caller aborts and nothing is written. */
static int check_extends(lmdb_t *st, MDB_txn *txn, const scitt_store_batch_t *b)
{
    uint64_t end[2]; /* the last key + 1 of `entries` (the log end), of `heads`; 0 when empty */
    for (int i = 0; i < 2; i++) {
        MDB_cursor *cur;
        MDB_val k, v;
        int rc = mdb_cursor_open(txn, st->dbi[i == 0 ? DB_ENTRIES : DB_HEADS], &cur);
        if (rc != 0) {
            return rc;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        mdb_cursor_close(cur);
        if (rc == 0 && k.mv_size != 8) {
            return MDB_CORRUPTED;
        }
        if (rc != 0 && rc != MDB_NOTFOUND) {
            return rc;
        }
        end[i] = rc == 0 ? scitt_load_be64(k.mv_data) + 1 : 0;
    }
    if (b->first_index != end[0]) {
        return SCITT_ECONFLICT;
    }
    if (b->head != NULL && (b->head->size > end[0] + b->num_entries || b->head->size + 1 < end[1])) {
        return SCITT_ECONFLICT;
    }
    return 0;
}

static int put_batch(lmdb_t *st, MDB_txn *txn, const scitt_store_batch_t *b)
{
    scitt_store__index_dbs_t dbs = index_dbs(st);
    int rc = check_extends(st, txn, b);
    for (size_t i = 0; rc == 0 && i < b->num_entries; i++) {
        uint8_t key[8];
        scitt_store_be64(key, b->first_index + i);
        MDB_val k = val(key, 8), v = val(b->entries[i].base, b->entries[i].len);
        rc = mdb_put(txn, st->dbi[DB_ENTRIES], &k, &v, MDB_APPEND);
    }
    for (size_t i = 0; rc == 0 && i < b->num_tiles; i++) {
        const scitt_store_tile_t *t = &b->tiles[i];
        uint8_t key[9];
        tile_key(key, t->level, t->index);
        MDB_val k = val(key, 9), v = val(t->hashes, t->width * 32);
        rc = mdb_put(txn, st->dbi[DB_TILES], &k, &v, 0);
    }
    if (rc == 0 && b->head != NULL) {
        const scitt_store_head_t *h = b->head;
        uint8_t key[8];
        scitt_store_be64(key, h->size);
        MDB_val k = val(key, 8), v = val(NULL, scitt_store__head_len(h));
        rc = mdb_put(txn, st->dbi[DB_HEADS], &k, &v, MDB_RESERVE);
        if (rc == 0) {
            scitt_store__head_put(v.mv_data, h);
        }
    }
    if (rc == 0) {
        rc = scitt_store__index_put(&st->index, txn, &dbs, b);
    }
    return rc;
}

/* grow doubles the map (bounded by map_size_max) with every reader out:
 * when it is full (`wait`) after waiting for them, ahead of need only if
 * none is in (else nothing happens: the next commit tries again). */
static int grow(lmdb_t *st, bool wait)
{
    if (st->map_size >= st->map_size_max) {
        return wait ? MDB_MAP_FULL : 0;
    }
    size_t next = st->map_size > st->map_size_max / 2 ? st->map_size_max : st->map_size * 2;
    if (wait) {
        pthread_rwlock_wrlock(&st->grow_lock);
    } else if (pthread_rwlock_trywrlock(&st->grow_lock) != 0) {
        return 0;
    }
    drop_spares(st);
    int rc = mdb_env_set_mapsize(st->env, next);
    if (rc == 0) {
        MDB_envinfo info;
        mdb_env_info(st->env, &info);
        st->map_size = info.me_mapsize;
        *(wait ? &st->grew_full : &st->grew_ahead) += 1;
    }
    pthread_rwlock_unlock(&st->grow_lock);
    return rc;
}

/* map_used: the bytes of the map the environment's pages reach. */
static size_t map_used(lmdb_t *st)
{
    MDB_envinfo info;
    MDB_stat stat;
    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &stat);
    return (info.me_last_pgno + 1) * (size_t)stat.ms_psize;
}

/* grow_ahead (after a commit): a map more than half used grows now, if no
 * reader is in the way. */
static void grow_ahead(lmdb_t *st)
{
    if (!st->grow_when_full && map_used(st) > st->map_size / 2) {
        (void)grow(st, false);
    }
}

void scitt_store__lmdb_map_stats(scitt_store_t *base, scitt_store__lmdb_map_stats_t *out)
{
    lmdb_t *st = (lmdb_t *)base;
    out->size = st->map_size;
    out->used = map_used(st);
    out->grew_ahead = st->grew_ahead;
    out->grew_full = st->grew_full;
}

/* LMDB reports a failed page write as EIO even when the cause is a full
 * disk (a short write has no errno). When a commit fails that way, look at
 * the file system and the process's file size limit to name the cause. */
static int explain_eio(lmdb_t *st)
{
    struct statvfs vfs;
    if (statvfs(st->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < 4u << 20) {
        return SCITT_ENOSPC;
    }
    char path[4096];
    struct stat sb;
    struct rlimit lim;
    snprintf(path, sizeof(path), "%s/data.mdb", st->dir);
    if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && stat(path, &sb) == 0 &&
        (uint64_t)sb.st_size + (4u << 20) > lim.rlim_cur) {
        return SCITT_ENOSPC;
    }
    return SCITT_EIO;
}

/* write_txn runs `fill` in a write transaction and commits, growing the map
 * and replaying while LMDB reports it full. */
static int write_txn(lmdb_t *st, int (*fill)(lmdb_t *, MDB_txn *, const void *), const void *arg)
{
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
        if (rc != 0) {
            return from_mdb(rc);
        }
        rc = fill(st, txn, arg);
        if (rc == 0) {
            rc = mdb_txn_commit(txn); /* frees txn whatever the outcome */
        } else {
            mdb_txn_abort(txn);
        }
        if (rc == EIO) {
            return explain_eio(st);
        }
        if (rc == 0) {
            grow_ahead(st);
        }
        if (rc != MDB_MAP_FULL) {
            return from_mdb(rc);
        }
        rc = grow(st, true);
        if (rc != 0) {
            return from_mdb(rc);
        }
    }
}

static int fill_batch(lmdb_t *st, MDB_txn *txn, const void *arg)
{
    return put_batch(st, txn, arg);
}

/* repair_entryidx mends an entry index that a failed insert after a commit
 * left incomplete (it could not grow, e.g. the disk was full): it inserts
 * every entry committed since, from the log, and lookups work again. 0 when
 * the index is whole (at once when it was); otherwise lookups keep failing
 * and the writer tries again later (the engine's `maintain`, and every
 * commit). */
static int repair_entryidx(lmdb_t *st)
{
    uint64_t from, count;
    if (!scitt_entryidx_broken(st->entryidx, &from)) {
        return 0;
    }
    if (scitt_entryidx_damaged(st->entryidx)) {
        /* A damaged slot stopped a growth: re-inserting would meet it again
         * (and copy the whole table each try); only the rebuild at the next
         * start mends it, so no retry. */
        return SCITT_ECORRUPT;
    }
    /* The writer's thread: no growth of the map can come while this runs. */
    MDB_txn *txn;
    MDB_cursor *cur;
    const char *why = NULL;
    int rc = entries_cursor(st, &txn, &cur);
    if (rc != 0) {
        return rc;
    }
    rc = log_count(cur, &count);
    if (rc == 0) {
        rc = index_from_log(st, cur, from, count, &why);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc == 0) {
        scitt_entryidx_mended(st->entryidx);
    }
    return rc;
}

static int lmdb_maintain(scitt_store_t *st)
{
    return repair_entryidx((lmdb_t *)st);
}

static int lmdb_commit(scitt_store_t *base, const scitt_store_batch_t *batch)
{
    lmdb_t *st = (lmdb_t *)base;
    int rc = write_txn(st, fill_batch, batch);
    if (rc == 0 || rc == SCITT_ECONFLICT) {
        __atomic_add_fetch(rc == 0 ? &st->commits : &st->conflicts, 1, __ATOMIC_RELAXED);
    }
    if (rc == 0 && batch->num_entries > 0) {
        /* Only now, with the entries durable: index them. A failure here
         * leaves the batch committed and the index broken: it refuses
         * lookups (never answers wrongly) until a repair, tried again with
         * every commit, has inserted every entry it missed. */
        uint64_t indexed;
        if (scitt_entryidx_broken(st->entryidx, &indexed)) {
            (void)repair_entryidx(st); /* up to the log's end: this batch too */
        } else {
            (void)scitt_entryidx_insert(st->entryidx, batch->first_index, batch->entry_hashes, batch->num_entries);
        }
    }
    return rc;
}

scitt_entryidx_t *scitt_store__entryidx(struct scitt_store *st)
{
    return ((lmdb_t *)st)->entryidx;
}

typedef struct {
    const char *key;
    scitt_span_t value;
} meta_kv_t;

static int fill_meta(lmdb_t *st, MDB_txn *txn, const void *arg)
{
    const meta_kv_t *kv = arg;
    MDB_val k = val(kv->key, strlen(kv->key)), v = val(kv->value.base, kv->value.len);
    return mdb_put(txn, st->dbi[DB_META], &k, &v, 0);
}

static int lmdb_meta_put(scitt_store_t *st, const char *key, scitt_span_t value)
{
    meta_kv_t kv = {key, value};
    return write_txn((lmdb_t *)st, fill_meta, &kv);
}

/* The grow locks this thread holds shared, with its read handles on each
 * store: the lock is taken by the first handle and released by the last,
 * so a nested read_begin never waits (a pending growth, preferred by the
 * lock, would wait for this very thread). A thread with handles on more
 * stores than slots takes the lock per handle (never seen: a thread reads
 * one or two stores). */
enum { HELD_SLOTS = 4 };
static _Thread_local struct {
    const lmdb_t *st;
    unsigned depth;
} held[HELD_SLOTS];

/* held_slot: this thread's slot for `st` (claiming a free one when `claim`),
 * or NULL. */
static unsigned *held_slot(const lmdb_t *st, bool claim)
{
    for (int i = 0; i < HELD_SLOTS; i++) {
        if (held[i].depth > 0 && held[i].st == st) {
            return &held[i].depth;
        }
    }
    for (int i = 0; claim && i < HELD_SLOTS; i++) {
        if (held[i].depth == 0) {
            held[i].st = st;
            return &held[i].depth;
        }
    }
    return NULL;
}

static void hold_grow_lock(lmdb_t *st)
{
    unsigned *depth = held_slot(st, true);
    if (depth == NULL || *depth == 0) {
        pthread_rwlock_rdlock(&st->grow_lock);
    }
    if (depth != NULL) {
        (*depth)++;
    }
}

static void release_grow_lock(lmdb_t *st)
{
    unsigned *depth = held_slot(st, false);
    if (depth == NULL || --*depth == 0) {
        pthread_rwlock_unlock(&st->grow_lock);
    }
}

static int lmdb_read_begin(scitt_store_t *base, scitt_store_read_t **out)
{
    lmdb_t *st = (lmdb_t *)base;
    hold_grow_lock(st);
    pthread_mutex_lock(&st->spare_lock);
    lmdb_read_t *rd = st->num_spare > 0 ? st->spare[--st->num_spare] : NULL;
    pthread_mutex_unlock(&st->spare_lock);
    if (rd != NULL && mdb_txn_renew(rd->txn) != 0) {
        mdb_txn_abort(rd->txn);
        free(rd);
        rd = NULL;
    }
    if (rd == NULL) {
        rd = malloc(sizeof(*rd));
        int rc = rd == NULL ? ENOMEM : mdb_txn_begin(st->env, NULL, MDB_RDONLY, &rd->txn);
        if (rc != 0) {
            release_grow_lock(st);
            free(rd);
            return from_mdb(rc);
        }
        rd->base.st = base;
    }
    *out = &rd->base;
    return 0;
}

static void lmdb_read_end(scitt_store_read_t *handle)
{
    lmdb_read_t *rd = (lmdb_read_t *)handle;
    lmdb_t *st = eng(rd);
    mdb_txn_reset(rd->txn);
    pthread_mutex_lock(&st->spare_lock);
    bool kept = st->num_spare < SPARE_READS;
    if (kept) {
        st->spare[st->num_spare++] = rd;
    }
    pthread_mutex_unlock(&st->spare_lock);
    if (!kept) {
        mdb_txn_abort(rd->txn);
        free(rd);
    }
    release_grow_lock(st);
}

static int get(lmdb_read_t *rd, int db, const void *key, size_t key_len, MDB_val *out)
{
    MDB_val k = val(key, key_len);
    return from_mdb(mdb_get(rd->txn, eng(rd)->dbi[db], &k, out));
}

/* get_entries: one lookup per entry, in one snapshot. */
static int lmdb_get_entries(scitt_store_read_t *rd, uint64_t first, size_t n, scitt_span_t *out)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t key[8];
        MDB_val v;
        scitt_store_be64(key, first + i);
        rc = get((lmdb_read_t *)rd, DB_ENTRIES, key, 8, &v);
        if (rc == 0) {
            out[i] = scitt_span(v.mv_data, v.mv_size);
        }
    }
    return rc;
}

/* get_tile: tile (level, index) in `rd`'s snapshot, width 0 when absent. */
static int get_tile(lmdb_read_t *rd, unsigned level, uint64_t index, scitt_store_tile_hashes_t *out)
{
    uint8_t key[9];
    MDB_val v;
    tile_key(key, level, index);
    int rc = get(rd, DB_TILES, key, 9, &v);
    *out = (scitt_store_tile_hashes_t){NULL, 0};
    if (rc == SCITT_ENOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (v.mv_size == 0 || v.mv_size % 32 != 0 || v.mv_size > 256 * 32) {
        return SCITT_ECORRUPT;
    }
    *out = (scitt_store_tile_hashes_t){v.mv_data, v.mv_size / 32};
    return 0;
}

static int lmdb_get_tiles(scitt_store_read_t *rd, const scitt_store_tile_id_t *ids, size_t n,
                          scitt_store_tile_hashes_t *out)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = get_tile((lmdb_read_t *)rd, ids[i].level, ids[i].index, &out[i]);
    }
    return rc;
}

/* head_cursor positions a cursor on the heads table with `op` (MDB_LAST, or
 * MDB_SET_RANGE from `size`) and decodes the head found. */
static int head_cursor(lmdb_read_t *rd, MDB_cursor_op op, uint64_t size, scitt_store_head_t *out)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(rd->txn, eng(rd)->dbi[DB_HEADS], &cur);
    if (rc != 0) {
        return from_mdb(rc);
    }
    uint8_t key[8];
    scitt_store_be64(key, size);
    MDB_val k = val(key, 8), v;
    rc = mdb_cursor_get(cur, &k, &v, op);
    mdb_cursor_close(cur);
    if (rc != 0) {
        return from_mdb(rc);
    }
    if (k.mv_size != 8) {
        return SCITT_ECORRUPT;
    }
    return scitt_store__head_decode(scitt_load_be64(k.mv_data), v.mv_data, v.mv_size, out);
}

static int lmdb_get_head(scitt_store_read_t *handle, int how, uint64_t size, scitt_store_head_t *out)
{
    lmdb_read_t *rd = (lmdb_read_t *)handle;
    if (how == SCITT_STORE_HEAD_LATEST) {
        return head_cursor(rd, MDB_LAST, 0, out);
    }
    if (how == SCITT_STORE_HEAD_FROM) {
        return head_cursor(rd, MDB_SET_RANGE, size, out);
    }
    uint8_t key[8];
    MDB_val v;
    scitt_store_be64(key, size);
    int rc = get(rd, DB_HEADS, key, 8, &v);
    return rc != 0 ? rc : scitt_store__head_decode(size, v.mv_data, v.mv_size, out);
}

/* confirm_entry: leaf `index` has entry hash `hash` (all 32 bytes), in the
 * snapshot of the read transaction `ctx`. The level-0 tile holding the leaf
 * says so for the price of one small hash: its leaf hash is
 * SHA-256(0x00 || entry hash) (RFC 9162), committed with the entry. Only
 * where no tile covers the leaf yet is the stored entry hashed. */
static bool confirm_entry(void *ctx, uint64_t index, const uint8_t hash[32])
{
    lmdb_read_t *rd = ctx;
    scitt_store_tile_hashes_t t;
    uint8_t h[32];
    if (get_tile(rd, 0, index >> 8, &t) == 0 && (index & 0xff) < t.width) {
        scitt_sha256_leaves(&h, (const uint8_t(*)[32])hash, 1);
        return memcmp(h, t.hashes + 32 * (index & 0xff), 32) == 0;
    }
    scitt_span_t e;
    if (lmdb_get_entries(&rd->base, index, 1, &e) != 0) {
        return false;
    }
    scitt_store_entry_hash(rd->base.st, h, e.base, e.len);
    return memcmp(h, hash, 32) == 0;
}

static int lmdb_find_entries(scitt_store_read_t *rd, const uint8_t (*hashes)[32], size_t n, uint64_t *out)
{
    scitt_entryidx_t *idx = eng((lmdb_read_t *)rd)->entryidx;
    for (size_t i = 0; i < n; i++) {
        int rc = scitt_entryidx_find(idx, hashes[i], confirm_entry, rd, &out[i]);
        if (rc == SCITT_ENOTFOUND) {
            out[i] = UINT64_MAX;
        } else if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int lmdb_get_meta(scitt_store_read_t *rd, const char *key, scitt_span_t *out)
{
    MDB_val v;
    int rc = get((lmdb_read_t *)rd, DB_META, key, strlen(key), &v);
    if (rc == 0) {
        *out = scitt_span(v.mv_data, v.mv_size);
    }
    return rc;
}

static int lmdb_query(scitt_store_read_t *handle, const scitt_store_query_t *q, uint64_t *out, size_t max,
                      size_t *out_num, uint64_t *out_next)
{
    lmdb_read_t *rd = (lmdb_read_t *)handle;
    scitt_store__index_dbs_t dbs = index_dbs(eng(rd));
    return from_mdb(scitt_store__index_query(rd->txn, &dbs, q, out, max, out_num, out_next));
}

static int lmdb_index_stats(scitt_store_read_t *handle, scitt_store_index_stats_t *out)
{
    lmdb_read_t *rd = (lmdb_read_t *)handle;
    *out = (scitt_store_index_stats_t){0};
    return from_mdb(
        scitt_store__index_runs(rd->txn, eng(rd)->dbi[DB_INDEX], &out->runs, &out->max_level, &out->final_runs));
}

/* writer_acquire: the folder lock the caller took is the single-writer
 * guarantee. */
static int lmdb_writer_acquire(scitt_store_t *st, char *why, size_t cap)
{
    (void)st, (void)why, (void)cap;
    return 0;
}

static void lmdb_stats(scitt_store_t *base, scitt_store_stats_t *out)
{
    lmdb_t *st = (lmdb_t *)base;
    *out = (scitt_store_stats_t){
        .engine = "lmdb",
        .available = true,
        .bytes = map_used(st),
        .commits = __atomic_load_n(&st->commits, __ATOMIC_RELAXED),
        .conflicts = __atomic_load_n(&st->conflicts, __ATOMIC_RELAXED),
    };
}

const scitt_store_ops_t scitt_store__lmdb_ops = {
    .name = "lmdb",
    .local_reads = true,
    .open = lmdb_open,
    .close = lmdb_close,
    .writer_acquire = lmdb_writer_acquire,
    .commit = lmdb_commit,
    .meta_put = lmdb_meta_put,
    .maintain = lmdb_maintain,
    .stats = lmdb_stats,
    .read_begin = lmdb_read_begin,
    .read_end = lmdb_read_end,
    .get_entries = lmdb_get_entries,
    .get_tiles = lmdb_get_tiles,
    .find_entries = lmdb_find_entries,
    .get_head = lmdb_get_head,
    .get_meta = lmdb_get_meta,
    .query = lmdb_query,
    .index_stats = lmdb_index_stats,
};
