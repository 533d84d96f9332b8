/*
 * index.h: the secondary indexes inside the store's LMDB environment
 * (issue 10), shared by lmdb.c and index.c only. See index.c for the
 * design. Functions here speak LMDB's codes (0, MDB_*, or a positive errno)
 * so that lmdb.c maps every error in one place.
 */
#ifndef SCITT_SRC_STORE_INDEX_H
#define SCITT_SRC_STORE_INDEX_H

#include <lmdb.h>

#include "scitt/store.h"

#define SCITT_STORE__INDEX_FANOUT  8
#define SCITT_STORE__INDEX_RUN_MAX ((size_t)1 << 20)

/* The sub-databases the index code reads or writes. */
typedef struct scitt_store__index_dbs {
    MDB_dbi entries, runs, times;
} scitt_store__index_dbs_t;

/* The writer's state: the merge policy and scratch that grows to its
 * high-water mark (one writer thread, so one copy per store). */
typedef struct scitt_store__index_writer {
    unsigned fanout; /* F: runs merged at once (2..64) */
    size_t run_max;  /* CAP: records in the largest merged run */
    scitt_store_index_rec_t *sort_a, *sort_b;
    size_t sort_cap;
    uint8_t *merge;
    size_t merge_cap;
} scitt_store__index_writer_t;

void scitt_store__index_writer_init(scitt_store__index_writer_t *w, unsigned fanout, size_t run_max);
void scitt_store__index_writer_cleanup(scitt_store__index_writer_t *w);

/* scitt_store__index_put writes the batch's level-0 run (when it has
 * records), merges runs as the policy says, and records the batch's time
 * (when it has entries and a head), all in `txn`. */
int scitt_store__index_put(scitt_store__index_writer_t *w, MDB_txn *txn, const scitt_store__index_dbs_t *dbs,
                           const scitt_store_batch_t *b);

/* scitt_store__index_query implements scitt_store_query in `txn`. */
int scitt_store__index_query(MDB_txn *txn, const scitt_store__index_dbs_t *dbs, const scitt_store_query_t *q,
                             uint64_t *out, size_t max, size_t *out_num, uint64_t *out_next);

/* scitt_store__index_runs counts the runs and reports the highest level
 * and the number of final runs (tests and benchmarks). */
int scitt_store__index_runs(MDB_txn *txn, MDB_dbi runs, size_t *out_num, unsigned *out_max_level,
                            size_t *out_num_final);

#endif /* SCITT_SRC_STORE_INDEX_H */
