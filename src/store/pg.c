/*
 * pg.c: the PostgreSQL store engine, through libpq (issue 17; schema and
 * statements in docs/PLAN-17-POSTGRES.md section 3, migrations in
 * pg_schema.c).
 *
 * Connections. The writer's operations (commit, meta_put, maintain,
 * writer_acquire) use one connection, `writer`, from one thread at a time.
 * Reads use the calling thread's own connection, opened lazily on its
 * first read_begin and kept (a thread-local slot per store: a pthread key)
 * until the thread ends or the store closes; a nested read_begin on the
 * thread shares the connection and its transaction (a depth count). No
 * lock is held across a round trip.
 *
 * Reads. The outermost read handle on a thread opens a REPEATABLE READ,
 * READ ONLY transaction and takes its snapshot at once, so a handle sees
 * the log as it was at read_begin. Results come back in binary; every
 * PGresult a handle's getters produced is kept until read_end, so each
 * span points into libpq's memory and stays valid as store.h promises.
 *
 * Statements are prepared once per connection (lazily) and run with
 * binary parameters; batches travel as binary arrays unnested on the
 * server. No SQL text is ever built from input.
 *
 * Commit is one transaction sent as one pipeline (one round trip plus the
 * WAL flush): BEGIN, scitt_advance (the compare-and-swap on scitt_log,
 * SQLSTATE SC001 when the batch does not extend the stored log), entries,
 * tiles (grow only, SC002 otherwise), head, index records, pg_notify,
 * COMMIT, Sync; a failed statement aborts the rest, and the engine sends
 * ROLLBACK before anything else. A connection lost once BEGIN went
 * through and before COMMIT's answer leaves the outcome unknown: the
 * engine reconnects (libpq's 2 s connect timeout at least) and compares
 * the stored log end and head root with the batch's; unreachable, it
 * returns SCITT_EINDOUBT and `maintain` resolves the batch later, before
 * anything else is committed.
 *
 * Index records go to scitt_index_tail, a table without an index (a
 * random-key btree insert per record cost more than the entries
 * themselves: bench/RESULTS.md); once the tail holds tail_max records,
 * `maintain` wakes the merge thread, which moves them into the scitt_index
 * btree, sorted, on a connection of its own, so commits go on meanwhile.
 * Queries read both.
 *
 * Several processes, one log (issue 18, docs/PLAN-18-CLUSTER.md and
 * docs/DECISIONS.md). The sequencer lease is the session advisory lock
 * LOCK_WRITER on the writer's connection (writer_acquire takes the same
 * lock, for good) with the scitt_lease row: its epoch, copied to
 * scitt_log.writer_epoch at each take, is what the commit's
 * compare-and-swap checks; a holder whose row expired has its session
 * ended by the next taker. The hand-off queue is scitt_queue, written and
 * taken on the writer's connection; the commit removes its batch's rows.
 * Events (pg_events.c) have a connection of their own.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "pg.h"
#include "pg_events.h"
#include "pq.h"
#include "tuning.h"

#define LOCK_SCHEMA INT64_C(0x5c177d5c4e4d4101) /* advisory lock keys (per database) */
#define LOCK_WRITER INT64_C(0x5c177d5772697401)
#define LOCK_QUEUE  INT64_C(0x5c177d5175657501)
#define OID_BYTEA   17
#define OID_INT8    20
#define OID_INT2    21
#define WAIT_MIN_MS 100
#define WAIT_MAX_MS 2000
#define BYTES_EVERY 10    /* seconds between pg_database_size refreshes */
#define TAIL_MAX    65536 /* default of tuning.pg_tail_max */
#define KILL_WAIT   1000  /* ms a lease take waits for an expired holder's session to end */

enum {
    Q_ENTRIES,
    Q_TILES,
    Q_FIND,
    Q_HEAD_EXACT,
    Q_HEAD_LATEST,
    Q_HEAD_FROM,
    Q_META,
    Q_RANGE,
    Q_QUERY,
    Q_RESOLVE,
    Q_BYTES,
    W_META,
    W_ADVANCE,
    W_ENTRIES,
    W_TILES,
    W_HEAD,
    W_INDEX,
    W_NOTIFY,
    W_LOCK,
    W_DEQUEUE,
    W_QLOCK,
    W_QPUT,
    W_QTAKE,
    Q_QHAS,
    W_LEASE_ROW,
    W_LEASE_KILL,
    W_LEASE_TAKE,
    W_RENEW,
    W_RELEASE,
    W_ACQUIRED,
    Q_HOLDER,
    NUM_STMTS
};

#define HEAD_COLS "size, root, time, receipt_sig, checkpoint, receipt_kid FROM scitt_heads"

_Static_assert(NUM_STMTS <= 64, "pg_conn_t.prepared has a bit per statement");

static const char *const stmt_sql[NUM_STMTS] = {
    [Q_ENTRIES] = "SELECT leaf, stmt FROM scitt_entries WHERE leaf >= $1::int8 AND leaf < $2::int8 ORDER BY leaf",
    [Q_TILES] = "SELECT t.i, s.hashes FROM unnest($1::int2[], $2::int8[]) WITH ORDINALITY AS t(level, idx, i)"
                " JOIN scitt_tiles s ON s.level = t.level AND s.idx = t.idx",
    [Q_FIND] = "SELECT t.i, e.leaf FROM unnest($1::bytea[]) WITH ORDINALITY AS t(h, i)"
               " JOIN scitt_entries e ON e.entry_hash = t.h",
    [Q_HEAD_EXACT] = "SELECT " HEAD_COLS " WHERE size = $1::int8",
    [Q_HEAD_LATEST] = "SELECT " HEAD_COLS " ORDER BY size DESC LIMIT 1",
    [Q_HEAD_FROM] = "SELECT " HEAD_COLS " WHERE size >= $1::int8 ORDER BY size LIMIT 1",
    [Q_META] = "SELECT value FROM scitt_meta WHERE key = $1::text",
    /* The leaf range [lo, hi) of a query: from, since and until. */
    [Q_RANGE] = "SELECT greatest($1::int8, CASE WHEN $2::int8 > 0 THEN scitt_time_leaf($2) ELSE 0 END),"
                " CASE WHEN $3::int8 = 0 THEN log_end WHEN $3::int8 < 0 THEN 0"
                " ELSE least(log_end, scitt_time_leaf($3)) END FROM scitt_log WHERE id = 0",
    /* Keys $1 over leaves [$2, $3), in scitt_index and the tail (t: its
     * records of these keys, a scan of a bounded table). The driver is the
     * key with the fewest records there (each counted up to the bound $4,
     * plus one); its records are scanned in leaf order, at most $4 + 1,
     * and a leaf kept when every key has a record of it (all of a leaf's
     * records are in one table). One row at least: records scanned, the
     * last one's leaf, a match (up to $5) or NULL. */
    [Q_QUERY] =
        "WITH t AS MATERIALIZED (SELECT key, leaf FROM scitt_index_tail WHERE key = ANY($1::int8[])"
        "   AND leaf >= $2::int8 AND leaf < $3::int8),"
        " k AS (SELECT u.key, u.i, (SELECT count(*) FROM (SELECT 1 FROM scitt_index x WHERE x.key = u.key"
        "   AND x.leaf >= $2::int8 AND x.leaf < $3::int8 LIMIT $4::int8 + 1) AS y)"
        "   + (SELECT count(*) FROM t WHERE t.key = u.key) AS n"
        "   FROM unnest($1::int8[]) WITH ORDINALITY AS u(key, i)),"
        " d AS (SELECT key FROM k ORDER BY n, i LIMIT 1),"
        " c AS MATERIALIZED (SELECT leaf FROM ((SELECT leaf FROM scitt_index WHERE key = (SELECT key FROM d)"
        "   AND leaf >= $2::int8 AND leaf < $3::int8 ORDER BY leaf LIMIT $4::int8 + 1)"
        "   UNION ALL SELECT leaf FROM t WHERE key = (SELECT key FROM d)) AS a ORDER BY leaf LIMIT $4::int8 + 1),"
        " tm AS (SELECT leaf FROM t GROUP BY leaf HAVING count(DISTINCT key) = (SELECT count(DISTINCT key) FROM k)),"
        " m AS (SELECT leaf FROM c WHERE leaf IN (SELECT leaf FROM tm) OR NOT EXISTS (SELECT 1 FROM k WHERE NOT EXISTS"
        "   (SELECT 1 FROM scitt_index i WHERE i.key = k.key AND i.leaf = c.leaf)) ORDER BY leaf LIMIT $5::int8)"
        " SELECT s.n, s.last, m.leaf FROM (SELECT count(*) AS n, max(leaf) AS last FROM c) AS s"
        " LEFT JOIN m ON true ORDER BY m.leaf",
    [Q_RESOLVE] = "SELECT l.log_end, h.root FROM scitt_log l LEFT JOIN scitt_heads h ON h.size = $1::int8"
                  " WHERE l.id = 0",
    [Q_BYTES] = "SELECT pg_database_size(current_database())::int8",
    [W_META] = "INSERT INTO scitt_meta (key, value) VALUES ($1::text, $2::bytea)"
               " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
    [W_ADVANCE] = "SELECT scitt_advance($1::int8, $2::int8, $3::int8, $4::int8)",
    [W_ENTRIES] = "INSERT INTO scitt_entries (leaf, entry_hash, stmt)"
                  " SELECT * FROM unnest($1::int8[], $2::bytea[], $3::bytea[])",
    [W_TILES] = "SELECT scitt_put_tiles($1::int2[], $2::int8[], $3::bytea[])",
    [W_HEAD] =
        "INSERT INTO scitt_heads (size, root, time, receipt_sig, checkpoint, receipt_kid, index_time)"
        " VALUES ($1::int8, $2::bytea, $3::int8, $4::bytea, $5::bytea, $6::bytea, greatest($3::int8, (SELECT index_time"
        "   FROM scitt_heads WHERE size < $1::int8 ORDER BY size DESC LIMIT 1)))"
        " ON CONFLICT (size) DO UPDATE SET root = EXCLUDED.root, time = EXCLUDED.time,"
        " receipt_sig = EXCLUDED.receipt_sig, checkpoint = EXCLUDED.checkpoint, receipt_kid = EXCLUDED.receipt_kid,"
        " index_time = EXCLUDED.index_time",
    [W_INDEX] = "INSERT INTO scitt_index_tail (key, leaf) SELECT * FROM unnest($1::int8[], $2::int8[])",
    [W_NOTIFY] = "SELECT pg_notify('scitt_log', $1::text)",
    [W_LOCK] = "SELECT pg_try_advisory_lock($1::int8)",
    /* The hand-off queue (issue 18). queue_put's transaction takes W_QLOCK
     * before its insert draws seq numbers and holds it to its commit, so
     * seq order is commit order: a reader that saw seq n never later finds
     * a row below n appear (take's cursor skips nothing). */
    [W_DEQUEUE] = "DELETE FROM scitt_queue WHERE entry_hash = ANY($1::bytea[])",
    [W_QLOCK] = "SELECT pg_advisory_xact_lock($1::int8), pg_notify('scitt_queue', '')",
    [W_QPUT] = "INSERT INTO scitt_queue (entry_hash, stmt, keys) SELECT * FROM unnest($1::bytea[], $2::bytea[],"
               " $3::bytea[]) ON CONFLICT (entry_hash) DO NOTHING",
    [W_QTAKE] = "SELECT seq, entry_hash, stmt, keys FROM scitt_queue WHERE seq > $1::int8 ORDER BY seq LIMIT $2::int8",
    [Q_QHAS] =
        "SELECT t.i FROM unnest($1::bytea[]) WITH ORDINALITY AS t(h, i) JOIN scitt_queue q ON q.entry_hash = t.h",
    /* The sequencer lease (issue 18). The election is the session advisory
     * lock LOCK_WRITER on the writer's connection; the scitt_lease row says
     * until when its holder is entitled to it. A take runs W_LEASE_ROW,
     * W_LEASE_KILL (only when the row has expired) and W_LEASE_TAKE in one
     * transaction: the row lock orders it after any other take, so a
     * process never ends a holder that has just taken the lease. */
    [W_LEASE_ROW] = "SELECT epoch, holder, until < clock_timestamp() FROM scitt_lease WHERE id = 0 FOR UPDATE",
    /* Ends the session holding LOCK_WRITER ($1: its high 32 bits, $2: its
     * low ones), waiting up to $3 ms for it to be gone (its lock with it). */
    [W_LEASE_KILL] = "SELECT count(*) FILTER (WHERE pg_terminate_backend(k.pid, $3::int8)) FROM pg_locks k"
                     " WHERE k.locktype = 'advisory' AND k.classid::int8 = $1::int8 AND k.objid::int8 = $2::int8"
                     " AND k.objsubid = 1 AND k.granted AND k.pid <> pg_backend_pid()"
                     " AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    /* Takes the lock ($1; $2 <> 0: held already) and with it the lease:
     * a new epoch, also the log's writer epoch, for $4 ms. */
    [W_LEASE_TAKE] = "WITH l AS (UPDATE scitt_lease SET epoch = greatest(epoch, (SELECT writer_epoch FROM scitt_log"
                     "   WHERE id = 0)) + 1, holder = $3::text, backend_pid = pg_backend_pid(),"
                     "   until = clock_timestamp() + $4::int8 * interval '1 millisecond'"
                     "   WHERE id = 0 AND CASE WHEN $2::int8 <> 0 THEN true ELSE pg_try_advisory_lock($1::int8) END"
                     "   RETURNING epoch)"
                     " UPDATE scitt_log SET writer_epoch = l.epoch FROM l WHERE scitt_log.id = 0 RETURNING l.epoch",
    [W_RENEW] = "UPDATE scitt_lease SET until = clock_timestamp() + $2::int8 * interval '1 millisecond'"
                " WHERE id = 0 AND epoch = $1::int8 AND backend_pid = pg_backend_pid() RETURNING holder",
    [W_RELEASE] = "WITH u AS (UPDATE scitt_lease SET until = least(until, clock_timestamp())"
                  "   WHERE id = 0 AND backend_pid = pg_backend_pid())"
                  " SELECT pg_advisory_unlock_all()",
    /* writer_acquire: the lock for good; the row says so, so nobody ends
     * this session for a lease it never let expire. */
    [W_ACQUIRED] = "UPDATE scitt_lease SET holder = $1::text, backend_pid = pg_backend_pid(), until = 'infinity'"
                   " WHERE id = 0",
    [Q_HOLDER] = "SELECT holder FROM scitt_lease WHERE id = 0",
};

typedef struct pg_store pg_store_t;

/* A connection and what it has prepared. */
typedef struct pg_conn {
    PGconn *pg;
    pg_store_t *st;
    uint64_t prepared; /* bit per statement */
    unsigned depth;    /* read handles open on it (thread connections) */
    struct pg_conn *next;
} pg_conn_t;

struct pg_store {
    scitt_store_t base;
    char *conninfo;
    pthread_key_t key; /* the calling thread's pg_conn_t */
    pthread_mutex_t lock;
    pg_conn_t *conns; /* every thread connection, under `lock` */
    pg_conn_t writer;
    /* The writer lock LOCK_WRITER: the writer session's backend pid when it
     * took it (0: not taken; a reconnect makes a new session, without it). */
    int lock_pid;
    bool acquired;        /* by writer_acquire: for good, taken again after a reconnect */
    uint64_t lease_epoch; /* the epoch of the lease this handle took (0: none) */
    char holder[128];     /* how this handle describes itself: "pid N on HOST" */
    /* A commit whose outcome is unknown (SCITT_EINDOUBT). */
    bool lose_commit_reply; /* tests: scitt_store__pg_lose_commit_reply */
    bool in_doubt;
    uint64_t doubt_first, doubt_end;
    int64_t doubt_head;
    uint8_t doubt_root[32];
    size_t doubt_index;
    /* The index tail's merge thread (merge_main) and what it shares. */
    pthread_mutex_t merge_lock;
    pthread_cond_t merge_cond;
    pthread_t merge_thread;
    bool merge_started, merge_want, merge_stop;
    size_t tail_rows, tail_max; /* index records in scitt_index_tail (merge_lock); the merge threshold */
    PGresult *taken;            /* the last queue_take's rows: its spans point here */
    scitt_pg_events_t *events;
    time_t bytes_at;
    _Atomic uint64_t commits, conflicts, reconnects, bytes;
    _Atomic bool available;
    _Atomic bool lease_held;
    _Atomic uint64_t writer_epoch, takeovers, queued;
};

typedef struct pg_read {
    scitt_store_read_t base;
    pg_conn_t *c;
    PGresult **res; /* kept until read_end: spans point into them */
    size_t num_res, cap_res;
} pg_read_t;

static pg_store_t *of(scitt_store_t *st)
{
    return (pg_store_t *)st;
}

static pg_read_t *rd_of(scitt_store_read_t *rd)
{
    return (pg_read_t *)rd;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* connect_db connects with `conninfo` as given (a URI or key=value text:
 * passfile, service and PG* variables work; what it names wins over the
 * defaults here): a connect timeout, and TCP keepalives and a user timeout
 * so that a statement waiting on a vanished server fails in about 20 s
 * instead of hanging its thread. NULL only when out of memory. */
static PGconn *connect_db(const char *conninfo)
{
    const char *const keys[] = {
        "connect_timeout",  "fallback_application_name", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout",          "dbname",          NULL};
    const char *const vals[] = {"2", "scittd", "10", "3", "3", "20000", conninfo, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg != NULL) {
        PQsetNoticeProcessor(pg, quiet, NULL);
    }
    return pg;
}

PGconn *scitt_pg__connect(const char *conninfo)
{
    return connect_db(conninfo);
}

/* first_line copies libpq's message up to its first line end. */
static void first_line(char *out, size_t cap, const char *msg)
{
    size_t n = strcspn(msg, "\n");
    snprintf(out, cap, "%.*s", (int)n, msg);
}

/* from_pg maps a statement's outcome to a SCITT code. */
static int from_pg(PGconn *pg, const PGresult *res)
{
    ExecStatusType s = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        return 0;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        return SCITT_EUNAVAIL;
    }
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state == NULL) {
        return res == NULL ? SCITT_ENOMEM : SCITT_EIO;
    }
    if (strcmp(state, "SC001") == 0) {
        return SCITT_ECONFLICT;
    }
    if (strcmp(state, "SC002") == 0) {
        return SCITT_ECORRUPT;
    }
    if (strcmp(state, "23505") == 0 || strncmp(state, "22", 2) == 0 || strcmp(state, "23514") == 0) {
        return SCITT_EINVAL; /* a repeat entry hash, a value out of range: a caller bug */
    }
    if (strcmp(state, "53100") == 0 || strcmp(state, "53200") == 0) {
        return SCITT_ENOSPC;
    }
    if (strcmp(state, "25006") == 0 || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
        return SCITT_EUNAVAIL; /* read-only (a standby), connection trouble, shutting down */
    }
    return SCITT_EIO;
}

/* Parameters of one statement, all binary. */
typedef struct params {
    const char *val[6];
    int len[6], fmt[6];
    uint8_t num[6][8]; /* int8 values */
    int n;
} params_t;

static void p_bytes(params_t *p, const void *v, size_t len)
{
    p->val[p->n] = len > 0 ? v : "";
    p->len[p->n] = (int)len;
    p->fmt[p->n++] = 1;
}

static void p_int8(params_t *p, int64_t v)
{
    scitt_store_be64(p->num[p->n], (uint64_t)v);
    p_bytes(p, p->num[p->n], 8);
}

/* p_leaf: a u64 leaf or size as a bigint (clamped: leaves stay below 2^63). */
static void p_leaf(params_t *p, uint64_t v)
{
    p_int8(p, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* prepare makes statement `id` (of `n` parameters) ready on `c`, once per
 * connection. */
static int prepare(pg_conn_t *c, int id, int n)
{
    if (!(c->prepared & (UINT64_C(1) << id))) {
        char name[8];
        snprintf(name, sizeof(name), "s%d", id);
        PGresult *r = PQprepare(c->pg, name, stmt_sql[id], n, NULL);
        int rc = from_pg(c->pg, r);
        PQclear(r);
        if (rc != 0) {
            return rc;
        }
        c->prepared |= UINT64_C(1) << id;
    }
    return 0;
}

/* run executes prepared statement `id` on `c` (preparing it first on this
 * connection), binary results. `*out` is the result (NULL on failure,
 * after it was cleared). */
static int run(pg_conn_t *c, int id, const params_t *p, PGresult **out)
{
    char name[8];
    snprintf(name, sizeof(name), "s%d", id);
    *out = NULL;
    int rc = prepare(c, id, p->n);
    if (rc != 0) {
        return rc;
    }
    PGresult *r = PQexecPrepared(c->pg, name, p->n, p->val, p->len, p->fmt, 1);
    rc = from_pg(c->pg, r);
    if (rc != 0) {
        PQclear(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* run_once runs a statement whose result is not needed. */
static int run_once(pg_conn_t *c, int id, const params_t *p)
{
    PGresult *r;
    int rc = run(c, id, p, &r);
    PQclear(r);
    return rc;
}

static int exec_text(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    int rc = from_pg(pg, r);
    PQclear(r);
    return rc;
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
    return (int64_t)scitt_load_be64((const uint8_t *)PQgetvalue(r, row, col));
}

static bool is_i64(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 8;
}

/* A binary array (PostgreSQL's array_send layout): ndim 1, no nulls. */
static int arr_begin(scitt_buf_t *b, uint32_t oid, size_t n)
{
    uint8_t h[20];
    scitt_store_be32(h, 1);
    scitt_store_be32(h + 4, 0);
    scitt_store_be32(h + 8, oid);
    scitt_store_be32(h + 12, (uint32_t)n);
    scitt_store_be32(h + 16, 1);
    return scitt_buf_append(b, h, sizeof(h));
}

static int arr_put(scitt_buf_t *b, const void *v, size_t len)
{
    uint8_t l[4];
    scitt_store_be32(l, (uint32_t)len);
    int rc = scitt_buf_append(b, l, 4);
    return rc == 0 ? scitt_buf_append(b, v, len) : rc;
}

static int arr_i64(scitt_buf_t *b, uint64_t v)
{
    uint8_t x[8];
    scitt_store_be64(x, v);
    return arr_put(b, x, 8);
}

/* ---- open, schema, close ---- */

static _Thread_local char why_buf[512];

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* connect_waiting connects the writer, retrying with doubling backoff for
 * up to `wait_ms`; one line on stderr per distinct libpq error. */
static int connect_waiting(pg_store_t *st, unsigned wait_ms, const char **why)
{
    uint64_t deadline = now_ms() + wait_ms;
    unsigned backoff = WAIT_MIN_MS;
    char last[256] = "";
    for (;;) {
        PGconn *pg = connect_db(st->conninfo);
        if (pg == NULL) {
            return SCITT_ENOMEM;
        }
        if (PQstatus(pg) == CONNECTION_OK) {
            st->writer.pg = pg;
            return 0;
        }
        char msg[256];
        first_line(msg, sizeof(msg), PQerrorMessage(pg));
        PQfinish(pg);
        uint64_t now = now_ms();
        if (now >= deadline) {
            snprintf(why_buf, sizeof(why_buf), "cannot connect to the database (libpq: %s)", msg);
            *why = why_buf;
            return SCITT_EUNAVAIL;
        }
        if (strcmp(msg, last) != 0) {
            fprintf(stderr, "scittd: waiting for the database (libpq: %s)\n", msg);
            snprintf(last, sizeof(last), "%s", msg);
        }
        sleep_ms(deadline - now < backoff ? (unsigned)(deadline - now) : backoff);
        backoff = backoff * 2 > WAIT_MAX_MS ? WAIT_MAX_MS : backoff * 2;
    }
}

/* migrate brings the schema up to this build's version in one transaction
 * under an advisory lock, or refuses a newer one. */
static int migrate(pg_store_t *st, const char **why)
{
    PGconn *pg = st->writer.pg;
    int rc = exec_text(pg, "BEGIN");
    if (rc == 0) {
        char lock[96];
        snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)", (long long)LOCK_SCHEMA);
        rc = exec_text(pg, lock);
    }
    if (rc == 0) {
        rc = exec_text(pg, "CREATE TABLE IF NOT EXISTS scitt_schema (id int PRIMARY KEY CHECK (id = 0),"
                           " version int NOT NULL)");
    }
    int version = 0, known = scitt_pg__schema_version();
    if (rc == 0) {
        PGresult *r = PQexec(pg, "SELECT version FROM scitt_schema WHERE id = 0");
        rc = from_pg(pg, r);
        uint64_t v = 0;
        if (rc == 0 && PQntuples(r) == 1 &&
            scitt_parse_u64(PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), &v) == 0) {
            version = v > INT32_MAX ? INT32_MAX : (int)v;
        }
        PQclear(r);
    }
    if (rc == 0 && version > known) {
        snprintf(why_buf, sizeof(why_buf),
                 "the database holds scitt schema version %d; this scittd knows up to version %d", version, known);
        *why = why_buf;
        rc = SCITT_EFORMAT;
    }
    for (int v = version + 1; rc == 0 && v <= known; v++) {
        rc = exec_text(pg, scitt_pg__migration(v));
    }
    if (rc == 0 && version < known) {
        char set[128];
        snprintf(set, sizeof(set),
                 "INSERT INTO scitt_schema VALUES (0, %d) ON CONFLICT (id) DO UPDATE SET version = %d", known, known);
        rc = exec_text(pg, set);
    }
    rc = rc == 0 ? exec_text(pg, "COMMIT") : rc;
    if (rc != 0) {
        (void)exec_text(pg, "ROLLBACK");
        if (*why == NULL) {
            first_line(why_buf, sizeof(why_buf), PQerrorMessage(pg));
            *why = why_buf;
        }
    }
    return rc;
}

static void drop_conn(void *arg);
static void refresh_bytes(pg_store_t *st);

static int pg_open(scitt_store_t **out, const scitt_store_config_t *cfg, const char **why)
{
    *why = NULL;
    if (cfg->database == NULL) {
        *why = "no database given";
        return SCITT_EINVAL;
    }
    int rc = scitt_pq_load(why);
    if (rc != 0) {
        return rc;
    }
    pg_store_t *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return SCITT_ENOMEM;
    }
    st->conninfo = strdup(cfg->database);
    if (st->conninfo == NULL || pthread_key_create(&st->key, drop_conn) != 0) {
        free(st->conninfo);
        free(st);
        return SCITT_ENOMEM;
    }
    pthread_mutex_init(&st->lock, NULL);
    st->writer.st = st;
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(st->holder, sizeof(st->holder), "pid %ld on %s", (long)getpid(), host);
    st->tail_max = cfg->tuning != NULL && cfg->tuning->pg_tail_max != 0 ? cfg->tuning->pg_tail_max : TAIL_MAX;
    st->tail_rows = st->tail_max; /* unknown: merged by the first maintain */
    pthread_mutex_init(&st->merge_lock, NULL);
    pthread_cond_init(&st->merge_cond, NULL);
    rc = scitt_pg__events_new(&st->events, st->conninfo);
    rc = rc == 0 ? connect_waiting(st, cfg->database_wait_ms, why) : rc;
    if (rc == 0) {
        rc = migrate(st, why);
    }
    if (rc != 0) {
        scitt_pg__events_free(st->events);
        PQfinish(st->writer.pg);
        pthread_key_delete(st->key);
        pthread_mutex_destroy(&st->lock);
        pthread_mutex_destroy(&st->merge_lock);
        pthread_cond_destroy(&st->merge_cond);
        free(st->conninfo);
        free(st);
        return rc;
    }
    st->available = true;
    refresh_bytes(st);
    *out = &st->base;
    return 0;
}

/* drop_conn: a thread that read ended (pthread key destructor). */
static void drop_conn(void *arg)
{
    pg_conn_t *c = arg;
    pg_store_t *st = c->st;
    pthread_mutex_lock(&st->lock);
    for (pg_conn_t **p = &st->conns; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&st->lock);
    PQfinish(c->pg);
    free(c);
}

static void pg_close(scitt_store_t *base)
{
    pg_store_t *st = of(base);
    if (st == NULL) {
        return;
    }
    pthread_mutex_lock(&st->merge_lock);
    st->merge_stop = true;
    pthread_cond_signal(&st->merge_cond);
    pthread_mutex_unlock(&st->merge_lock);
    if (st->merge_started) {
        pthread_join(st->merge_thread, NULL); /* lets a merge in progress finish */
    }
    pthread_mutex_destroy(&st->merge_lock);
    pthread_cond_destroy(&st->merge_cond);
    pthread_key_delete(st->key); /* no destructor runs after this */
    for (pg_conn_t *c = st->conns, *next; c != NULL; c = next) {
        next = c->next;
        PQfinish(c->pg);
        free(c);
    }
    PQclear(st->taken);
    scitt_pg__events_free(st->events);
    PQfinish(st->writer.pg); /* releases the writer's advisory lock */
    pthread_mutex_destroy(&st->lock);
    free(st->conninfo);
    free(st);
}

/* ---- the writer ---- */

/* lock_kept: the writer's session is the one that took LOCK_WRITER (any
 * reconnect, wherever it happened, made a session without it). */
static bool lock_kept(pg_store_t *st)
{
    return st->lock_pid != 0 && PQstatus(st->writer.pg) == CONNECTION_OK && PQbackendPID(st->writer.pg) == st->lock_pid;
}

/* try_lock tries LOCK_WRITER on the writer's session: 0 and `*got`. */
static int try_lock(pg_store_t *st, bool *got)
{
    params_t p = {.n = 0};
    PGresult *r;
    p_int8(&p, LOCK_WRITER);
    int rc = run(&st->writer, W_LOCK, &p, &r);
    *got = rc == 0 && PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 && PQgetvalue(r, 0, 0)[0] != 0;
    PQclear(r);
    if (*got) {
        st->lock_pid = PQbackendPID(st->writer.pg);
    }
    return rc;
}

/* writer_ready: the writer's connection is up, reconnecting once if it
 * dropped, and taking the writer lock again if writer_acquire took it (a
 * lease is not taken again here: the next scitt_store_lease takes a new
 * one). */
static int writer_ready(pg_store_t *st)
{
    if (PQstatus(st->writer.pg) != CONNECTION_OK) {
        PQreset(st->writer.pg);
        st->writer.prepared = 0;
        if (PQstatus(st->writer.pg) != CONNECTION_OK) {
            st->available = false;
            return SCITT_EUNAVAIL;
        }
        PQsetNoticeProcessor(st->writer.pg, quiet, NULL);
        st->reconnects++;
        st->available = true;
    }
    if (st->acquired && !lock_kept(st)) {
        bool got;
        int rc = try_lock(st, &got);
        if (rc != 0) {
            return rc;
        }
        if (!got) {
            st->acquired = false;
            return SCITT_EBUSY; /* another scittd took the log while we were away */
        }
    }
    return 0;
}

/* refresh_bytes reads the database's size for stats (the writer's
 * connection: at open and from maintain, every BYTES_EVERY seconds). */
static void refresh_bytes(pg_store_t *st)
{
    params_t p = {.n = 0};
    PGresult *r;
    if (run(&st->writer, Q_BYTES, &p, &r) == 0 && PQntuples(r) == 1 && is_i64(r, 0, 0)) {
        st->bytes = (uint64_t)get_i64(r, 0, 0);
        st->bytes_at = time(NULL);
    }
    PQclear(r);
}

static int meta_write(pg_store_t *st, const char *key, scitt_span_t value)
{
    params_t p = {.n = 0};
    p_bytes(&p, key, strlen(key));
    p_bytes(&p, value.base, value.len);
    return run_once(&st->writer, W_META, &p);
}

/* writer_begin opens the writer's transaction. A connection found dead
 * only now (the server restarted while we were idle: libpq notices on the
 * next statement) is reconnected and BEGIN sent again: nothing was written. */
static int writer_begin(pg_store_t *st)
{
    int rc = writer_ready(st);
    rc = rc == 0 ? exec_text(st->writer.pg, "BEGIN") : rc;
    if (rc == SCITT_EUNAVAIL && PQstatus(st->writer.pg) != CONNECTION_OK) {
        rc = writer_ready(st);
        rc = rc == 0 ? exec_text(st->writer.pg, "BEGIN") : rc;
    }
    return rc;
}

static int pg_meta_put(scitt_store_t *base, const char *key, scitt_span_t value)
{
    pg_store_t *st = of(base);
    int rc = writer_begin(st);
    rc = rc == 0 ? meta_write(st, key, value) : rc;
    rc = rc == 0 ? exec_text(st->writer.pg, "COMMIT") : rc;
    if (rc != 0 && PQstatus(st->writer.pg) == CONNECTION_OK) {
        (void)exec_text(st->writer.pg, "ROLLBACK");
    }
    return rc;
}

/* pg_writer_acquire takes the writer lock for good: the lease's lock,
 * without an expiry (its row says 'infinity', so no lease caller ends this
 * session), without a new epoch (the log's stays, 0 unless a lease was
 * ever taken). A later scitt_store_lease on this handle turns it into a
 * lease with a new epoch; lease_release gives either up. */
static int pg_writer_acquire(scitt_store_t *base, char *why, size_t cap)
{
    pg_store_t *st = of(base);
    int rc = writer_ready(st);
    if (rc != 0) {
        return rc;
    }
    PGresult *r;
    bool got = lock_kept(st);
    if (!got && (rc = try_lock(st, &got)) != 0) {
        return rc;
    }
    if (!got) {
        params_t q = {.n = 0};
        rc = run(&st->writer, Q_HOLDER, &q, &r);
        const char *who = rc == 0 && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "unknown";
        int who_len = rc == 0 && PQntuples(r) == 1 ? PQgetlength(r, 0, 0) : 7;
        snprintf(why, cap, "the database is in use by another scittd (%.*s, from scitt_lease)", who_len, who);
        PQclear(r);
        return SCITT_EBUSY;
    }
    st->acquired = true;
    st->lease_epoch = 0;
    params_t p = {.n = 0};
    p_bytes(&p, st->holder, strlen(st->holder));
    return run_once(&st->writer, W_ACQUIRED, &p);
}

static int rec_cmp(const void *x, const void *y)
{
    const scitt_store_index_rec_t *a = x, *b = y;
    if (a->key != b->key) {
        return a->key < b->key ? -1 : 1;
    }
    return a->leaf < b->leaf ? -1 : a->leaf > b->leaf;
}

/* index_array puts the batch's index records, sorted and without repeats
 * (the tail has no key to refuse them), in `a[0]` (keys) and `a[1]`
 * (leaves); `*num` is how many. */
static int index_array(const scitt_store_batch_t *b, scitt_buf_t a[2], size_t *num)
{
    *num = 0;
    if (b->num_index == 0) {
        return 0;
    }
    scitt_store_index_rec_t *recs = malloc(b->num_index * sizeof(*recs));
    if (recs == NULL) {
        return SCITT_ENOMEM;
    }
    memcpy(recs, b->index, b->num_index * sizeof(*recs));
    qsort(recs, b->num_index, sizeof(*recs), rec_cmp);
    size_t n = 0;
    int rc = 0;
    for (size_t i = 0; i < b->num_index; i++) {
        if (recs[i].leaf < b->first_index || recs[i].leaf - b->first_index >= b->num_entries) {
            rc = SCITT_EINVAL; /* a record for a leaf outside the batch */
            break;
        }
        if (n == 0 || rec_cmp(&recs[n - 1], &recs[i]) != 0) {
            recs[n++] = recs[i];
        }
    }
    rc = rc == 0 ? arr_begin(&a[0], OID_INT8, n) : rc;
    rc = rc == 0 ? arr_begin(&a[1], OID_INT8, n) : rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = arr_i64(&a[0], recs[i].key);
        rc = rc == 0 ? arr_i64(&a[1], recs[i].leaf) : rc;
    }
    free(recs);
    *num = n;
    return rc;
}

/* hash_array puts `n` 32-byte hashes in `a` as a bytea[]. */
static int hash_array(scitt_buf_t *a, const uint8_t (*hashes)[32], size_t n)
{
    int rc = arr_begin(a, OID_BYTEA, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = arr_put(a, hashes[i], 32);
    }
    return rc;
}

enum { NUM_ARRAYS = 9 };

/* batch_arrays builds the batch's arrays: entries (leaf, hash, stmt),
 * tiles (level, idx, hashes), index (key, leaf), the queue rows it
 * removes (hash), in `a[0..8]`. */
static int batch_arrays(const scitt_store_batch_t *b, scitt_buf_t a[NUM_ARRAYS], size_t *num_index)
{
    int rc = arr_begin(&a[0], OID_INT8, b->num_entries);
    rc = rc == 0 ? arr_begin(&a[1], OID_BYTEA, b->num_entries) : rc;
    rc = rc == 0 ? arr_begin(&a[2], OID_BYTEA, b->num_entries) : rc;
    for (size_t i = 0; rc == 0 && i < b->num_entries; i++) {
        rc = arr_i64(&a[0], b->first_index + i);
        rc = rc == 0 ? arr_put(&a[1], b->entry_hashes[i], 32) : rc;
        rc = rc == 0 ? arr_put(&a[2], b->entries[i].base, b->entries[i].len) : rc;
    }
    rc = rc == 0 ? arr_begin(&a[3], OID_INT2, b->num_tiles) : rc;
    rc = rc == 0 ? arr_begin(&a[4], OID_INT8, b->num_tiles) : rc;
    rc = rc == 0 ? arr_begin(&a[5], OID_BYTEA, b->num_tiles) : rc;
    for (size_t i = 0; rc == 0 && i < b->num_tiles; i++) {
        const scitt_store_tile_t *t = &b->tiles[i];
        uint8_t level[2];
        if (t->level > UINT8_MAX || t->width == 0 || t->width > 256 || t->index > INT64_MAX) {
            return SCITT_EINVAL;
        }
        scitt_store_be16(level, (uint16_t)t->level);
        rc = arr_put(&a[3], level, 2);
        rc = rc == 0 ? arr_i64(&a[4], t->index) : rc;
        rc = rc == 0 ? arr_put(&a[5], t->hashes, t->width * 32) : rc;
    }
    rc = rc == 0 ? hash_array(&a[8], b->dequeue, b->num_dequeue) : rc;
    return rc == 0 ? index_array(b, &a[6], num_index) : rc;
}

static void p_buf(params_t *p, const scitt_buf_t *b)
{
    p_bytes(p, b->base, b->len);
}

/* A statement of the commit's pipeline. Built in place: `p` points into
 * itself. */
typedef struct step {
    int id;
    params_t p;
} step_t;

enum { MAX_STEPS = 7 };

static params_t *add_step(step_t *s, int *n, int id)
{
    s[*n] = (step_t){.id = id, .p = {.n = 0}};
    return &s[(*n)++].p;
}

static void add_arrays(step_t *s, int *n, int id, const scitt_buf_t *a, int num)
{
    params_t *p = add_step(s, n, id);
    for (int i = 0; i < num; i++) {
        p_buf(p, &a[i]);
    }
}

/* batch_steps lists the batch's statements: the compare-and-swap (under
 * the batch's writer epoch), entries, tiles, head, index records, the
 * queue rows it removes, the notification of the new log end (`text`
 * holds its payload). */
static int batch_steps(const scitt_store_batch_t *b, const scitt_buf_t a[NUM_ARRAYS], size_t num_index, char text[24],
                       step_t s[MAX_STEPS])
{
    int n = 0;
    uint64_t end = b->first_index + b->num_entries;
    params_t *p = add_step(s, &n, W_ADVANCE);
    p_leaf(p, b->first_index);
    p_leaf(p, end);
    p_int8(p, b->head != NULL ? (int64_t)b->head->size : -1);
    p_leaf(p, b->epoch);
    if (b->num_entries > 0) {
        add_arrays(s, &n, W_ENTRIES, &a[0], 3);
    }
    if (b->num_tiles > 0) {
        add_arrays(s, &n, W_TILES, &a[3], 3);
    }
    if (b->head != NULL) {
        const scitt_store_head_t *h = b->head;
        p = add_step(s, &n, W_HEAD);
        p_leaf(p, h->size);
        p_bytes(p, h->root, 32);
        p_int8(p, h->time);
        p_bytes(p, h->receipt_sig.base, h->receipt_sig.len);
        p_bytes(p, h->checkpoint.base, h->checkpoint.len);
        p_bytes(p, h->receipt_kid.base, h->receipt_kid.len);
    }
    if (num_index > 0) {
        add_arrays(s, &n, W_INDEX, &a[6], 2);
    }
    if (b->num_dequeue > 0) {
        add_arrays(s, &n, W_DEQUEUE, &a[8], 1);
    }
    p = add_step(s, &n, W_NOTIFY);
    p_bytes(p, text, (size_t)snprintf(text, 24, "%llu", (unsigned long long)end));
    return n;
}

/* How a pipelined transaction ended. */
typedef enum { PIPE_DONE, PIPE_NOT_BEGUN, PIPE_LOST } pipe_end_t;

/* pipeline sends BEGIN, the steps and COMMIT in one pipeline (one round
 * trip) and reads every answer. `*rc` is the first failure (0: committed).
 * PIPE_NOT_BEGUN: the server answered BEGIN with an error, so nothing ran
 * (a connection found dead only now: its backend's parting error comes
 * first); PIPE_LOST: the connection ended otherwise before the answer to
 * COMMIT (a local error has no SQLSTATE): the outcome is unknown. An
 * aborted transaction is rolled back before anything else is sent. */
static pipe_end_t pipeline(pg_conn_t *c, const step_t *s, int n, int *rc)
{
    *rc = 0;
    for (int i = 0; i < n && *rc == 0; i++) {
        *rc = prepare(c, s[i].id, s[i].p.n);
    }
    if (*rc != 0) {
        return PQstatus(c->pg) == CONNECTION_OK ? PIPE_DONE : PIPE_NOT_BEGUN;
    }
    PGconn *pg = c->pg;
    if (!PQenterPipelineMode(pg)) {
        *rc = SCITT_EIO;
        return PIPE_DONE;
    }
    bool sent = PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 1) == 1;
    for (int i = 0; sent && i < n; i++) {
        char name[8];
        snprintf(name, sizeof(name), "s%d", s[i].id);
        const params_t *p = &s[i].p;
        sent = PQsendQueryPrepared(pg, name, p->n, p->val, p->len, p->fmt, 1) == 1;
    }
    sent = sent && PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 1) == 1 && PQpipelineSync(pg) == 1;
    /* Each statement answers with one result, then NULL; the sync ends. */
    int answered = 0, nulls = 0;
    bool synced = false, refused = false; /* the server answered BEGIN with an error */
    while (sent && !synced && nulls < 2) {
        PGresult *r = PQgetResult(pg);
        if (r == NULL) {
            nulls = PQstatus(pg) != CONNECTION_OK ? 2 : nulls + 1;
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(r);
        synced = st == PGRES_PIPELINE_SYNC;
        if (!synced && st != PGRES_PIPELINE_ABORTED) {
            int e = from_pg(pg, r);
            refused = refused || (answered == 0 && e != 0 && PQresultErrorField(r, PG_DIAG_SQLSTATE) != NULL);
            *rc = *rc != 0 ? *rc : e;
        }
        answered += !synced;
        PQclear(r);
    }
    if (synced && PQexitPipelineMode(pg) == 1) {
        if (*rc != 0) {
            (void)exec_text(pg, "ROLLBACK");
        }
        return PIPE_DONE;
    }
    /* The connection is gone (or the pipeline is in an unknown state). */
    *rc = SCITT_EUNAVAIL;
    if (PQstatus(pg) == CONNECTION_OK) {
        PQreset(pg); /* leaves pipeline mode; writer_ready takes it up */
    }
    return refused ? PIPE_NOT_BEGUN : PIPE_LOST;
}

/* count_tail counts `n` more records in the index tail. */
static void count_tail(pg_store_t *st, size_t n)
{
    pthread_mutex_lock(&st->merge_lock);
    st->tail_rows += n;
    pthread_mutex_unlock(&st->merge_lock);
}

/* resolve decides a commit in doubt from the stored log end and the root
 * of the batch's head: 0 committed, SCITT_EUNAVAIL not committed,
 * SCITT_ECONFLICT another writer moved the log, SCITT_EINDOUBT still
 * unreachable. */
static int resolve(pg_store_t *st)
{
    int rc = writer_ready(st);
    if (rc == SCITT_EUNAVAIL) {
        return SCITT_EINDOUBT;
    }
    params_t p = {.n = 0};
    PGresult *r;
    p_int8(&p, st->doubt_head);
    rc = rc == 0 ? run(&st->writer, Q_RESOLVE, &p, &r) : rc;
    if (rc == SCITT_EUNAVAIL) {
        return SCITT_EINDOUBT;
    }
    if (rc != 0) {
        return rc;
    }
    if (PQntuples(r) != 1 || !is_i64(r, 0, 0)) {
        PQclear(r);
        return SCITT_ECORRUPT;
    }
    uint64_t end = (uint64_t)get_i64(r, 0, 0);
    bool root_ok = st->doubt_head < 0 || (!PQgetisnull(r, 0, 1) && PQgetlength(r, 0, 1) == 32 &&
                                          memcmp(PQgetvalue(r, 0, 1), st->doubt_root, 32) == 0);
    PQclear(r);
    st->in_doubt = false;
    if (end == st->doubt_end && root_ok) {
        st->commits++;
        count_tail(st, st->doubt_index);
        return 0;
    }
    return end == st->doubt_first ? SCITT_EUNAVAIL : SCITT_ECONFLICT;
}

void scitt_store__pg_lose_commit_reply(scitt_store_t *st)
{
    of(st)->lose_commit_reply = true;
}

/* lose_connection breaks the writer's connection under libpq (tests). */
static void lose_connection(pg_store_t *st)
{
    st->lose_commit_reply = false;
    shutdown(PQsocket(st->writer.pg), SHUT_RDWR);
    PQclear(PQexec(st->writer.pg, "SELECT 1")); /* libpq notices */
}

/* commit_pipeline runs the batch's transaction. A connection found dead
 * at BEGIN (the server restarted while we were idle: libpq notices on the
 * next statement) is reconnected and the batch sent again: nothing was
 * written. */
static pipe_end_t commit_pipeline(pg_store_t *st, const step_t *s, int n, int *rc)
{
    pipe_end_t end = PIPE_NOT_BEGUN;
    for (int tries = 0; tries < 2 && end == PIPE_NOT_BEGUN; tries++) {
        *rc = writer_ready(st);
        if (*rc != 0) {
            return PIPE_DONE;
        }
        end = pipeline(&st->writer, s, n, rc);
    }
    return end;
}

static int pg_commit(scitt_store_t *base, const scitt_store_batch_t *b)
{
    pg_store_t *st = of(base);
    if (st->in_doubt) {
        return SCITT_EINDOUBT; /* maintain resolves it first */
    }
    if (b->first_index > INT64_MAX || b->num_entries > INT64_MAX - b->first_index) {
        return SCITT_EINVAL;
    }
    scitt_buf_t a[NUM_ARRAYS];
    for (int i = 0; i < NUM_ARRAYS; i++) {
        scitt_buf_init(&a[i], NULL, 0);
    }
    size_t num_index = 0;
    int rc = batch_arrays(b, a, &num_index);
    pipe_end_t end = PIPE_DONE;
    if (rc == 0) {
        step_t steps[MAX_STEPS];
        char text[24];
        int n = batch_steps(b, a, num_index, text, steps);
        end = commit_pipeline(st, steps, n, &rc);
    }
    for (int i = 0; i < NUM_ARRAYS; i++) {
        scitt_buf_cleanup(&a[i]);
    }
    PQclear(st->taken); /* the batch may have pointed into the queue_take rows */
    st->taken = NULL;
    if (end == PIPE_DONE && rc == 0 && st->lose_commit_reply) {
        lose_connection(st); /* tests: as if COMMIT's reply never came */
        end = PIPE_LOST;
    }
    if (end == PIPE_LOST) {
        /* The outcome is unknown: look at what the database holds. */
        st->in_doubt = true;
        st->doubt_first = b->first_index;
        st->doubt_end = b->first_index + b->num_entries;
        st->doubt_head = b->head != NULL ? (int64_t)b->head->size : -1;
        st->doubt_index = num_index;
        if (b->head != NULL) {
            memcpy(st->doubt_root, b->head->root, 32);
        }
        return resolve(st);
    }
    if (rc == 0) {
        st->commits++;
        count_tail(st, num_index);
    } else if (rc == SCITT_ECONFLICT) {
        st->conflicts++;
    }
    if (rc == 0 || rc == SCITT_EUNAVAIL) {
        st->available = rc == 0;
    }
    return rc;
}

/* merge_tail moves the index records committed so far from the unindexed
 * tail into the scitt_index btree, sorted, in one statement (so a snapshot
 * sees each record in exactly one of them; records a commit adds meanwhile
 * are not in its snapshot and stay for the next merge), then vacuums the
 * tail so it is reused. 0 and the records moved in `*out_moved`, or an
 * error. */
static int merge_tail(PGconn *pg, size_t *out_moved)
{
    PGresult *r = PQexec(pg, "WITH m AS (DELETE FROM scitt_index_tail RETURNING key, leaf),"
                             " i AS (INSERT INTO scitt_index (key, leaf) SELECT key, leaf FROM m ORDER BY key, leaf)"
                             " SELECT count(*) FROM m");
    int rc = from_pg(pg, r);
    *out_moved = 0;
    if (rc == 0 && PQntuples(r) == 1) {
        *out_moved = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
    return rc == 0 ? exec_text(pg, "VACUUM scitt_index_tail") : rc;
}

/* merge_main: the merge thread. It merges the tail whenever `maintain`
 * asks (merge_want), on its own connection (opened on the first merge,
 * reset after a failure; a failed merge is asked for again by the next
 * maintain), until the store closes. */
static void *merge_main(void *arg)
{
    pthread_setname_np(pthread_self(), "pg-merge");
    pg_store_t *st = arg;
    PGconn *pg = NULL;
    pthread_mutex_lock(&st->merge_lock);
    for (;;) {
        while (!st->merge_want && !st->merge_stop) {
            pthread_cond_wait(&st->merge_cond, &st->merge_lock);
        }
        if (st->merge_stop) {
            break;
        }
        pthread_mutex_unlock(&st->merge_lock);
        if (pg == NULL) {
            pg = connect_db(st->conninfo);
        } else if (PQstatus(pg) != CONNECTION_OK) {
            PQreset(pg);
            PQsetNoticeProcessor(pg, quiet, NULL);
        }
        size_t moved = 0;
        int rc = pg != NULL && PQstatus(pg) == CONNECTION_OK ? merge_tail(pg, &moved) : SCITT_EUNAVAIL;
        pthread_mutex_lock(&st->merge_lock);
        if (rc == 0) {
            st->tail_rows = st->tail_rows > moved ? st->tail_rows - moved : 0;
        }
        st->merge_want = false;
    }
    pthread_mutex_unlock(&st->merge_lock);
    PQfinish(pg);
    return NULL;
}

/* want_merge wakes the merge thread (starting it the first time) once the
 * tail holds tail_max records. A thread that will not start leaves the
 * merge to the writer's connection, as a last resort. */
static int want_merge(pg_store_t *st)
{
    pthread_mutex_lock(&st->merge_lock);
    bool due = st->tail_rows >= st->tail_max && !st->merge_want;
    if (due && !st->merge_started) {
        st->merge_started = pthread_create(&st->merge_thread, NULL, merge_main, st) == 0;
    }
    if (due && st->merge_started) {
        st->merge_want = true;
        pthread_cond_signal(&st->merge_cond);
        due = false;
    }
    pthread_mutex_unlock(&st->merge_lock);
    if (!due) {
        return 0;
    }
    size_t moved;
    int rc = merge_tail(st->writer.pg, &moved);
    pthread_mutex_lock(&st->merge_lock);
    if (rc == 0) {
        st->tail_rows = st->tail_rows > moved ? st->tail_rows - moved : 0;
    }
    pthread_mutex_unlock(&st->merge_lock);
    return rc;
}

static int pg_maintain(scitt_store_t *base)
{
    pg_store_t *st = of(base);
    int rc = 0;
    if (st->in_doubt) {
        rc = resolve(st);
        if (rc == SCITT_EINDOUBT) {
            return rc;
        }
        /* Resolved either way: the sequencer re-reads the log. */
    }
    rc = writer_ready(st);
    if (rc == 0) {
        rc = want_merge(st);
    }
    if (rc == 0 && time(NULL) - st->bytes_at >= BYTES_EVERY) {
        refresh_bytes(st);
    }
    return rc;
}

static void pg_stats(scitt_store_t *base, scitt_store_stats_t *out)
{
    pg_store_t *st = of(base);
    *out = (scitt_store_stats_t){
        .engine = "postgresql",
        .available = st->available,
        .bytes = st->bytes,
        .commits = st->commits,
        .conflicts = st->conflicts,
        .reconnects = st->reconnects,
        .lease_held = st->lease_held,
        .writer_epoch = st->writer_epoch,
        .lease_takeovers = st->takeovers,
        .queued = st->queued,
    };
}

/* ---- reads ---- */

/* thread_conn: the calling thread's connection to `st`, opened lazily. */
static int thread_conn(pg_store_t *st, pg_conn_t **out)
{
    pg_conn_t *c = pthread_getspecific(st->key);
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            return SCITT_ENOMEM;
        }
        c->st = st;
        c->pg = connect_db(st->conninfo);
        if (c->pg == NULL) {
            free(c);
            return SCITT_ENOMEM;
        }
        pthread_setspecific(st->key, c);
        pthread_mutex_lock(&st->lock);
        c->next = st->conns;
        st->conns = c;
        pthread_mutex_unlock(&st->lock);
    } else if (c->depth == 0 && PQstatus(c->pg) != CONNECTION_OK) {
        PQreset(c->pg);
        c->prepared = 0;
        PQsetNoticeProcessor(c->pg, quiet, NULL);
        if (PQstatus(c->pg) == CONNECTION_OK) {
            st->reconnects++;
            st->available = true;
        }
    }
    *out = c;
    return PQstatus(c->pg) == CONNECTION_OK ? 0 : SCITT_EUNAVAIL;
}

static int pg_read_begin(scitt_store_t *base, scitt_store_read_t **out)
{
    pg_store_t *st = of(base);
    pg_conn_t *c;
    int rc = thread_conn(st, &c);
    if (rc != 0) {
        return rc;
    }
    if (c->depth == 0) {
        /* The snapshot is taken by the first statement: take it now. A
         * connection found dead only now gets one more try. */
        static const char begin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT 1";
        rc = exec_text(c->pg, begin);
        if (rc == SCITT_EUNAVAIL && PQstatus(c->pg) != CONNECTION_OK && thread_conn(st, &c) == 0) {
            rc = exec_text(c->pg, begin);
        }
        if (rc != 0) {
            (void)exec_text(c->pg, "ROLLBACK");
            return rc;
        }
    }
    pg_read_t *rd = calloc(1, sizeof(*rd));
    if (rd == NULL) {
        if (c->depth == 0) {
            (void)exec_text(c->pg, "ROLLBACK");
        }
        return SCITT_ENOMEM;
    }
    c->depth++;
    rd->base.st = base;
    rd->c = c;
    *out = &rd->base;
    return 0;
}

static void pg_read_end(scitt_store_read_t *base)
{
    if (base == NULL) {
        return;
    }
    pg_read_t *rd = rd_of(base);
    for (size_t i = 0; i < rd->num_res; i++) {
        PQclear(rd->res[i]);
    }
    free(rd->res);
    if (--rd->c->depth == 0 && PQstatus(rd->c->pg) == CONNECTION_OK) {
        (void)exec_text(rd->c->pg, "COMMIT");
    }
    free(rd);
}

/* query runs a read statement on the handle's connection and keeps the
 * result until read_end. */
static int query(pg_read_t *rd, int id, const params_t *p, PGresult **out)
{
    if (rd->num_res == rd->cap_res) {
        size_t cap = rd->cap_res == 0 ? 4 : rd->cap_res * 2;
        PGresult **res = realloc(rd->res, cap * sizeof(*res));
        if (res == NULL) {
            return SCITT_ENOMEM;
        }
        rd->res = res;
        rd->cap_res = cap;
    }
    int rc = run(rd->c, id, p, out);
    if (rc == 0) {
        rd->res[rd->num_res++] = *out;
    }
    if (rc == 0 || rc == SCITT_EUNAVAIL) {
        atomic_store_explicit(&rd->c->st->available, rc == 0, memory_order_relaxed);
    }
    return rc;
}

static int pg_get_entries(scitt_store_read_t *base, uint64_t first, size_t n, scitt_span_t *out)
{
    if (n == 0) {
        return 0;
    }
    if (first >= INT64_MAX || n > INT64_MAX - first) {
        return SCITT_ENOTFOUND;
    }
    params_t p = {.n = 0};
    PGresult *r;
    p_leaf(&p, first);
    p_leaf(&p, first + n);
    int rc = query(rd_of(base), Q_ENTRIES, &p, &r);
    if (rc != 0) {
        return rc;
    }
    if ((size_t)PQntuples(r) != n) {
        return SCITT_ENOTFOUND;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_i64(r, (int)i, 0) || (uint64_t)get_i64(r, (int)i, 0) != first + i) {
            return SCITT_ENOTFOUND;
        }
        out[i] = scitt_span((const uint8_t *)PQgetvalue(r, (int)i, 1), (size_t)PQgetlength(r, (int)i, 1));
    }
    return 0;
}

static int pg_get_tiles(scitt_store_read_t *base, const scitt_store_tile_id_t *ids, size_t n,
                        scitt_store_tile_hashes_t *out)
{
    scitt_buf_t a[2];
    scitt_buf_init(&a[0], NULL, 0);
    scitt_buf_init(&a[1], NULL, 0);
    int rc = arr_begin(&a[0], OID_INT2, n);
    rc = rc == 0 ? arr_begin(&a[1], OID_INT8, n) : rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t level[2];
        scitt_store_be16(level, (uint16_t)(ids[i].level > 255 ? 255 : ids[i].level));
        rc = arr_put(&a[0], level, 2);
        rc = rc == 0 ? arr_i64(&a[1], ids[i].index > INT64_MAX ? INT64_MAX : ids[i].index) : rc;
        out[i] = (scitt_store_tile_hashes_t){NULL, 0};
    }
    PGresult *r = NULL;
    if (rc == 0 && n > 0) {
        params_t p = {.n = 0};
        p_buf(&p, &a[0]);
        p_buf(&p, &a[1]);
        rc = query(rd_of(base), Q_TILES, &p, &r);
    }
    scitt_buf_cleanup(&a[0]);
    scitt_buf_cleanup(&a[1]);
    for (int row = 0; rc == 0 && r != NULL && row < PQntuples(r); row++) {
        int64_t i = is_i64(r, row, 0) ? get_i64(r, row, 0) : 0;
        size_t len = (size_t)PQgetlength(r, row, 1);
        if (i < 1 || (uint64_t)i > n || len == 0 || len % 32 != 0 || len > 256 * 32) {
            return SCITT_ECORRUPT;
        }
        out[i - 1] = (scitt_store_tile_hashes_t){(const uint8_t *)PQgetvalue(r, row, 1), len / 32};
    }
    return rc;
}

static int pg_find_entries(scitt_store_read_t *base, const uint8_t (*hashes)[32], size_t n, uint64_t *out)
{
    scitt_buf_t a;
    scitt_buf_init(&a, NULL, 0);
    int rc = arr_begin(&a, OID_BYTEA, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = arr_put(&a, hashes[i], 32);
        out[i] = UINT64_MAX;
    }
    PGresult *r = NULL;
    if (rc == 0 && n > 0) {
        params_t p = {.n = 0};
        p_buf(&p, &a);
        rc = query(rd_of(base), Q_FIND, &p, &r);
    }
    scitt_buf_cleanup(&a);
    for (int row = 0; rc == 0 && r != NULL && row < PQntuples(r); row++) {
        int64_t i = is_i64(r, row, 0) ? get_i64(r, row, 0) : 0;
        if (i < 1 || (uint64_t)i > n || !is_i64(r, row, 1) || get_i64(r, row, 1) < 0) {
            return SCITT_ECORRUPT;
        }
        out[i - 1] = (uint64_t)get_i64(r, row, 1);
    }
    return rc;
}

static int pg_get_head(scitt_store_read_t *base, int how, uint64_t size, scitt_store_head_t *out)
{
    params_t p = {.n = 0};
    PGresult *r;
    int id = how == SCITT_STORE_HEAD_EXACT ? Q_HEAD_EXACT : how == SCITT_STORE_HEAD_FROM ? Q_HEAD_FROM : Q_HEAD_LATEST;
    if (id != Q_HEAD_LATEST) {
        if (size > INT64_MAX) {
            return SCITT_ENOTFOUND;
        }
        p_leaf(&p, size);
    }
    int rc = query(rd_of(base), id, &p, &r);
    if (rc != 0) {
        return rc;
    }
    if (PQntuples(r) == 0) {
        return SCITT_ENOTFOUND;
    }
    if (!is_i64(r, 0, 0) || PQgetlength(r, 0, 1) != 32 || !is_i64(r, 0, 2)) {
        return SCITT_ECORRUPT;
    }
    out->size = (uint64_t)get_i64(r, 0, 0);
    memcpy(out->root, PQgetvalue(r, 0, 1), 32);
    out->time = get_i64(r, 0, 2);
    out->receipt_sig = scitt_span((const uint8_t *)PQgetvalue(r, 0, 3), (size_t)PQgetlength(r, 0, 3));
    out->checkpoint = scitt_span((const uint8_t *)PQgetvalue(r, 0, 4), (size_t)PQgetlength(r, 0, 4));
    out->receipt_kid = scitt_span((const uint8_t *)PQgetvalue(r, 0, 5), (size_t)PQgetlength(r, 0, 5));
    return 0;
}

static int pg_get_meta(scitt_store_read_t *base, const char *key, scitt_span_t *out)
{
    params_t p = {.n = 0};
    PGresult *r;
    p_bytes(&p, key, strlen(key));
    int rc = query(rd_of(base), Q_META, &p, &r);
    if (rc == 0 && PQntuples(r) == 0) {
        rc = SCITT_ENOTFOUND;
    }
    if (rc == 0) {
        *out = scitt_span((const uint8_t *)PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    }
    return rc;
}

/* pg_query: the leaf range [lo, hi) from `from` and the heads' times,
 * then (with keys) at most `budget` records of the rarest key examined in
 * leaf order, as LMDB's runs do. out_next as store.h says: the first match
 * past `max`, or the first record the bound left unexamined. */
static int pg_query(scitt_store_read_t *base, const scitt_store_query_t *q, uint64_t *out, size_t max, size_t *out_num,
                    uint64_t *out_next)
{
    pg_read_t *rd = rd_of(base);
    *out_num = 0;
    *out_next = UINT64_MAX;
    if (q->num_keys > SCITT_STORE_QUERY_MAX_KEYS || (q->num_keys > 0 && q->keys == NULL) || max == 0) {
        return SCITT_EINVAL;
    }
    params_t p = {.n = 0};
    PGresult *r;
    p_leaf(&p, q->from);
    p_int8(&p, q->since);
    p_int8(&p, q->until);
    int rc = query(rd, Q_RANGE, &p, &r);
    if (rc != 0) {
        return rc;
    }
    if (PQntuples(r) != 1 || !is_i64(r, 0, 0) || !is_i64(r, 0, 1)) {
        return SCITT_ECORRUPT;
    }
    uint64_t lo = (uint64_t)get_i64(r, 0, 0), hi = (uint64_t)get_i64(r, 0, 1);
    if (lo >= hi) {
        return 0;
    }
    if (q->num_keys == 0) {
        size_t n = hi - lo < max ? (size_t)(hi - lo) : max;
        for (size_t i = 0; i < n; i++) {
            out[i] = lo + i;
        }
        *out_num = n;
        *out_next = lo + n < hi ? lo + n : UINT64_MAX;
        return 0;
    }
    uint64_t budget = max > 1000000 ? 64000000 + 4096 : 64 * (uint64_t)max + 4096;
    scitt_buf_t keys;
    scitt_buf_init(&keys, NULL, 0);
    rc = arr_begin(&keys, OID_INT8, q->num_keys);
    for (size_t i = 0; rc == 0 && i < q->num_keys; i++) {
        rc = arr_i64(&keys, q->keys[i]);
    }
    if (rc == 0) {
        p = (params_t){.n = 0};
        p_buf(&p, &keys);
        p_leaf(&p, lo);
        p_leaf(&p, hi);
        p_leaf(&p, budget);
        p_leaf(&p, (uint64_t)max + 1);
        rc = query(rd, Q_QUERY, &p, &r);
    }
    scitt_buf_cleanup(&keys);
    if (rc != 0) {
        return rc;
    }
    int rows = PQntuples(r);
    if (rows < 1 || !is_i64(r, 0, 0)) {
        return SCITT_ECORRUPT;
    }
    /* Scanned past the bound: the last record was not examined. */
    uint64_t stop = (uint64_t)get_i64(r, 0, 0) > budget && is_i64(r, 0, 1) ? (uint64_t)get_i64(r, 0, 1) : UINT64_MAX;
    size_t n = 0;
    for (int row = 0; row < rows && is_i64(r, row, 2); row++) {
        uint64_t leaf = (uint64_t)get_i64(r, row, 2);
        if (leaf >= stop) {
            break;
        }
        if (n == max) {
            *out_next = leaf; /* the next page starts exactly here */
            break;
        }
        out[n++] = leaf;
    }
    if (*out_next == UINT64_MAX) {
        *out_next = stop;
    }
    *out_num = n;
    return 0;
}

static int pg_index_stats(scitt_store_read_t *rd, scitt_store_index_stats_t *out)
{
    (void)rd;
    *out = (scitt_store_index_stats_t){0}; /* one btree, no runs */
    return 0;
}

/* ---- several processes, one log (issue 18; docs/PLAN-18-CLUSTER.md) ---- */

/* lease_state records what this handle holds (0: nothing) in `out` and
 * for stats. */
static void lease_state(pg_store_t *st, uint64_t epoch, scitt_store_lease_t *out)
{
    st->lease_epoch = epoch;
    st->lease_held = epoch != 0;
    if (epoch != 0) {
        st->writer_epoch = epoch;
    }
    out->held = epoch != 0;
    out->epoch = epoch;
}

static void lease_holder(scitt_store_lease_t *out, const PGresult *r, int col)
{
    snprintf(out->holder, sizeof(out->holder), "%.*s", PQgetlength(r, 0, col), PQgetvalue(r, 0, col));
}

/* lease_take takes the lease in one transaction (see W_LEASE_ROW): the
 * row, locked; an expired holder's session ended; the lock tried and, if
 * got, a new epoch. `had`: this session holds the lock already
 * (writer_acquire). A failure leaves the lock as it was. */
static int lease_take(pg_store_t *st, unsigned lease_ms, scitt_store_lease_t *out)
{
    bool had = lock_kept(st);
    int rc = writer_begin(st);
    params_t p = {.n = 0};
    PGresult *row = NULL, *r = NULL;
    rc = rc == 0 ? run(&st->writer, W_LEASE_ROW, &p, &row) : rc;
    if (rc == 0 && (PQntuples(row) != 1 || !is_i64(row, 0, 0) || PQgetlength(row, 0, 2) != 1)) {
        rc = SCITT_ECORRUPT;
    }
    if (rc == 0 && !had && PQgetvalue(row, 0, 2)[0] != 0) {
        p = (params_t){.n = 0};
        p_int8(&p, (int64_t)((uint64_t)LOCK_WRITER >> 32));
        p_int8(&p, LOCK_WRITER & 0xffffffff);
        p_int8(&p, KILL_WAIT);
        rc = run_once(&st->writer, W_LEASE_KILL, &p);
    }
    if (rc == 0) {
        p = (params_t){.n = 0};
        p_int8(&p, LOCK_WRITER);
        p_int8(&p, had);
        p_bytes(&p, st->holder, strlen(st->holder));
        p_int8(&p, lease_ms);
        rc = run(&st->writer, W_LEASE_TAKE, &p, &r);
    }
    bool got = rc == 0 && PQntuples(r) == 1 && is_i64(r, 0, 0) && get_i64(r, 0, 0) > 0;
    uint64_t epoch = got ? (uint64_t)get_i64(r, 0, 0) : 0;
    rc = rc == 0 ? exec_text(st->writer.pg, "COMMIT") : rc;
    if (rc == 0 && got) {
        st->lock_pid = PQbackendPID(st->writer.pg);
        st->acquired = false;
        st->takeovers++;
        lease_state(st, epoch, out);
        out->taken_over = true;
        snprintf(out->holder, sizeof(out->holder), "%s", st->holder);
    } else if (rc == 0) {
        lease_holder(out, row, 1);
    } else if (PQstatus(st->writer.pg) == CONNECTION_OK) {
        (void)exec_text(st->writer.pg, "ROLLBACK");
        if (!had) {
            /* A lock the failed transaction took stays with the session. */
            (void)run_once(&st->writer, W_RELEASE, &(params_t){.n = 0});
            st->lock_pid = 0;
        }
    }
    PQclear(row);
    PQclear(r);
    return rc;
}

/* pg_lease renews the lease this handle holds (its session still the one
 * that took it, the row still naming that session and epoch) or tries to
 * take it. A lost session lost the lease: taken again, with a new epoch. */
static int pg_lease(scitt_store_t *base, unsigned lease_ms, scitt_store_lease_t *out)
{
    pg_store_t *st = of(base);
    uint64_t epoch = lock_kept(st) ? st->lease_epoch : 0;
    lease_state(st, 0, out);
    int rc = writer_ready(st); /* SCITT_EBUSY: writer_acquire's lock is gone, try the lease */
    if (rc != 0 && rc != SCITT_EBUSY) {
        return rc;
    }
    if (epoch != 0) {
        params_t p = {.n = 0};
        PGresult *r;
        p_leaf(&p, epoch);
        p_int8(&p, lease_ms);
        rc = run(&st->writer, W_RENEW, &p, &r);
        bool renewed = rc == 0 && PQntuples(r) == 1;
        if (renewed) {
            lease_state(st, epoch, out);
            lease_holder(out, r, 0);
        }
        PQclear(r);
        if (renewed || (rc != 0 && PQstatus(st->writer.pg) == CONNECTION_OK)) {
            return rc;
        }
        if (rc == 0) {
            /* The row names another epoch or session: the lock goes too. */
            (void)run_once(&st->writer, W_RELEASE, &(params_t){.n = 0});
        }
        st->lock_pid = 0; /* or the session was found gone only now: take it again */
    }
    return lease_take(st, lease_ms, out);
}

static int pg_lease_release(scitt_store_t *base)
{
    pg_store_t *st = of(base);
    scitt_store_lease_t none;
    lease_state(st, 0, &none);
    st->acquired = false;
    if (!lock_kept(st)) {
        st->lock_pid = 0;
        return 0; /* its session is gone, and the lock with it */
    }
    st->lock_pid = 0;
    return run_once(&st->writer, W_RELEASE, &(params_t){.n = 0});
}

/* pg_queue_put queues statements in one transaction, pipelined: the queue
 * lock (seq order is commit order, see W_QLOCK) with the notification,
 * then the rows. An outcome lost with the connection is SCITT_EINDOUBT
 * (store.h): the caller reads the queue back before it answers anyone;
 * putting the rows again is harmless (ON CONFLICT DO NOTHING). */
static int queue_put_on(pg_store_t *st, pg_conn_t *c, const scitt_store_queued_t *q, size_t n)
{
    scitt_buf_t a[3];
    for (int i = 0; i < 3; i++) {
        scitt_buf_init(&a[i], NULL, 0);
    }
    int rc = arr_begin(&a[0], OID_BYTEA, n);
    rc = rc == 0 ? arr_begin(&a[1], OID_BYTEA, n) : rc;
    rc = rc == 0 ? arr_begin(&a[2], OID_BYTEA, n) : rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t keys[SCITT_STORE_INDEX_FIELDS * 8];
        if (q[i].num_keys > SCITT_STORE_INDEX_FIELDS) {
            rc = SCITT_EINVAL;
            break;
        }
        for (size_t k = 0; k < q[i].num_keys; k++) {
            scitt_store_be64(keys + 8 * k, q[i].keys[k]);
        }
        rc = arr_put(&a[0], q[i].entry_hash, 32);
        rc = rc == 0 ? arr_put(&a[1], q[i].stored.base, q[i].stored.len) : rc;
        rc = rc == 0 ? arr_put(&a[2], keys, 8 * q[i].num_keys) : rc;
    }
    if (rc == 0) {
        step_t steps[2];
        int num = 0;
        p_int8(add_step(steps, &num, W_QLOCK), LOCK_QUEUE);
        add_arrays(steps, &num, W_QPUT, a, 3);
        pipe_end_t end = c == NULL ? commit_pipeline(st, steps, num, &rc) : pipeline(c, steps, num, &rc);
        if (end == PIPE_LOST) {
            rc = SCITT_EINDOUBT;
        }
        st->queued += rc == 0 && c == NULL ? n : 0;
    }
    for (int i = 0; i < 3; i++) {
        scitt_buf_cleanup(&a[i]);
    }
    return rc;
}

static int pg_queue_put(scitt_store_t *base, const scitt_store_queued_t *q, size_t n)
{
    return queue_put_on(of(base), NULL, q, n);
}

/* pg_queue_put_aside is queue_put on the calling thread's own connection
 * (the one its reads use), never the writer's: it goes through while the
 * writer's connection waits in a commit. */
static int pg_queue_put_aside(scitt_store_t *base, const scitt_store_queued_t *q, size_t n)
{
    pg_store_t *st = of(base);
    pg_conn_t *c;
    int rc = thread_conn(st, &c);
    if (rc == 0 && c->depth != 0) {
        rc = SCITT_EINVAL; /* a read handle of this thread is open on it */
    }
    return rc != 0 ? rc : queue_put_on(st, c, q, n);
}

static int pg_queue_take(scitt_store_t *base, uint64_t after, scitt_store_queued_t *out, size_t max, size_t *out_num)
{
    pg_store_t *st = of(base);
    PQclear(st->taken);
    st->taken = NULL;
    if (max == 0) {
        return 0;
    }
    int rc = writer_ready(st);
    params_t p = {.n = 0};
    p_leaf(&p, after);
    p_leaf(&p, max);
    PGresult *r = NULL;
    rc = rc == 0 ? run(&st->writer, W_QTAKE, &p, &r) : rc;
    if (rc != 0) {
        return rc;
    }
    st->taken = r;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && (size_t)i < max; i++) {
        size_t keys_len = (size_t)PQgetlength(r, i, 3);
        if (!is_i64(r, i, 0) || get_i64(r, i, 0) < 1 || PQgetlength(r, i, 1) != 32 || keys_len % 8 != 0 ||
            keys_len > 8 * SCITT_STORE_INDEX_FIELDS) {
            return SCITT_ECORRUPT;
        }
        scitt_store_queued_t *q = &out[i];
        q->seq = (uint64_t)get_i64(r, i, 0);
        memcpy(q->entry_hash, PQgetvalue(r, i, 1), 32);
        q->stored = scitt_span((const uint8_t *)PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
        q->num_keys = keys_len / 8;
        for (size_t k = 0; k < q->num_keys; k++) {
            q->keys[k] = scitt_load_be64((const uint8_t *)PQgetvalue(r, i, 3) + 8 * k);
        }
        *out_num = (size_t)i + 1;
    }
    return 0;
}

static int pg_queue_drop(scitt_store_t *base, const uint8_t (*hashes)[32], size_t n)
{
    pg_store_t *st = of(base);
    scitt_buf_t a;
    scitt_buf_init(&a, NULL, 0);
    int rc = hash_array(&a, hashes, n);
    rc = rc == 0 ? writer_ready(st) : rc;
    if (rc == 0) {
        params_t p = {.n = 0};
        p_buf(&p, &a);
        rc = run_once(&st->writer, W_DEQUEUE, &p);
    }
    scitt_buf_cleanup(&a);
    return rc;
}

static int pg_queue_has(scitt_store_read_t *base, const uint8_t (*hashes)[32], size_t n, bool *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = false;
    }
    if (n == 0) {
        return 0;
    }
    scitt_buf_t a;
    scitt_buf_init(&a, NULL, 0);
    PGresult *r = NULL;
    int rc = hash_array(&a, hashes, n);
    if (rc == 0) {
        params_t p = {.n = 0};
        p_buf(&p, &a);
        rc = query(rd_of(base), Q_QHAS, &p, &r);
    }
    scitt_buf_cleanup(&a);
    for (int row = 0; rc == 0 && row < PQntuples(r); row++) {
        int64_t i = is_i64(r, row, 0) ? get_i64(r, row, 0) : 0;
        if (i < 1 || (uint64_t)i > n) {
            return SCITT_ECORRUPT;
        }
        out[i - 1] = true;
    }
    return rc;
}

static int pg_wait_event(scitt_store_t *base, unsigned timeout_ms, unsigned *out_events, uint64_t *out_size)
{
    return scitt_pg__events_wait(of(base)->events, timeout_ms, out_events, out_size);
}

static void pg_wake(scitt_store_t *base)
{
    scitt_pg__events_wake(of(base)->events);
}

void scitt_store__pg_cut_events(scitt_store_t *st)
{
    scitt_pg__events_cut(of(st)->events);
}

const scitt_store_ops_t scitt_store__pg_ops = {
    .name = "postgresql",
    .local_reads = false,
    .open = pg_open,
    .close = pg_close,
    .writer_acquire = pg_writer_acquire,
    .commit = pg_commit,
    .meta_put = pg_meta_put,
    .maintain = pg_maintain,
    .stats = pg_stats,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .get_entries = pg_get_entries,
    .get_tiles = pg_get_tiles,
    .find_entries = pg_find_entries,
    .get_head = pg_get_head,
    .get_meta = pg_get_meta,
    .query = pg_query,
    .index_stats = pg_index_stats,
    .lease = pg_lease,
    .lease_release = pg_lease_release,
    .queue_put = pg_queue_put,
    .queue_put_aside = pg_queue_put_aside,
    .queue_take = pg_queue_take,
    .queue_drop = pg_queue_drop,
    .queue_has = pg_queue_has,
    .wait_event = pg_wait_event,
    .wake = pg_wake,
};
