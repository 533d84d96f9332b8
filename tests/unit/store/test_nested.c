/*
 * Read handles nest on one thread, even while a commit waits to grow the
 * map: the LMDB engine's grow lock is re-entrant per thread, so the nested
 * read_begin does not queue behind the (writer-preferring) growth that
 * waits for this very thread. Before, the nested begin deadlocked; the
 * test's timeout catches that.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../../src/store/tuning.h"
#include "scitt/crypto.h"
#include "scitt/store.h"

enum { ENTRIES = 48, ENTRY_LEN = 64 << 10 }; /* 3 MiB: three times the map */

static char dir[256];
static scitt_store_t *st;
static atomic_bool writing;

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/scitt-nested-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(nested, .init = make_dir, .fini = remove_dir);

/* writer commits one batch larger than the map: it fills the map, then
 * waits for every reader to grow it. */
static void *writer(void *arg)
{
    (void)arg;
    static uint8_t bytes[ENTRIES][ENTRY_LEN];
    static uint8_t hashes[ENTRIES][32];
    scitt_span_t entries[ENTRIES];
    for (size_t i = 0; i < ENTRIES; i++) {
        memset(bytes[i], (int)i + 1, ENTRY_LEN);
        scitt_sha256(hashes[i], bytes[i], ENTRY_LEN);
        entries[i] = scitt_span(bytes[i], ENTRY_LEN);
    }
    scitt_store_batch_t b = {
        .first_index = 0, .num_entries = ENTRIES, .entries = entries, .entry_hashes = (const uint8_t(*)[32])hashes};
    atomic_store(&writing, true);
    return (void *)(intptr_t)scitt_store_commit(st, &b);
}

Test(nested, two_handles_while_the_map_grows, .timeout = 60)
{
    struct scitt_store_tuning tu = {.map_size = 1 << 20, .nosync = true, .grow_when_full = true};
    scitt_store_config_t cfg = {.dir = dir, .tuning = &tu};
    const char *why = NULL;
    int rc = scitt_store_open(&st, &cfg, &why);
    cr_assert_eq(rc, 0, "open: %s (%s)", scitt_strerror(rc), why ? why : "");

    scitt_store_read_t *outer, *inner;
    cr_assert_eq(scitt_store_read_begin(st, &outer), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, writer, NULL), 0);
    while (!atomic_load(&writing)) {
        usleep(1000);
    }
    usleep(500 * 1000); /* the commit finds the map full and waits for `outer` */

    /* The nested handle: a second shared lock would wait behind the growth. */
    cr_assert_eq(scitt_store_read_begin(st, &inner), 0);
    scitt_span_t e;
    cr_assert_eq(scitt_store_get_entry(inner, 0, &e), SCITT_ENOTFOUND, "the batch is not committed yet");
    scitt_store_read_end(outer); /* not in order: the last handle out releases */
    scitt_store_read_end(inner);

    void *res;
    cr_assert_eq(pthread_join(t, &res), 0);
    cr_assert_eq((int)(intptr_t)res, 0, "commit: %s", scitt_strerror((int)(intptr_t)res));
    scitt_store__lmdb_map_stats_t ms;
    scitt_store__lmdb_map_stats(st, &ms);
    cr_assert_geq(ms.grew_full, 1, "the commit grew the map after waiting for the readers");

    cr_assert_eq(scitt_store_read_begin(st, &outer), 0);
    cr_assert_eq(scitt_store_read_begin(st, &inner), 0);
    cr_assert_eq(scitt_store_get_entries(inner, ENTRIES - 1, 1, &e), 0);
    cr_assert_eq(e.len, ENTRY_LEN);
    scitt_store_read_end(inner);
    scitt_store_read_end(outer);
    scitt_store_close(st);
}
