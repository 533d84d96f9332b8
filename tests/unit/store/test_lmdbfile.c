/*
 * lmdbfile.c's check that data.mdb holds every page in use. LMDB leaves the
 * file shorter than its meta page's last page when a transaction freed
 * pages it had allocated before committing (they are never written); such
 * a file is sound and must open (before, the store refused it: a healthy
 * log could not restart). A file that lacks an in-use page is refused.
 * The files are made with the LMDB API directly.
 */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lmdbfile.h"
#include "scitt/store.h"

static char dir[256], path[300];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/scitt-lmdbfile-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(lmdbfile, .init = make_dir, .fini = remove_dir);

static MDB_env *env_open(void)
{
    MDB_env *env;
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 16), 0);
    cr_assert_eq(mdb_env_open(env, dir, 0, 0600), 0);
    return env;
}

/* put: key `k` (a text) -> `len` bytes of `fill`, in the main DB. */
static void put(MDB_txn *txn, const char *k, size_t len, int fill)
{
    MDB_dbi dbi;
    cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    MDB_val key = {strlen(k), (void *)k}, val = {len, NULL};
    cr_assert_eq(mdb_put(txn, dbi, &key, &val, MDB_RESERVE), 0);
    memset(val.mv_data, fill, len);
}

/* pages: whole pages in data.mdb, and the last page in use per the meta. */
static void pages(MDB_env *env, size_t *file_pages, size_t *last_pg)
{
    MDB_envinfo info;
    MDB_stat ms;
    struct stat sb;
    cr_assert_eq(mdb_env_info(env, &info), 0);
    cr_assert_eq(mdb_env_stat(env, &ms), 0);
    cr_assert_eq(stat(path, &sb), 0);
    *file_pages = (size_t)sb.st_size / ms.ms_psize;
    *last_pg = info.me_last_pgno;
}

/* A store whose data.mdb ends before its last page: one transaction put a
 * 128 KiB value (overflow pages at the end of the file), deleted it again
 * and put a small key; the overflow pages went straight to the free DB. */
Test(lmdbfile, a_short_file_whose_missing_pages_are_free_opens)
{
    scitt_store_config_t cfg = {.dir = dir};
    scitt_store_t *st;
    const char *why = NULL;
    cr_assert_eq(scitt_store_open(&st, &cfg, &why), 0, "%s", why ? why : "");
    scitt_store_close(st);

    MDB_env *env = env_open();
    MDB_txn *txn;
    for (int i = 0; i < 3; i++) { /* free DB records, so the next transaction reuses pages */
        cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
        put(txn, "lmdbfile-small", 16, i);
        cr_assert_eq(mdb_txn_commit(txn), 0);
    }
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    put(txn, "lmdbfile-big", 128 << 10, 'b');
    MDB_dbi dbi;
    cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    MDB_val key = {strlen("lmdbfile-big"), "lmdbfile-big"};
    cr_assert_eq(mdb_del(txn, dbi, &key, NULL), 0);
    put(txn, "lmdbfile-small", 16, 's');
    cr_assert_eq(mdb_txn_commit(txn), 0);
    size_t file_pages, last_pg;
    pages(env, &file_pages, &last_pg);
    mdb_env_close(env);
    cr_assert_lt(file_pages, last_pg + 1, "the file is short (%zu pages, last page %zu)", file_pages, last_pg);
    cr_assert_geq(last_pg + 1 - file_pages, 30, "the overflow pages are missing (%zu pages, last page %zu)", file_pages,
                  last_pg);

    cr_assert(scitt_store__lmdbfile_complete(path));
    cr_assert_eq(scitt_store_open(&st, &cfg, &why), 0, "a sound short file opens: %s", why ? why : "");
    scitt_store_close(st);

    /* Cut one more page than the free ones: an in-use page goes missing
     * unless that page was free too; cut until the check refuses, and it
     * must refuse before the file is down to its meta pages. */
    size_t cut = file_pages;
    while (cut > 2 && scitt_store__lmdbfile_complete(path)) {
        cr_assert_eq(truncate(path, (off_t)--cut * sysconf(_SC_PAGESIZE)), 0);
    }
    cr_assert_gt(cut, 2);
    cr_assert_neq(scitt_store_open(&st, &cfg, &why), 0);
    cr_assert(why != NULL && strstr(why, "truncated") != NULL, "%s", why ? why : "");
}

/* A file every page of which is in use: 300 keys in one transaction, then
 * one of them rewritten (the free DB gets the pages it replaced). */
static void make_full(void)
{
    MDB_env *env = env_open();
    MDB_txn *txn;
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    for (int i = 0; i < 300; i++) {
        char k[32];
        snprintf(k, sizeof(k), "key-%05d", i);
        put(txn, k, 1000, i);
    }
    cr_assert_eq(mdb_txn_commit(txn), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    put(txn, "key-00150", 1000, 'x');
    cr_assert_eq(mdb_txn_commit(txn), 0);
    size_t file_pages, last_pg;
    pages(env, &file_pages, &last_pg);
    mdb_env_close(env);
    cr_assert_eq(file_pages, last_pg + 1);
    cr_assert(scitt_store__lmdbfile_complete(path));
}

Test(lmdbfile, a_file_cut_in_half_is_refused)
{
    make_full();
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(truncate(path, sb.st_size / 2), 0);
    cr_assert_not(scitt_store__lmdbfile_complete(path));
}

Test(lmdbfile, a_file_without_its_last_page_in_use_is_refused)
{
    make_full();
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(truncate(path, sb.st_size - sysconf(_SC_PAGESIZE)), 0);
    cr_assert_not(scitt_store__lmdbfile_complete(path));
}

Test(lmdbfile, no_file_or_no_meta_pages_is_refused)
{
    cr_assert_not(scitt_store__lmdbfile_complete(path));
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite("not lmdb", 1, 8, f), 8);
    fclose(f);
    cr_assert_not(scitt_store__lmdbfile_complete(path));
}
