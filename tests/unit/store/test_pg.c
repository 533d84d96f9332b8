/*
 * test_pg.c: what the PostgreSQL engine adds to the store's contract (a
 * database shared by several handles, its schema, the writer lock, read
 * snapshots, connection trouble). Each test skips on LMDB, except those
 * that hold for both engines.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "pg.h"
#include "scitt/crypto.h"
#include "scitt/store.h"

TestSuite(store_pg, .init = fx_init, .fini = fx_fini);

#define PG_ONLY FX_PG_ONLY

static scitt_store_t *open_store(void)
{
    scitt_store_config_t cfg = {0};
    return fx_open(&cfg);
}

static uint64_t log_end(scitt_store_t *st)
{
    scitt_store_read_t *rd;
    scitt_store_head_t h;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    int rc = scitt_store_get_latest_head(rd, &h);
    scitt_store_read_end(rd);
    return rc == 0 ? h.size : 0;
}

/* Two handles on one database: the second commits, and the first's next
 * commit (which still believes in the old log end) writes nothing. */
Test(store_pg, cas_conflict_from_a_second_handle)
{
    PG_ONLY();
    scitt_store_t *a = open_store(), *b = open_store();
    cr_assert_eq(fx_commit_batch(a, 0, 10, 100), 0);
    cr_assert_eq(fx_commit_batch(b, 10, 5, 100), 0);
    cr_assert_eq(fx_commit_batch(a, 10, 3, 100), SCITT_ECONFLICT);
    scitt_store_stats_t s;
    scitt_store_stats(a, &s);
    cr_assert_str_eq(s.engine, "postgresql");
    cr_assert_eq(s.commits, 1);
    cr_assert_eq(s.conflicts, 1);
    fx_check_log(a, 15, 100);
    cr_assert_eq(fx_commit_batch(a, 15, 3, 100), 0, "at the log end it goes on");
    fx_check_log(b, 18, 100);
    cr_assert_not(scitt_store_local_reads(a));
    scitt_store_close(a);
    scitt_store_close(b);
}

/* A batch whose entry repeats a stored one (the same entry hash) is a
 * caller bug: SCITT_EINVAL and nothing of the batch written. */
Test(store_pg, duplicate_entry_hash_is_refused_whole)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 10, 100), 0);
    uint8_t e[2][100], h[2][32];
    scitt_span_t entries[2];
    for (int i = 0; i < 2; i++) {
        memset(e[i], 3, 100);
        scitt_store_be64(e[i], i == 0 ? 12345 : 3); /* the second: leaf 3's entry */
    }
    memset(e[1], 3, 100);
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    scitt_span_t old;
    cr_assert_eq(scitt_store_get_entry(rd, 3, &old), 0);
    memcpy(e[1], old.base, 100);
    scitt_store_read_end(rd);
    for (int i = 0; i < 2; i++) {
        entries[i] = scitt_span(e[i], 100);
        scitt_sha256(h[i], e[i], 100);
    }
    scitt_store_head_t head = {.size = 12, .time = 1700000100};
    head.receipt_sig = scitt_span("sig", 3);
    head.checkpoint = scitt_span("note\n", 5);
    scitt_store_batch_t b = {10, 2, entries, (const uint8_t(*)[32])h, NULL, 0, &head, NULL, 0, 0, NULL, 0};
    cr_assert_eq(scitt_store_commit(st, &b), SCITT_EINVAL);
    fx_check_log(st, 10, 100);
    cr_assert_eq(fx_commit_batch(st, 10, 2, 100), 0, "the log end did not move");
    scitt_store_close(st);
}

/* Tiles only grow: a tile that does not extend the stored one aborts the
 * whole batch. */
Test(store_pg, tile_that_is_not_a_prefix_aborts_the_batch)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 10, 100), 0);
    uint8_t e[100], h[32], tile[11][32];
    memset(e, 9, 100);
    scitt_store_be64(e, 777);
    scitt_sha256(h, e, 100);
    memset(tile, 0x5a, sizeof(tile)); /* leaves 0..9 differ from the stored ones */
    scitt_span_t entry = scitt_span(e, 100);
    scitt_store_tile_t t = {0, 0, 11, (const uint8_t(*)[32])tile};
    scitt_store_head_t head = {.size = 11, .time = 1700000100};
    head.receipt_sig = scitt_span("sig", 3);
    head.checkpoint = scitt_span("note\n", 5);
    scitt_store_batch_t b = {10, 1, &entry, (const uint8_t(*)[32])h, &t, 1, &head, NULL, 0, 0, NULL, 0};
    int rc = scitt_store_commit(st, &b);
    cr_assert(rc == SCITT_ECORRUPT, "got %s", scitt_err_name(rc));
    fx_check_log(st, 10, 100);
    cr_assert_eq(fx_commit_batch(st, 10, 1, 100), 0);
    scitt_store_close(st);
}

/* A database written by a newer scittd (a higher schema version) is
 * refused with a reason, not migrated backwards. */
Test(store_pg, schema_version_newer_is_refused)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 3, 100), 0);
    scitt_store_close(st);
    st = open_store(); /* the same version again: fine */
    scitt_store_close(st);
    fx_sql("UPDATE scitt_schema SET version = 99");
    scitt_store_config_t cfg = {0};
    fx_config(&cfg);
    const char *why = NULL;
    cr_assert_eq(scitt_store_open(&st, &cfg, &why), SCITT_EFORMAT);
    cr_assert_not_null(why);
    cr_assert(strstr(why, "version 99") != NULL, "%s", why);
}

/* One writer per database: a second writer_acquire is refused naming the
 * holder; once the first handle closes, it succeeds. */
Test(store_pg, writer_acquire_twice_is_busy)
{
    PG_ONLY();
    scitt_store_t *a = open_store(), *b = open_store();
    char why[256] = "";
    cr_assert_eq(scitt_store_writer_acquire(a, why, sizeof(why)), 0);
    cr_assert_eq(scitt_store_writer_acquire(b, why, sizeof(why)), SCITT_EBUSY);
    char pid[32];
    snprintf(pid, sizeof(pid), "pid %ld on ", (long)getpid());
    cr_assert(strstr(why, pid) != NULL, "%s", why);
    scitt_store_close(a);
    /* The server ends the closed session (and frees its lock) a moment
     * after the socket closes. */
    int rc;
    for (int i = 0; (rc = scitt_store_writer_acquire(b, why, sizeof(why))) == SCITT_EBUSY && i < 100; i++) {
        usleep(50000);
    }
    cr_assert_eq(rc, 0, "%s", why);
    scitt_store_close(b);
}

/* A read handle is one snapshot, taken at read_begin: a commit (by this
 * store or another) does not show in it; a handle begun afterwards sees it. */
Test(store_pg, snapshot_unchanged_across_a_commit)
{
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 10, 100), 0);
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(fx_commit_batch(st, 10, 10, 100), 0);
    scitt_store_head_t h;
    scitt_span_t e;
    uint64_t leaf;
    uint8_t hash[32];
    cr_assert_eq(scitt_store_get_latest_head(rd, &h), 0);
    cr_assert_eq(h.size, 10, "the snapshot is older than the commit");
    cr_assert_eq(scitt_store_get_entry(rd, 15, &e), SCITT_ENOTFOUND);
    scitt_store_read_end(rd);
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(scitt_store_get_latest_head(rd, &h), 0);
    cr_assert_eq(h.size, 20);
    cr_assert_eq(scitt_store_get_entry(rd, 15, &e), 0);
    scitt_sha256(hash, e.base, e.len);
    cr_assert_eq(scitt_store_get_entryidx(rd, hash, &leaf), 0);
    cr_assert_eq(leaf, 15);
    scitt_store_read_end(rd);
    scitt_store_close(st);
}

/* Every span a getter returned stays valid (and unchanged) until
 * read_end, however many reads follow on the handle; nested handles on one
 * thread each keep theirs. */
Test(store_pg, spans_valid_until_read_end)
{
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 300, 64), 0);
    cr_assert_eq(scitt_store_meta_put(st, "origin", scitt_span_str("example.org/log")), 0);
    scitt_store_read_t *rd, *inner;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    scitt_span_t first, meta;
    scitt_store_head_t head;
    const uint8_t *tile;
    size_t width;
    cr_assert_eq(scitt_store_get_entry(rd, 7, &first), 0);
    cr_assert_eq(scitt_store_get_meta(rd, "origin", &meta), 0);
    cr_assert_eq(scitt_store_get_latest_head(rd, &head), 0);
    cr_assert_eq(scitt_store_get_tile(rd, 0, 1, &tile, &width), 0);
    uint8_t tile_copy[32];
    memcpy(tile_copy, tile, 32);
    cr_assert_eq(scitt_store_read_begin(st, &inner), 0, "nested on one thread");
    for (uint64_t i = 0; i < 300; i++) {
        scitt_span_t e;
        cr_assert_eq(scitt_store_get_entry(i % 2 ? rd : inner, i, &e), 0);
    }
    scitt_store_read_end(inner);
    cr_assert_eq(first.len, 64);
    cr_assert_eq(scitt_load_be64(first.base), 7);
    cr_assert(scitt_span_eq(meta, scitt_span_str("example.org/log")));
    cr_assert(scitt_span_eq(head.checkpoint, scitt_span("note\n", 5)));
    cr_assert_eq(memcmp(tile, tile_copy, 32), 0);
    scitt_store_read_end(rd);
    scitt_store_close(st);
}

/* The batched reads, on both engines: absent tiles have width 0, absent
 * hashes UINT64_MAX, a range past the end is SCITT_ENOTFOUND. */
Test(store_pg, batched_reads)
{
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 300, 64), 0);
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    scitt_span_t e[3];
    cr_assert_eq(scitt_store_get_entries(rd, 297, 3, e), 0);
    cr_assert_eq(scitt_load_be64(e[2].base), 299);
    cr_assert_eq(scitt_store_get_entries(rd, 298, 3, e), SCITT_ENOTFOUND);
    scitt_store_tile_id_t ids[3] = {{0, 1}, {1, 0}, {0, 0}};
    scitt_store_tile_hashes_t t[3];
    cr_assert_eq(scitt_store_get_tiles(rd, ids, 3, t), 0);
    cr_assert_eq(t[0].width, 300 - 256);
    cr_assert_eq(t[1].width, 0);
    uint8_t hashes[3][32];
    scitt_span_t x;
    cr_assert_eq(scitt_store_get_entry(rd, 5, &x), 0);
    scitt_sha256(hashes[0], x.base, x.len);
    memset(hashes[1], 0xee, 32);
    cr_assert_eq(scitt_store_get_entry(rd, 299, &x), 0);
    scitt_sha256(hashes[2], x.base, x.len);
    uint64_t leaves[3];
    cr_assert_eq(scitt_store_find_entries(rd, (const uint8_t(*)[32])hashes, 3, leaves), 0);
    cr_assert_eq(leaves[0], 5);
    cr_assert_eq(leaves[1], UINT64_MAX);
    cr_assert_eq(leaves[2], 299);
    scitt_store_read_end(rd);
    scitt_store_close(st);
}

/* An unreachable database: open retries for database_wait_ms, then fails
 * with libpq's reason, which never shows the connection string (it may
 * hold a password). */
Test(store_pg, open_waits_then_names_the_reason)
{
    PG_ONLY();
    scitt_store_config_t cfg = {.database = "postgresql://scitt:sekrit@127.0.0.1:1/none", .database_wait_ms = 600};
    scitt_store_t *st;
    const char *why = NULL;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    cr_assert_eq(scitt_store_open(&st, &cfg, &why), SCITT_EUNAVAIL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    cr_assert_geq(ms, 500, "gave up after %.0f ms", ms);
    cr_assert_lt(ms, 10000, "took %.0f ms", ms);
    cr_assert_not_null(why);
    cr_assert(strstr(why, "libpq") != NULL, "%s", why);
    cr_assert(strstr(why, "sekrit") == NULL, "%s", why);
}

/* The connections dropped between commits (the server ended them): the
 * next read_begin and commit notice it, reconnect and go on, and the
 * writer keeps its lock. */
Test(store_pg, writer_reconnects_after_a_dropped_connection)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    char why[256];
    cr_assert_eq(scitt_store_writer_acquire(st, why, sizeof(why)), 0);
    cr_assert_eq(fx_commit_batch(st, 0, 10, 100), 0);
    fx_check_log(st, 10, 100); /* this thread's reader connection exists */
    fx_sql("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
           " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0, "the reader's connection was ended too: reconnected");
    scitt_store_read_end(rd);
    int rc = fx_commit_batch(st, 10, 10, 100);
    cr_assert_eq(rc, 0, "got %s", scitt_err_name(rc));
    cr_assert_eq(scitt_store_maintain(st), 0);
    scitt_store_stats_t s;
    scitt_store_stats(st, &s);
    cr_assert_eq(s.reconnects, 2, "the reader's and the writer's");
    cr_assert(s.available);
    cr_assert_gt(s.bytes, 0);
    scitt_store_t *other = open_store();
    cr_assert_eq(scitt_store_writer_acquire(other, why, sizeof(why)), SCITT_EBUSY, "the lock was taken again");
    scitt_store_close(other);
    fx_check_log(st, 20, 100);
    cr_assert_eq(log_end(st), 20);
    scitt_store_close(st);
}

/* A deferred trigger that ends the session at COMMIT of the batch ending
 * at 20: the connection drops while COMMIT is in flight, the transaction
 * rolls back, and the engine must find out which. */
static void kill_commit_of_20(void)
{
    fx_sql("CREATE FUNCTION kill_self() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
           " PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NULL; END $$;"
           "CREATE CONSTRAINT TRIGGER kill AFTER INSERT ON scitt_heads DEFERRABLE INITIALLY DEFERRED"
           " FOR EACH ROW WHEN (NEW.size = 20) EXECUTE FUNCTION kill_self()");
}

/* The connection lost during COMMIT, the database reachable again: the
 * engine reconnects, sees the log end unmoved, and says SCITT_EUNAVAIL
 * (nothing written; the batch may be retried). */
Test(store_pg, commit_lost_in_flight_resolved_as_not_written)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    char why[256];
    cr_assert_eq(scitt_store_writer_acquire(st, why, sizeof(why)), 0);
    cr_assert_eq(fx_commit_batch(st, 0, 10, 100), 0);
    kill_commit_of_20();
    int rc = fx_commit_batch(st, 10, 10, 100);
    cr_assert_eq(rc, SCITT_EUNAVAIL, "got %s", scitt_err_name(rc));
    cr_assert_eq(scitt_store_maintain(st), 0);
    fx_sql("DROP TRIGGER kill ON scitt_heads");
    cr_assert_eq(fx_commit_batch(st, 10, 10, 100), 0);
    fx_check_log(st, 20, 100);
    scitt_store_close(st);
}

/* The same with the database unreachable afterwards: SCITT_EINDOUBT; the
 * store refuses commits until maintain, once it can reach the database,
 * has resolved the batch. */
Test(store_pg, commit_in_doubt_until_maintain_resolves_it, .timeout = 60)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 10, 100), 0);
    kill_commit_of_20();
    fx_server_sql("ALTER DATABASE %s ALLOW_CONNECTIONS false");
    int rc = fx_commit_batch(st, 10, 10, 100);
    cr_assert_eq(rc, SCITT_EINDOUBT, "got %s", scitt_err_name(rc));
    cr_assert_eq(scitt_store_maintain(st), SCITT_EINDOUBT);
    cr_assert_eq(fx_commit_batch(st, 10, 10, 100), SCITT_EINDOUBT, "no commit while one is in doubt");
    scitt_store_stats_t s;
    scitt_store_stats(st, &s);
    cr_assert_not(s.available);
    fx_server_sql("ALTER DATABASE %s ALLOW_CONNECTIONS true");
    cr_assert_eq(scitt_store_maintain(st), 0, "resolved: not written");
    fx_sql("DROP TRIGGER kill ON scitt_heads");
    cr_assert_eq(fx_commit_batch(st, 10, 10, 100), 0);
    fx_check_log(st, 20, 100);
    scitt_store_close(st);
}

/* COMMIT succeeded but its reply was lost: the engine reconnects, finds
 * the log end moved and the head's root its own, and returns 0. */
Test(store_pg, commit_reply_lost_resolved_as_written)
{
#ifdef SCITT_HAVE_POSTGRESQL
    PG_ONLY();
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 10, 100), 0);
    scitt_store__pg_lose_commit_reply(st);
    cr_assert_eq(fx_commit_batch(st, 10, 10, 100), 0);
    scitt_store_stats_t s;
    scitt_store_stats(st, &s);
    cr_assert_eq(s.reconnects, 1);
    cr_assert_eq(s.commits, 2);
    fx_check_log(st, 20, 100);
    cr_assert_eq(fx_commit_batch(st, 20, 1, 100), 0);
    /* Unreachable at that moment: in doubt, until maintain finds it written. */
    scitt_store__pg_lose_commit_reply(st);
    fx_server_sql("ALTER DATABASE %s ALLOW_CONNECTIONS false");
    int rc = fx_commit_batch(st, 21, 4, 100);
    cr_assert_eq(rc, SCITT_EINDOUBT, "got %s", scitt_err_name(rc));
    fx_server_sql("ALTER DATABASE %s ALLOW_CONNECTIONS true");
    cr_assert_eq(scitt_store_maintain(st), 0);
    fx_check_log(st, 25, 100);
    cr_assert_eq(fx_commit_batch(st, 25, 1, 100), 0, "the log end is 25: the batch was written");
    scitt_store_close(st);
#else
    cr_skip_test("PostgreSQL only");
#endif
}

/* connections_are asserts (retrying for up to 5 s: a closed session ends
 * a moment later) that the test database has `n` sessions besides the
 * asking one. */
static void connections_are(int n)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "DO $$ BEGIN FOR i IN 1..100 LOOP IF (SELECT count(*) - 1 FROM pg_stat_activity"
             " WHERE datname = current_database()) = %d THEN RETURN; END IF; PERFORM pg_sleep(0.05); END LOOP;"
             " RAISE EXCEPTION 'not %d connections'; END $$",
             n, n);
    fx_sql(sql);
}

static void *read_once(void *arg)
{
    scitt_store_read_t *rd;
    scitt_store_head_t h;
    if (scitt_store_read_begin(arg, &rd) != 0) {
        return (void *)1;
    }
    int rc = scitt_store_get_latest_head(rd, &h);
    scitt_store_read_end(rd);
    return rc == 0 ? NULL : (void *)2;
}

/* Reads use one connection per thread, opened on its first read_begin and
 * reused (nested handles too); a thread's connection closes when it ends. */
Test(store_pg, one_connection_per_reading_thread)
{
    PG_ONLY();
    scitt_store_t *st = open_store();
    cr_assert_eq(fx_commit_batch(st, 0, 10, 100), 0);
    connections_are(1); /* the writer */
    for (int i = 0; i < 20; i++) {
        scitt_store_read_t *rd, *inner;
        cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
        cr_assert_eq(scitt_store_read_begin(st, &inner), 0);
        scitt_store_read_end(inner);
        scitt_store_read_end(rd);
    }
    connections_are(2);
    pthread_t th;
    void *res;
    cr_assert_eq(pthread_create(&th, NULL, read_once, st), 0);
    pthread_join(th, &res);
    cr_assert_null(res);
    connections_are(2);
    scitt_store_close(st);
    connections_are(0);
}

/* Readers on other threads while the writer commits: every handle sees a
 * whole batch or none of it (the head and its entries agree). */
static void *reader(void *arg)
{
    scitt_store_t *st = arg;
    for (int i = 0; i < 200; i++) {
        scitt_store_read_t *rd;
        scitt_store_head_t h;
        scitt_span_t e;
        if (scitt_store_read_begin(st, &rd) != 0) {
            return (void *)1;
        }
        int rc = scitt_store_get_latest_head(rd, &h);
        bool ok =
            rc == SCITT_ENOTFOUND || (rc == 0 && (h.size == 0 || scitt_store_get_entry(rd, h.size - 1, &e) == 0) &&
                                      scitt_store_get_entry(rd, h.size, &e) == SCITT_ENOTFOUND);
        scitt_store_read_end(rd);
        if (!ok) {
            return (void *)2;
        }
    }
    return NULL;
}

Test(store_pg, readers_on_threads_see_whole_batches, .timeout = 120)
{
    scitt_store_t *st = open_store();
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&th[i], NULL, reader, st);
    }
    for (uint64_t first = 0; first < 2000; first += 100) {
        cr_assert_eq(fx_commit_batch(st, first, 100, 50), 0);
    }
    for (int i = 0; i < 2; i++) {
        void *res;
        pthread_join(th[i], &res);
        cr_assert_null(res, "reader %d: %p", i, res);
    }
    scitt_store_close(st);
}
