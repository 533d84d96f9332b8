/*
 * lmdb_commit.c: the raw LMDB commit rate with fsync, the storage ceiling
 * the sequencer's group commit is judged against: transactions of
 * `--records` 400-byte records under sequential 8-byte keys (as the
 * `entries` table), committed with fsync on, for a fixed time, in a fresh
 * environment in a temporary folder under `--dir` (default /var/tmp, the
 * local disk here). LMDB is used directly, not through src/store: this is
 * the baseline, not our code.
 *
 *   lmdb_commit [--dir D] [--records N] [--seconds S]
 *
 * Last line: LMDB records=<per txn> commits_per_s=<n> records_per_s=<n>
 */
#include <getopt.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "scitt/core.h"

#define RECORD_LEN 400

static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "lmdb_commit: %s: %s\n", what, mdb_strerror(rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"dir", 1, 0, 'd'}, {"records", 1, 0, 'n'}, {"seconds", 1, 0, 's'}, {0, 0, 0, 0}};
    const char *base = "/var/tmp";
    unsigned long records = 1000;
    double seconds = 2;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (ch == 'd') {
            base = optarg;
        } else if (ch == 'n') {
            records = strtoul(optarg, NULL, 10);
        } else if (ch == 's') {
            seconds = strtod(optarg, NULL);
        } else {
            fprintf(stderr, "usage: lmdb_commit [--dir D] [--records N] [--seconds S]\n");
            return 2;
        }
    }
    if (records == 0 || records > 100000 || seconds <= 0 || seconds > 60) {
        fprintf(stderr, "lmdb_commit: 1..100000 records, 0..60 seconds\n");
        return 2;
    }
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/scitt-bench-lmdb-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("lmdb_commit: mkdtemp");
        return 1;
    }
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    check(mdb_env_create(&env), "env");
    check(mdb_env_set_mapsize(env, (size_t)8 << 30), "mapsize");
    check(mdb_env_open(env, dir, MDB_NOTLS, 0600), "open");

    uint8_t value[RECORD_LEN];
    memset(value, 0xa5, sizeof(value));
    uint64_t key = 0, commits = 0;
    double t0 = bench_now(), end = t0 + seconds;
    while (bench_now() < end) {
        check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
        check(mdb_dbi_open(txn, NULL, 0, &dbi), "dbi");
        for (unsigned long i = 0; i < records; i++) {
            uint8_t k[8];
            scitt_store_be64(k, key++);
            MDB_val mk = {sizeof(k), k}, mv = {sizeof(value), value};
            memcpy(value, k, sizeof(k));
            check(mdb_put(txn, dbi, &mk, &mv, MDB_APPEND), "put");
        }
        check(mdb_txn_commit(txn), "commit"); /* fsync: the environment has no MDB_NOSYNC */
        commits++;
    }
    double dt = bench_now() - t0;
    mdb_env_close(env);
    const char *files[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    printf("lmdb_commit: %lu x %d-byte records per transaction, fsync on, under %s: %.0f commits/s, %.0f records/s\n",
           records, RECORD_LEN, base, (double)commits / dt, (double)key / dt);
    printf("LMDB records=%lu commits_per_s=%.0f records_per_s=%.0f\n", records, (double)commits / dt, (double)key / dt);
    return 0;
}
