/*
 * fixture.h: the engine the store conformance tests run on.
 *
 * Without SCITT_TEST_ENGINE (or with "lmdb"), a store is an LMDB folder in
 * a fresh temporary directory. With SCITT_TEST_ENGINE=postgresql (meson's
 * suite 'pg', run under tests/tools/pgtmp), it is a fresh database
 * `t_<random>` created on the server SCITT_TEST_DATABASE names and dropped
 * at the end. The temporary directory exists on both engines.
 */
#ifndef SCITT_TESTS_STORE_FIXTURE_H
#define SCITT_TESTS_STORE_FIXTURE_H

#include <stdbool.h>

#include "scitt/store.h"

/* TestSuite .init and .fini. */
void fx_init(void);
void fx_fini(void);

/* fx_pg: the tests run on PostgreSQL. */
bool fx_pg(void);
/* fx_dir: the test's temporary directory (the LMDB folder). */
const char *fx_dir(void);
/* fx_config points `cfg` at the test's store (dir or database); fx_open
 * does that and opens the store, asserting it opened. */
void fx_config(scitt_store_config_t *cfg);
scitt_store_t *fx_open(scitt_store_config_t *cfg);
/* fx_sql runs fixed SQL on the test's database, fx_server_sql on the
 * server's (SCITT_TEST_DATABASE), after replacing each "%s" in it with the
 * test database's name (PostgreSQL only). */
void fx_sql(const char *sql);
void fx_server_sql(const char *sql);
/* fx_sql_value: the one value (an integer) fixed SQL selects on the test's
 * database. */
long long fx_sql_value(const char *sql);
/* A session of its own on the test's database (a connection kept open, to
 * hold a transaction or a lock across calls of the store). */
typedef struct fx_session fx_session_t;
fx_session_t *fx_session(void);
void fx_session_sql(fx_session_t *s, const char *sql);
void fx_session_end(fx_session_t *s);

/* fx_commit_batch commits `n` entries of `entry_len` bytes from leaf
 * `first` (each filled from its index), their level-0 tile and a head at
 * first + n; fx_check_log asserts entries 0..size-1, their entry index and
 * the head at `size`. */
int fx_commit_batch(scitt_store_t *st, uint64_t first, size_t n, size_t entry_len);
/* fx_commit_shared is fx_commit_batch under writer epoch `epoch`, removing
 * the queue rows of `dequeue` (a shared store); fx_entry writes leaf
 * `index`'s entry as both commit it. */
int fx_commit_shared(scitt_store_t *st, uint64_t first, size_t n, size_t entry_len, uint64_t epoch,
                     const uint8_t (*dequeue)[32], size_t num_dequeue);
void fx_entry(uint8_t *out, uint64_t index, size_t entry_len);
/* fx_commit_kid is fx_commit_batch with a head that records receipt kid
 * `kid` (32 bytes; issue 21). */
int fx_commit_kid(scitt_store_t *st, uint64_t first, size_t n, size_t entry_len, const uint8_t kid[32]);
void fx_check_log(scitt_store_t *st, uint64_t size, size_t entry_len);

/* Skips a test of what only the PostgreSQL engine does. */
#define FX_PG_ONLY()                                                                                                   \
    do {                                                                                                               \
        if (!fx_pg()) {                                                                                                \
            cr_skip_test("PostgreSQL only (suite pg)");                                                                \
        }                                                                                                              \
    } while (0)

/* Skips a test that looks at LMDB's files or internals. */
#define FX_LMDB_ONLY(why)                                                                                              \
    do {                                                                                                               \
        if (fx_pg()) {                                                                                                 \
            cr_skip_test("LMDB only: %s", why);                                                                        \
        }                                                                                                              \
    } while (0)

#endif
