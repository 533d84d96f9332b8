/*
 * fault.h: a fault-injecting wrapper around an open store, for tests only
 * (never linked into scittd). It replaces the store's table of operations
 * (engine.h) with a copy whose commit, maintain and read_begin follow a
 * script the test sets, and forwards everything else to the engine.
 *
 * A commit fault fails the next `count` commits with `rc`, either before
 * the engine writes anything (what SCITT_EUNAVAIL, SCITT_ECONFLICT or
 * SCITT_ENOSPC promise) or after the engine committed (a commit reported
 * SCITT_EINDOUBT that did happen). A maintain fault fails the next `count`
 * calls. A read fault fails every read_begin with `rc` until cleared.
 *
 * The script may be changed from any thread while the store is in use.
 * scitt_store_close on the wrapped store unwraps it and closes the engine.
 */
#ifndef SCITT_STORE_FAULT_H
#define SCITT_STORE_FAULT_H

#include <stdbool.h>

#include "scitt/store.h"

typedef struct scitt_store_fault scitt_store_fault_t;

/* scitt_store_fault_wrap wraps the open store `st`; the handle stays valid
 * until scitt_store_close(st). */
int scitt_store_fault_wrap(scitt_store_t *st, scitt_store_fault_t **out);

/* The next `count` commits fail with `rc`; `after_write`: the engine
 * commits first (so the batch IS stored) and `rc` is reported anyway. */
void scitt_store_fault_commit(scitt_store_fault_t *f, int rc, bool after_write, unsigned count);
/* The next `count` maintain calls fail with `rc` (without calling the engine). */
void scitt_store_fault_maintain(scitt_store_fault_t *f, int rc, unsigned count);
/* Every read_begin fails with `rc` until called again with 0; the store
 * reports itself unavailable (scitt_store_stats) meanwhile. */
void scitt_store_fault_reads(scitt_store_fault_t *f, int rc);

/* What the wrapper saw: commits and maintain calls so far (faulted ones included). */
typedef struct scitt_store_fault_stats {
    unsigned commits, commits_failed, maintains, maintains_failed;
} scitt_store_fault_stats_t;
void scitt_store_fault_stats(scitt_store_fault_t *f, scitt_store_fault_stats_t *out);

#endif /* SCITT_STORE_FAULT_H */
