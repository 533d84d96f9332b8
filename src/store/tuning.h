/*
 * tuning.h: the engines' knobs that only tests and benchmarks turn
 * (scitt_store_config_t.tuning; NULL in production means every default).
 * Included by the engines, tests and bench only: nothing here is part of
 * the store's interface. An engine reads them once, at open.
 */
#ifndef SCITT_SRC_STORE_TUNING_H
#define SCITT_SRC_STORE_TUNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/store.h"

struct scitt_store_tuning {
    /* LMDB. */
    size_t map_size;     /* initial map size; 0 means 256 GiB (address space; the file grows as it fills) */
    size_t map_size_max; /* growth stops here (SCITT_ENOSPC); 0 means no limit */
    bool nosync;         /* MDB_NOSYNC: loses durability */
    bool grow_when_full; /* grow only when full (waiting for readers), not ahead */
    /* The index runs' merge policy (lmdb.c, index.c): index_fanout runs of
     * one level merge into one (0 means 8; 2..64), and a run of more than
     * index_run_max / index_fanout records is final (0 means 2^20). */
    unsigned index_fanout;
    size_t index_run_max;
    /* PostgreSQL: index records in scitt_index_tail that make maintain
     * merge it into the btree (0 means 65536). */
    size_t pg_tail_max;
};

/* The LMDB map: its size, the bytes its pages reach, and how often it grew
 * ahead of need (no reader in the way) or when full (waiting for every
 * reader, which stalls new ones). The writer's thread; an LMDB store only. */
typedef struct scitt_store__lmdb_map_stats {
    size_t size, used;
    uint64_t grew_ahead, grew_full;
} scitt_store__lmdb_map_stats_t;
void scitt_store__lmdb_map_stats(scitt_store_t *st, scitt_store__lmdb_map_stats_t *out);

#endif /* SCITT_SRC_STORE_TUNING_H */
