/*
 * fixture.c: see fixture.h.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>

#include "scitt/crypto.h"

#ifdef SCITT_HAVE_POSTGRESQL
#include "pq.h"
#endif

static char dir[256];
static char database[512]; /* the store's conninfo; empty on LMDB */
static char dbname[40];

bool fx_pg(void)
{
    const char *e = getenv("SCITT_TEST_ENGINE");
    return e != NULL && strcmp(e, "postgresql") == 0;
}

const char *fx_dir(void)
{
    return dir;
}

void fx_config(scitt_store_config_t *cfg)
{
    if (fx_pg()) {
        cfg->dir = NULL;
        cfg->database = database;
    } else {
        cfg->dir = dir;
        cfg->database = NULL;
    }
}

scitt_store_t *fx_open(scitt_store_config_t *cfg)
{
    fx_config(cfg);
    scitt_store_t *st;
    const char *why = NULL;
    int rc = scitt_store_open(&st, cfg, &why);
    cr_assert_eq(rc, 0, "open: %s (%s)", scitt_strerror(rc), why ? why : "");
    return st;
}

#ifdef SCITT_HAVE_POSTGRESQL
/* admin connects to the server (SCITT_TEST_DATABASE) or the test's database. */
static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *admin(const char *conninfo)
{
    const char *why = NULL;
    cr_assert_eq(scitt_pq_load(&why), 0, "%s", why);
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "cannot connect to the test database: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(r);
    cr_assert(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

void fx_sql(const char *sql)
{
    cr_assert(fx_pg());
    PGconn *c = admin(database);
    exec_ok(c, sql);
    PQfinish(c);
}

long long fx_sql_value(const char *sql)
{
    cr_assert(fx_pg());
    PGconn *c = admin(database);
    PGresult *r = PQexec(c, sql);
    cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0), "%s: %s", sql,
              PQerrorMessage(c));
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

struct fx_session {
    PGconn *c;
};

fx_session_t *fx_session(void)
{
    cr_assert(fx_pg());
    fx_session_t *s = calloc(1, sizeof(*s));
    cr_assert_not_null(s);
    s->c = admin(database);
    return s;
}

void fx_session_sql(fx_session_t *s, const char *sql)
{
    exec_ok(s->c, sql);
}

void fx_session_end(fx_session_t *s)
{
    PQfinish(s->c);
    free(s);
}

void fx_server_sql(const char *fmt)
{
    cr_assert(fx_pg());
    char sql[512];
    size_t n = 0;
    for (const char *p = fmt; *p != '\0' && n + sizeof(dbname) < sizeof(sql); p++) {
        if (p[0] == '%' && p[1] == 's') {
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s", dbname);
            p++;
        } else {
            sql[n++] = *p;
        }
    }
    sql[n] = '\0';
    PGconn *c = admin(getenv("SCITT_TEST_DATABASE"));
    exec_ok(c, sql);
    PQfinish(c);
}

static void create_database(void)
{
    const char *server = getenv("SCITT_TEST_DATABASE");
    if (server == NULL || server[0] == '\0') {
        cr_assert_fail("SCITT_TEST_ENGINE=postgresql needs SCITT_TEST_DATABASE: run under tests/tools/pgtmp --");
    }
    uint8_t rnd[8];
    cr_assert_eq(getrandom(rnd, sizeof(rnd), 0), (ssize_t)sizeof(rnd));
    snprintf(dbname, sizeof(dbname), "t_%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
             rnd[5], rnd[6], rnd[7]);
    PGconn *c = admin(server);
    char sql[96];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
    exec_ok(c, sql);
    snprintf(database, sizeof(database), "host=%s port=%s user=%s dbname=%s", PQhost(c), PQport(c), PQuser(c), dbname);
    PQfinish(c);
}

static void drop_database(void)
{
    PGconn *c = admin(getenv("SCITT_TEST_DATABASE"));
    char sql[96];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    exec_ok(c, sql);
    PQfinish(c);
}
#else
void fx_sql(const char *sql)
{
    (void)sql;
    cr_assert_fail("built without PostgreSQL");
}

void fx_server_sql(const char *sql)
{
    fx_sql(sql);
}

long long fx_sql_value(const char *sql)
{
    fx_sql(sql);
    return 0;
}

fx_session_t *fx_session(void)
{
    fx_sql("");
    return NULL;
}

void fx_session_sql(fx_session_t *s, const char *sql)
{
    (void)s;
    fx_sql(sql);
}

void fx_session_end(fx_session_t *s)
{
    (void)s;
}

static void create_database(void)
{
    cr_assert_fail("SCITT_TEST_ENGINE=postgresql, but this build has no PostgreSQL engine");
}

static void drop_database(void)
{
}
#endif

void fx_init(void)
{
    snprintf(dir, sizeof(dir), "/tmp/scitt-store-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    if (fx_pg()) {
        create_database();
    }
}

void fx_fini(void)
{
    char cmd[300];
    umount(dir); /* full_tmpfs may leave its mount behind when it fails */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    if (fx_pg() && dbname[0] != '\0') {
        drop_database();
    }
}

/* fx_commit_batch writes `n` entries of `entry_len` bytes starting at `first`,
 * each filled with a byte derived from its index, and a head at first + n. */
void fx_entry(uint8_t *out, uint64_t index, size_t entry_len)
{
    memset(out, (int)(index & 0xff), entry_len);
    scitt_store_be64(out, index); /* unique entries */
}

int fx_commit_batch(scitt_store_t *st, uint64_t first, size_t n, size_t entry_len)
{
    return fx_commit_shared(st, first, n, entry_len, 0, NULL, 0);
}

static int commit(scitt_store_t *st, uint64_t first, size_t n, size_t entry_len, uint64_t epoch,
                  const uint8_t (*dequeue)[32], size_t num_dequeue, scitt_span_t kid)
{
    uint8_t *data = malloc(n * entry_len);
    scitt_span_t *entries = malloc(n * sizeof(*entries));
    uint8_t(*hashes)[32] = calloc(n, 32);
    for (size_t i = 0; i < n; i++) {
        fx_entry(data + i * entry_len, first + i, entry_len);
        entries[i] = scitt_span(data + i * entry_len, entry_len);
        scitt_sha256(hashes[i], entries[i].base, entry_len); /* entry index keys: entry hashes */
    }
    /* The level-0 tile holds the leaf hashes SHA-256(0x00 || entry hash),
     * which the entry index lookup confirms against. */
    uint8_t tile[256][32], *e = malloc(entry_len);
    for (uint64_t j = (first + n - 1) / 256 * 256; j < first + n; j++) {
        uint8_t in[33] = {0x00};
        fx_entry(e, j, entry_len);
        scitt_sha256(in + 1, e, entry_len);
        scitt_sha256(tile[j % 256], in, sizeof(in));
    }
    free(e);
    /* The growing level-0 tile that holds the batch's last entry. */
    scitt_store_tile_t t = {0, (first + n - 1) / 256, (first + n - 1) % 256 + 1, (const uint8_t(*)[32])tile};
    scitt_store_head_t head = {.size = first + n, .time = 1700000000 + (int64_t)first};
    memset(head.root, (int)(n & 0xff), 32);
    head.receipt_sig = scitt_span("sig", 3);
    head.checkpoint = scitt_span("note\n", 5);
    head.receipt_kid = kid;
    scitt_store_batch_t b = {first, n,       entries,    (const uint8_t(*)[32])hashes, &t, 1, &head, NULL, 0,
                             epoch, dequeue, num_dequeue};
    int rc = scitt_store_commit(st, &b);
    free(data);
    free(entries);
    free(hashes);
    return rc;
}

int fx_commit_shared(scitt_store_t *st, uint64_t first, size_t n, size_t entry_len, uint64_t epoch,
                     const uint8_t (*dequeue)[32], size_t num_dequeue)
{
    return commit(st, first, n, entry_len, epoch, dequeue, num_dequeue, scitt_span(NULL, 0));
}

int fx_commit_kid(scitt_store_t *st, uint64_t first, size_t n, size_t entry_len, const uint8_t kid[32])
{
    return commit(st, first, n, entry_len, 0, NULL, 0, scitt_span(kid, 32));
}

/* fx_check_log asserts entries 0..size-1 and the head at `size` are present. */
void fx_check_log(scitt_store_t *st, uint64_t size, size_t entry_len)
{
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    for (uint64_t i = 0; i < size; i++) {
        scitt_span_t e;
        cr_assert_eq(scitt_store_get_entry(rd, i, &e), 0, "entry %lu", (unsigned long)i);
        cr_assert_eq(e.len, entry_len);
        cr_assert_eq(e.base[entry_len - 1], (uint8_t)(i & 0xff));
        uint8_t h[32];
        uint64_t idx;
        scitt_sha256(h, e.base, e.len);
        cr_assert_eq(scitt_store_get_entryidx(rd, h, &idx), 0, "entry index %lu", (unsigned long)i);
        cr_assert_eq(idx, i);
    }
    scitt_span_t e;
    cr_assert_eq(scitt_store_get_entry(rd, size, &e), SCITT_ENOTFOUND);
    scitt_store_head_t head;
    if (size > 0) {
        cr_assert_eq(scitt_store_get_latest_head(rd, &head), 0);
        cr_assert_eq(head.size, size);
        cr_assert(scitt_span_eq(head.receipt_sig, scitt_span("sig", 3)));
        cr_assert(scitt_span_eq(head.checkpoint, scitt_span("note\n", 5)));
    }
    scitt_store_read_end(rd);
}
