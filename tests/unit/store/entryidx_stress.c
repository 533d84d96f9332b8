/*
 * entryidx_stress.c: the entry index growing (rehash into doubled tables) and
 * syncing while other threads look entries up, as a plain program (no
 * Criterion) so it also runs under ThreadSanitizer.
 *
 * The main thread commits batches of random sizes until the table has grown
 * several times and publishes the committed size after each commit; reader
 * threads check that every entry below the size they read is found at its
 * index, that hashes never committed are never found, and that any hit is
 * exact; a syncer thread forces syncs meanwhile. Then the store is reopened
 * (clean close) and, after rewinding the table's watermark (a crash), again.
 * The batches also carry index records (issue 10: leaf L has keys 1 + L % 5
 * and 100 + L % 3), merged F = 4 at a time, and the readers page through
 * index queries in their snapshots meanwhile.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../../src/store/entryidx.h"
#include "../../../src/store/tuning.h"
#include "scitt/crypto.h"
#include "scitt/store.h"

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "entryidx_stress: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                  \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#define TOTAL   120000
#define READERS 2

static char dir[] = "/tmp/scitt-entryidx-stress-XXXXXX";
static scitt_store_t *store;
static atomic_uint_fast64_t committed;
static atomic_bool stop;
static atomic_uint_fast64_t lookups;

static void entry_of(uint64_t i, uint8_t fill, uint8_t stmt[48], uint8_t hash[32])
{
    memset(stmt, fill, 48);
    scitt_store_be64(stmt, i);
    scitt_sha256(hash, stmt, 48);
}

/* check_query pages through key 1 + a (and 100 + b) from a random leaf:
 * every leaf with that residue (mod 5, or 15 with both keys), in order,
 * at least up to `n`, the size committed before the snapshot began. */
static void check_query(scitt_store_read_t *rd, uint64_t n, unsigned *seed)
{
    uint64_t a = (uint64_t)rand_r(seed) % 5, b = (uint64_t)rand_r(seed) % 3, keys[2] = {1 + a, 100 + b};
    bool both = rand_r(seed) % 2 == 0;
    uint64_t step = both ? 15 : 5, out[50], next, want;
    scitt_store_query_t q = {.keys = keys, .num_keys = both ? 2 : 1, .from = n > 0 ? (uint64_t)rand_r(seed) % n : 0};
    want = q.from;
    while (want % 5 != a || (both && want % 3 != b)) {
        want++;
    }
    for (int page = 0; page < 4; page++) {
        size_t num;
        CHECK(scitt_store_query(rd, &q, out, 50, &num, &next) == 0);
        for (size_t i = 0; i < num; i++, want += step) {
            CHECK(out[i] == want);
        }
        if (next == UINT64_MAX) {
            CHECK(want >= n);
            return;
        }
        q.from = next;
    }
}

static void *reader_main(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&stop)) {
        uint64_t n = atomic_load(&committed);
        scitt_store_read_t *rd;
        CHECK(scitt_store_read_begin(store, &rd) == 0);
        for (int k = 0; k < 64; k++) {
            uint8_t stmt[48], hash[32];
            uint64_t idx = UINT64_MAX;
            if (n > 0) {
                uint64_t i = (uint64_t)rand_r(&seed) % n;
                entry_of(i, 0x33, stmt, hash);
                CHECK(scitt_store_get_entryidx(rd, hash, &idx) == 0 && idx == i);
            }
            /* Committed later, maybe already: a hit must be exact. */
            uint64_t j = n + (uint64_t)rand_r(&seed) % 4096;
            entry_of(j, 0x33, stmt, hash);
            int rc = scitt_store_get_entryidx(rd, hash, &idx);
            CHECK(rc == SCITT_ENOTFOUND || (rc == 0 && idx == j));
            /* Never committed. */
            entry_of(j, 0x44, stmt, hash);
            CHECK(scitt_store_get_entryidx(rd, hash, &idx) == SCITT_ENOTFOUND);
        }
        check_query(rd, n, &seed);
        scitt_store_read_end(rd);
        atomic_fetch_add(&lookups, 64);
    }
    return NULL;
}

static void *syncer_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        CHECK(scitt_entryidx_sync_now(scitt_store__entryidx(store)) == 0);
    }
    return NULL;
}

static void open_store(void)
{
    struct scitt_store_tuning tu = {.nosync = true, .index_fanout = 4};
    scitt_store_config_t cfg = {.dir = dir, .tuning = &tu};
    const char *why = NULL;
    int rc = scitt_store_open(&store, &cfg, &why);
    if (rc != 0) {
        fprintf(stderr, "entryidx_stress: open: %s (%s)\n", scitt_strerror(rc), why ? why : "");
        exit(1);
    }
}

static void check_all(uint64_t n)
{
    scitt_store_read_t *rd;
    CHECK(scitt_store_read_begin(store, &rd) == 0);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t stmt[48], hash[32];
        uint64_t idx;
        entry_of(i, 0x33, stmt, hash);
        CHECK(scitt_store_get_entryidx(rd, hash, &idx) == 0 && idx == i);
        entry_of(i, 0x44, stmt, hash);
        CHECK(scitt_store_get_entryidx(rd, hash, &idx) == SCITT_ENOTFOUND);
    }
    scitt_store_read_end(rd);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    open_store();
    uint64_t slots0, slots, count, synced;
    scitt_entryidx_stats(scitt_store__entryidx(store), &slots0, &count, &synced);
    pthread_t readers[READERS], syncer;
    for (uintptr_t r = 0; r < READERS; r++) {
        CHECK(pthread_create(&readers[r], NULL, reader_main, (void *)(r + 1)) == 0);
    }
    CHECK(pthread_create(&syncer, NULL, syncer_main, NULL) == 0);

    enum { MAX_BATCH = 3000 };
    static uint8_t data[MAX_BATCH][48], hashes[MAX_BATCH][32];
    static scitt_span_t entries[MAX_BATCH];
    static scitt_store_index_rec_t recs[2 * MAX_BATCH];
    unsigned seed = 42;
    uint64_t n = 0;
    while (n < TOTAL) {
        size_t b = 1 + (size_t)rand_r(&seed) % MAX_BATCH;
        for (size_t i = 0; i < b; i++) {
            entry_of(n + i, 0x33, data[i], hashes[i]);
            entries[i] = scitt_span(data[i], 48);
            recs[2 * i] = (scitt_store_index_rec_t){1 + (n + i) % 5, n + i};
            recs[2 * i + 1] = (scitt_store_index_rec_t){100 + (n + i) % 3, n + i};
        }
        scitt_store_head_t head = {.size = n + b, .time = 1, .receipt_sig = scitt_span("s", 1)};
        head.checkpoint = scitt_span("n", 1);
        scitt_store_batch_t batch = {n, b,    entries, (const uint8_t(*)[32])hashes, NULL, 0, &head, recs, 2 * b,
                                     0, NULL, 0};
        CHECK(scitt_store_commit(store, &batch) == 0);
        n += b;
        atomic_store(&committed, n);
    }
    atomic_store(&stop, true);
    for (int r = 0; r < READERS; r++) {
        pthread_join(readers[r], NULL);
    }
    pthread_join(syncer, NULL);
    scitt_entryidx_stats(scitt_store__entryidx(store), &slots, &count, &synced);
    CHECK(slots >= 16 * slots0); /* grew at least four times */
    CHECK(count == n);
    check_all(n);
    printf("entryidx_stress: %llu entries, table %llu -> %llu slots, %llu concurrent lookups\n", (unsigned long long)n,
           (unsigned long long)slots0, (unsigned long long)slots, (unsigned long long)atomic_load(&lookups));
    scitt_store_close(store);

    /* Clean reopen: nothing to re-insert. */
    open_store();
    scitt_entryidx_stats(scitt_store__entryidx(store), &slots, &count, &synced);
    CHECK(synced == n && count == n);
    check_all(n);
    scitt_store_close(store);

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    printf("entryidx_stress: ok\n");
    return 0;
}
