#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scitt/crypto.h"
#include "fixture.h"
#include "scitt/store.h"
#include "../../../src/store/tuning.h"

TestSuite(store, .init = fx_init, .fini = fx_fini);

static size_t map_size(scitt_store_t *st)
{
    scitt_store__lmdb_map_stats_t ms;
    scitt_store__lmdb_map_stats(st, &ms);
    return ms.size;
}

static scitt_store_t *open_store(size_t map_size, size_t map_max)
{
    struct scitt_store_tuning tu = {.map_size = map_size, .map_size_max = map_max};
    scitt_store_config_t cfg = {.tuning = &tu};
    return fx_open(&cfg);
}

#define commit_batch fx_commit_batch
#define check_log    fx_check_log

Test(store, round_trip_and_reopen)
{
    scitt_store_t *st = open_store(0, 0);
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(scitt_store_get_latest_head(rd, &head), SCITT_ENOTFOUND);
    scitt_span_t fmt;
    if (!fx_pg()) { /* LMDB records its format in meta; PostgreSQL its schema version */
        cr_assert_eq(scitt_store_get_meta(rd, "format", &fmt), 0);
        cr_assert(scitt_span_eq(fmt, scitt_span_str(SCITT_STORE_FORMAT)));
    }
    scitt_store_read_end(rd);

    cr_assert_eq(commit_batch(st, 0, 10, 100), 0);
    cr_assert_eq(commit_batch(st, 10, 300, 100), 0);
    check_log(st, 310, 100);
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(scitt_store_get_head(rd, 10, &head), 0);
    cr_assert_eq(head.time, 1700000000);
    cr_assert_eq(scitt_store_get_head_from(rd, 5, &head), 0);
    cr_assert_eq(head.size, 10, "leaf 4 was committed by the batch that ended at 10");
    cr_assert_eq(scitt_store_get_head_from(rd, 11, &head), 0);
    cr_assert_eq(head.size, 310);
    cr_assert_eq(scitt_store_get_head_from(rd, 311, &head), SCITT_ENOTFOUND);
    const uint8_t *hashes;
    size_t width;
    cr_assert_eq(scitt_store_get_tile(rd, 0, 1, &hashes, &width), 0);
    cr_assert_eq(width, 310 % 256);
    cr_assert_eq(scitt_store_get_tile(rd, 1, 0, &hashes, &width), SCITT_ENOTFOUND);
    scitt_store_read_end(rd);
    /* Writing an index twice (a batch that does not start at the log end)
     * is refused; nothing changes. */
    cr_assert_eq(commit_batch(st, 5, 1, 100), SCITT_ECONFLICT);
    check_log(st, 310, 100);
    scitt_store_close(st);

    st = open_store(0, 0);
    check_log(st, 310, 100);
    scitt_store_close(st);
}

/* Another format, and format 2 (no secondary indexes), with its reason. */
Test(store, refuses_another_format)
{
    FX_LMDB_ONLY("the format is LMDB meta (PostgreSQL: test_pg.c schema_version_newer_is_refused)");
    static const char *const formats[] = {"999", "2"};
    for (size_t i = 0; i < 2; i++) {
        scitt_store_t *st = open_store(0, 0);
        cr_assert_eq(scitt_store_meta_put(st, "format", scitt_span_str(formats[i])), 0);
        scitt_store_close(st);
        scitt_store_config_t cfg = {.dir = fx_dir()};
        const char *why = NULL;
        cr_assert_eq(scitt_store_open(&st, &cfg, &why), SCITT_EFORMAT);
        cr_assert_not_null(why);
        cr_assert(i == 0 || strstr(why, "format 2") != NULL, "%s", why);
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", fx_dir()); /* start again from an empty folder */
        cr_assert_eq(system(cmd), 0);
    }
}

static volatile int readers_stop;

static void *reader_loop(void *arg)
{
    scitt_store_t *st = arg;
    while (!readers_stop) {
        scitt_store_read_t *rd;
        if (scitt_store_read_begin(st, &rd) != 0) {
            return (void *)1;
        }
        scitt_span_t e;
        if (scitt_store_get_entry(rd, 0, &e) == 0 && e.len != 1000) {
            scitt_store_read_end(rd);
            return (void *)1;
        }
        scitt_store_read_end(rd);
    }
    return NULL;
}

/* MDB_MAP_FULL is handled: the map grows while readers keep reading. */
Test(store, map_grows_under_readers, .timeout = 60)
{
    FX_LMDB_ONLY("the LMDB map");
    scitt_store_t *st = open_store(1 << 20, 0);
    size_t before = map_size(st);
    pthread_t th;
    readers_stop = 0;
    pthread_create(&th, NULL, reader_loop, st);
    for (uint64_t first = 0; first < 20000; first += 1000) {
        cr_assert_eq(commit_batch(st, first, 1000, 1000), 0);
    }
    readers_stop = 1;
    void *res;
    pthread_join(th, &res);
    cr_assert_null(res);
    cr_assert_gt(map_size(st), before);
    check_log(st, 20000, 1000);
    scitt_store_close(st);
}

/* data_bytes: the size of data.mdb, which grows with the pages LMDB writes
 * (the map is address space only). */
static size_t data_bytes(void)
{
    char path[300];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/data.mdb", fx_dir());
    cr_assert_eq(stat(path, &sb), 0);
    return (size_t)sb.st_size;
}

/* The default map is large and sparse, so a growth (which must wait for
 * every reader) does not come in a store's working life. */
Test(store, default_map_is_large_and_sparse)
{
    FX_LMDB_ONLY("the LMDB map and data.mdb");
    scitt_store_t *st = open_store(0, 0);
    cr_assert_geq(map_size(st), (size_t)64 << 30);
    cr_assert_eq(commit_batch(st, 0, 100, 400), 0);
    cr_assert_lt(data_bytes(), (size_t)64 << 20);
    scitt_store_close(st);
}

/* A small map grows ahead of need (once more than half used), not when a
 * commit finds it full, and never waits for a reader to do it: with a read
 * transaction open on this very thread (a wait would deadlock, and the
 * test time out) commits go on and the growth waits for a commit with no
 * reader in; then it happens before the map is full. */
Test(store, map_grows_ahead_without_waiting_for_readers, .timeout = 60)
{
    FX_LMDB_ONLY("the LMDB map");
    const size_t map = 1 << 20;
    scitt_store_t *st = open_store(map, 0);
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    uint64_t first = 0;
    while (data_bytes() < map * 7 / 10) {
        cr_assert_eq(commit_batch(st, first, 50, 400), 0);
        first += 50;
    }
    cr_assert_eq(map_size(st), map, "a growth with a reader in would have waited for it");
    scitt_store_read_end(rd);
    cr_assert_eq(commit_batch(st, first, 50, 400), 0);
    first += 50;
    cr_assert_gt(map_size(st), map, "no growth once the reader was out");
    /* Without readers: every doubling comes ahead of need, before the map
     * is three-quarters used. */
    for (int i = 0; i < 400; i++) {
        size_t before = map_size(st);
        cr_assert_eq(commit_batch(st, first, 50, 400), 0);
        first += 50;
        cr_assert(data_bytes() < before * 3 / 4 || map_size(st) > before,
                  "the map (%zu bytes) is %zu bytes used and did not grow", before, data_bytes());
    }
    scitt_store__lmdb_map_stats_t ms;
    scitt_store__lmdb_map_stats(st, &ms);
    cr_assert_geq(ms.grew_ahead, 2);
    cr_assert_eq(ms.grew_full, 0);
    check_log(st, first, 400);
    scitt_store_close(st);
}

/* A map that may not grow past its maximum gives a clean SCITT_ENOSPC, and
 * every batch committed before stays readable and consistent. */
Test(store, map_limit_is_a_clean_error, .timeout = 60)
{
    FX_LMDB_ONLY("the LMDB map limit");
    scitt_store_t *st = open_store(1 << 20, 4 << 20);
    uint64_t size = 0;
    int rc;
    while ((rc = commit_batch(st, size, 100, 1000)) == 0) {
        size += 100;
    }
    cr_assert_eq(rc, SCITT_ENOSPC);
    cr_assert_gt(size, 0);
    check_log(st, size, 1000);
    scitt_store_close(st);
    st = open_store(0, 0);
    check_log(st, size, 1000);
    cr_assert_eq(commit_batch(st, size, 100, 1000), 0, "appending resumes with room");
    scitt_store_close(st);
}

/* fill_until_full commits batches until one fails, checks the failure is
 * SCITT_ENOSPC and returns the committed size. */
static uint64_t fill_until_full(scitt_store_t *st)
{
    uint64_t size = 0;
    int rc;
    while ((rc = commit_batch(st, size, 50, 2000)) == 0) {
        size += 50;
    }
    cr_assert_eq(rc, SCITT_ENOSPC, "got %s", scitt_err_name(rc));
    return size;
}

/* log_state: the entries stored (the log end) and the latest head's size. */
static void log_state(scitt_store_t *st, uint64_t *entries, uint64_t *head_size)
{
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    scitt_span_t e;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    uint64_t n = 0;
    while (scitt_store_get_entry(rd, n, &e) == 0) {
        n++;
    }
    *entries = n;
    *head_size = scitt_store_get_latest_head(rd, &head) == 0 ? head.size : 0;
    scitt_store_read_end(rd);
}

/* Commit is a compare-and-swap on the log end: a batch must start at the
 * number of entries stored. A gap or an overlap writes nothing. */
Test(store, commit_refuses_a_gap)
{
    scitt_store_t *st = open_store(0, 0);
    cr_assert_eq(commit_batch(st, 1, 5, 100), SCITT_ECONFLICT, "a first batch must start at 0");
    cr_assert_eq(commit_batch(st, 0, 10, 100), 0);
    cr_assert_eq(commit_batch(st, 11, 5, 100), SCITT_ECONFLICT);
    uint64_t n, h;
    log_state(st, &n, &h);
    cr_assert_eq(n, 10, "nothing of the refused batch is written");
    cr_assert_eq(h, 10, "the latest head is unchanged");
    check_log(st, 10, 100);
    cr_log_info("refused: %s", scitt_strerror(SCITT_ECONFLICT));
    scitt_store_close(st);
}

Test(store, commit_refuses_an_overlap)
{
    scitt_store_t *st = open_store(0, 0);
    cr_assert_eq(commit_batch(st, 0, 10, 100), 0);
    cr_assert_eq(commit_batch(st, 9, 5, 100), SCITT_ECONFLICT);
    uint64_t n, h;
    log_state(st, &n, &h);
    cr_assert_eq(n, 10);
    cr_assert_eq(h, 10);
    check_log(st, 10, 100);
    scitt_store_close(st);
}

Test(store, commit_at_the_log_end_succeeds)
{
    scitt_store_t *st = open_store(0, 0);
    cr_assert_eq(commit_batch(st, 0, 10, 100), 0);
    cr_assert_eq(commit_batch(st, 11, 1, 100), SCITT_ECONFLICT);
    cr_assert_eq(commit_batch(st, 10, 5, 100), 0);
    check_log(st, 15, 100);
    scitt_store_close(st);
    st = open_store(0, 0); /* the log end is read from the store, not remembered */
    cr_assert_eq(commit_batch(st, 14, 1, 100), SCITT_ECONFLICT);
    cr_assert_eq(commit_batch(st, 15, 1, 100), 0);
    check_log(st, 16, 100);
    scitt_store_close(st);
}

/* A head-only batch (the mirror's): first_index is still the log end, and
 * its head lies between the latest stored head and the log end. */
Test(store, head_only_commit_is_fenced)
{
    scitt_store_t *st = open_store(0, 0);
    cr_assert_eq(commit_batch(st, 0, 10, 100), 0);
    scitt_store_head_t head = {.size = 10, .time = 1700000001};
    memset(head.root, 7, 32);
    head.receipt_sig = scitt_span("sig", 3);
    head.checkpoint = scitt_span("note\n", 5);
    scitt_store_batch_t b = {.first_index = 9, .head = &head};
    cr_assert_eq(scitt_store_commit(st, &b), SCITT_ECONFLICT, "not at the log end");
    b.first_index = 10;
    head.size = 11;
    cr_assert_eq(scitt_store_commit(st, &b), SCITT_ECONFLICT, "a head past the log end");
    head.size = 9;
    cr_assert_eq(scitt_store_commit(st, &b), SCITT_ECONFLICT, "a head below the latest head");
    uint64_t n, h;
    log_state(st, &n, &h);
    cr_assert_eq(n, 10);
    cr_assert_eq(h, 10);
    head.size = 10;
    cr_assert_eq(scitt_store_commit(st, &b), 0, "the latest head again (rewritten)");
    scitt_store_close(st);
}

/* A full disk: the file size limit makes every write past it fail the way a
 * full file system does. */
Test(store, full_disk_leaves_last_commit_intact, .timeout = 60)
{
    FX_LMDB_ONLY("a file size limit on data.mdb");
    scitt_store_t *st = open_store(64 << 20, 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit lim = {4 << 20, old.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint64_t size = fill_until_full(st);
    check_log(st, size, 2000);
    scitt_store_close(st);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    st = open_store(0, 0);
    check_log(st, size, 2000);
    cr_assert_eq(commit_batch(st, size, 50, 2000), 0);
    check_log(st, size + 50, 2000);
    scitt_store_close(st);
}

/* The same on a real, tiny tmpfs when we may mount one (root). */
Test(store, full_tmpfs, .timeout = 60)
{
    FX_LMDB_ONLY("a tmpfs under the data folder");
    if (geteuid() != 0 || mount("tmpfs", fx_dir(), "tmpfs", 0, "size=3m") != 0) {
        cr_skip_test("cannot mount a tmpfs here (needs root)");
    }
    scitt_store_t *st = open_store(64 << 20, 0);
    uint64_t size = fill_until_full(st);
    scitt_store_close(st);
    st = open_store(0, 0);
    check_log(st, size, 2000);
    scitt_store_close(st);
    umount(fx_dir());
}
