/*
 * test_index.c: the secondary indexes (index.c): runs, merges, times and
 * scitt_store_query, checked against a brute-force scan of the log that
 * decodes every stored statement with scitt_cose_fields.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../../src/store/tuning.h"
#include "fixture.h"
#include "scitt/crypto.h"
#include "scitt/store.h"
#include "statement.h"

#define T0 1700000000

static scitt_key_t *key;

static void setup(void)
{
    fx_init();
    cr_assert_eq(scitt_key_generate(&key, SCITT_ALG_EDDSA), 0);
}

static void teardown(void)
{
    fx_fini();
    scitt_key_free(key);
}

TestSuite(store_index, .init = setup, .fini = teardown, .timeout = 240);

/* Small merge policy: F = 2, CAP = 256, so runs over 128 records are final
 * and merges reach level 3 within a few hundred entries; on PostgreSQL
 * the tail is merged into the btree once it holds 50 records, so queries
 * find records in both. */
static scitt_store_t *open_store(size_t map_size_max)
{
    struct scitt_store_tuning tu = {.map_size = map_size_max != 0 ? (1 << 20) : 0, .map_size_max = map_size_max};
    tu.index_fanout = 2;
    tu.index_run_max = 256;
    tu.pg_tail_max = 50;
    scitt_store_config_t cfg = {.tuning = &tu};
    return fx_open(&cfg);
}

static const char *const issuers[] = {"https://a.example", "https://b.example", "https://c.example"};
static const char *const kids[] = {"kid-0", "kid-1", "kid-2", "kid-3"};

/* make_statement appends statement number `n` with random fields: iss of
 * 3 (or none), kid of 4 or an x5chain of 2 (or neither), sub of 12 (or
 * none), a plain payload of 6, a hash envelope of 4 digests, or detached.
 * iat = n keeps every statement distinct. */
static void make_statement(scitt_buf_t *out, uint64_t n, unsigned *seed, size_t pad)
{
    char sub[16];
    uint8_t payload[4096];
    scitt_span_t chain[1];
    char leaf[16];
    scitt_cose_statement_params_t p = {.alg = SCITT_ALG_EDDSA, .iat = (int64_t)n + 1};
    unsigned r = (unsigned)rand_r(seed);
    if (r % 5 != 0) {
        p.iss = issuers[r / 5 % 3];
    }
    r = (unsigned)rand_r(seed);
    if (r % 6 < 4) {
        p.kid = scitt_span_str(kids[r / 6 % 4]);
    } else if (r % 6 == 4) {
        snprintf(leaf, sizeof(leaf), "cert-%u", r / 6 % 2);
        chain[0] = scitt_span_str(leaf);
        p.x5chain = chain;
        p.num_x5chain = 1;
    }
    r = (unsigned)rand_r(seed);
    if (r % 4 != 0) {
        snprintf(sub, sizeof(sub), "pkg/%u", r / 4 % 12);
        p.sub = sub;
    }
    r = (unsigned)rand_r(seed);
    size_t len = 16 + pad;
    memset(payload, (int)(r / 3 % 6), sizeof(payload));
    bool detached = false;
    if (r % 3 == 1) {
        p.payload_hash_alg = -16;
        len = 32;
        memset(payload, 0x40 + (int)(r / 3 % 4), 32);
    } else if (r % 3 == 2 && r / 3 % 4 == 0) {
        detached = true;
    }
    tu_sign_params(out, key, &p, scitt_span(payload, len), detached);
}

/* keys_of: the index keys of a statement, as the sequencer computes them. */
static size_t keys_of(scitt_span_t stmt, uint64_t keys[4])
{
    scitt_cose_sign1_t s;
    scitt_cose_fields_t f;
    if (scitt_cose_sign1_decode(&s, stmt.base, stmt.len, 0, NULL) != 0) {
        return 0;
    }
    scitt_cose_fields(&s, &f);
    scitt_span_t v[4] = {f.iss, f.key_id, f.sub, f.artifact};
    unsigned fields[4] = {SCITT_INDEX_ISS, SCITT_INDEX_KEY, SCITT_INDEX_SUB, SCITT_INDEX_ARTIFACT};
    size_t n = 0;
    for (size_t i = 0; i < 4; i++) {
        if (v[i].len > 0) {
            keys[n++] = scitt_store_index_key(fields[i], v[i].base, v[i].len);
        }
    }
    return n;
}

/* The log as the test wrote it. */
typedef struct model {
    uint64_t size;
    int64_t time;
    unsigned seed;
    uint64_t seen_keys[256]; /* every key written, for the queries */
    size_t num_seen;
} model_t;

static void remember(model_t *m, uint64_t k)
{
    for (size_t i = 0; i < m->num_seen; i++) {
        if (m->seen_keys[i] == k) {
            return;
        }
    }
    cr_assert_lt(m->num_seen, 256);
    m->seen_keys[m->num_seen++] = k;
}

/* commit_batch writes `n` new statements (each `pad` payload bytes more)
 * with their index records at time m->time; `bad_leaf` adds a record for a
 * leaf outside the batch. The model advances only on success. */
static int commit_batch(scitt_store_t *st, model_t *m, size_t n, size_t pad, bool bad_leaf)
{
    scitt_buf_t *bufs = calloc(n, sizeof(*bufs));
    scitt_span_t *entries = calloc(n, sizeof(*entries));
    uint8_t(*hashes)[32] = calloc(n, 32);
    scitt_store_index_rec_t *recs = calloc(4 * n + 1, sizeof(*recs));
    size_t num_recs = 0;
    uint64_t keys[4];
    unsigned seed = m->seed;
    for (size_t i = 0; i < n; i++) {
        scitt_buf_init(&bufs[i], NULL, 0);
        make_statement(&bufs[i], m->size + i, &seed, pad);
        entries[i] = scitt_buf_span(&bufs[i]);
        scitt_sha256(hashes[i], entries[i].base, entries[i].len);
        size_t k = keys_of(entries[i], keys);
        for (size_t j = 0; j < k; j++) {
            recs[num_recs++] = (scitt_store_index_rec_t){keys[j], m->size + i};
        }
    }
    /* Any order: the store sorts. */
    for (size_t i = num_recs; i > 1; i--) {
        size_t j = (size_t)rand_r(&seed) % i;
        scitt_store_index_rec_t t = recs[i - 1];
        recs[i - 1] = recs[j];
        recs[j] = t;
    }
    if (bad_leaf) {
        recs[num_recs++] = (scitt_store_index_rec_t){42, m->size + n};
    }
    scitt_store_head_t head = {.size = m->size + n, .time = m->time};
    head.receipt_sig = scitt_span("sig", 3);
    head.checkpoint = scitt_span("note\n", 5);
    scitt_store_batch_t b = {.first_index = m->size,
                             .num_entries = n,
                             .entries = entries,
                             .entry_hashes = (const uint8_t(*)[32])hashes,
                             .head = &head,
                             .index = num_recs > 0 ? recs : NULL,
                             .num_index = num_recs};
    int rc = scitt_store_commit(st, &b);
    if (rc == 0) {
        for (size_t i = 0; i < num_recs; i++) {
            remember(m, recs[i].key);
        }
        m->size += n;
        m->seed = seed;
    }
    for (size_t i = 0; i < n; i++) {
        scitt_buf_cleanup(&bufs[i]);
    }
    free(bufs);
    free(entries);
    free(hashes);
    free(recs);
    return rc;
}

/* brute_force: every leaf of the snapshot that has all `keys` and was
 * registered in [since, until), by decoding every stored entry. */
static size_t brute_force(scitt_store_read_t *rd, const scitt_store_query_t *q, uint64_t *out, uint64_t size)
{
    size_t n = 0;
    for (uint64_t leaf = q->from; leaf < size; leaf++) {
        scitt_span_t e;
        scitt_store_head_t h;
        /* Plain checks in the hot loops: Criterion reports every passing
         * assertion to its runner, which is slow (and leaks under ASan
         * when several workers do it at once). */
        if (scitt_store_get_entry(rd, leaf, &e) != 0 || scitt_store_get_head_from(rd, leaf + 1, &h) != 0) {
            cr_assert_fail("leaf %llu or its head is missing", (unsigned long long)leaf);
        }
        if ((q->since > 0 && h.time < q->since) || (q->until != 0 && h.time >= q->until)) {
            continue;
        }
        uint64_t keys[4];
        size_t k = keys_of(e, keys), hits = 0;
        for (size_t i = 0; i < q->num_keys; i++) {
            for (size_t j = 0; j < k; j++) {
                if (keys[j] == q->keys[i]) {
                    hits++;
                    break;
                }
            }
        }
        if (hits == q->num_keys) {
            out[n++] = leaf;
        }
    }
    return n;
}

/* check_query pages through `q` with `limit` and compares with the scan. */
static void check_query(scitt_store_read_t *rd, const scitt_store_query_t *q, uint64_t size, size_t limit)
{
    uint64_t *want = malloc((size + 1) * sizeof(*want));
    uint64_t *got = malloc((size + limit + 1) * sizeof(*got));
    size_t num_want = brute_force(rd, q, want, size), num_got = 0;
    scitt_store_query_t page = *q;
    for (int pages = 0;; pages++) {
        if (pages >= 100000) {
            cr_assert_fail("pagination does not end");
        }
        size_t n;
        uint64_t next;
        if (scitt_store_query(rd, &page, got + num_got, limit, &n, &next) != 0 || n > limit) {
            cr_assert_fail("query failed or overfilled the page");
        }
        for (size_t i = 0; i < n; i++) {
            if (num_got + i > 0 && got[num_got + i] <= got[num_got + i - 1]) {
                cr_assert_fail("not ascending, or a repeat");
            }
        }
        num_got += n;
        if (next == UINT64_MAX) {
            break;
        }
        if ((n > 0 && next <= got[num_got - 1]) || next < page.from) {
            cr_assert_fail("the resume point goes back");
        }
        page.from = next;
    }
    cr_assert_eq(num_got, num_want, "%zu keys, since %lld, until %lld, from %llu: %zu leaves, want %zu", q->num_keys,
                 (long long)q->since, (long long)q->until, (unsigned long long)q->from, num_got, num_want);
    if (memcmp(got, want, num_want * sizeof(*want)) != 0) {
        cr_assert_fail("the leaves differ from the scan's");
    }
    free(want);
    free(got);
}

/* check_all runs queries on every key alone, random pairs and triples,
 * time ranges, `from` cursors and no keys, against the scan. */
static void check_all(scitt_store_t *st, const model_t *m, unsigned seed)
{
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    for (size_t i = 0; i < m->num_seen; i++) {
        scitt_store_query_t q = {.keys = &m->seen_keys[i], .num_keys = 1};
        check_query(rd, &q, m->size, 1 + i % 7);
    }
    for (int t = 0; t < 40; t++) {
        uint64_t keys[3];
        size_t nk = (size_t)t % 4;
        for (size_t i = 0; i < nk; i++) {
            keys[i] = m->seen_keys[(size_t)rand_r(&seed) % m->num_seen];
        }
        scitt_store_query_t q = {.keys = keys, .num_keys = nk};
        if (t % 3 == 1) {
            q.since = T0 + rand_r(&seed) % (m->time - T0 + 2);
        }
        if (t % 5 == 2) {
            q.until = T0 + rand_r(&seed) % (m->time - T0 + 2);
        }
        if (t % 2 == 1) {
            q.from = (uint64_t)rand_r(&seed) % (m->size + 1);
        }
        check_query(rd, &q, m->size, 1 + (size_t)rand_r(&seed) % 50);
    }
    scitt_store_read_end(rd);
}

/* grow adds `batches` random batches of 1..6 entries; the clock ticks
 * every few batches. */
static void grow(scitt_store_t *st, model_t *m, int batches)
{
    for (int i = 0; i < batches; i++) {
        if (rand_r(&m->seed) % 3 == 0) {
            m->time += 1 + rand_r(&m->seed) % 3;
        }
        cr_assert_eq(commit_batch(st, m, 1 + (size_t)rand_r(&m->seed) % 6, 0, false), 0);
        cr_assert_eq(scitt_store_maintain(st), 0); /* PostgreSQL: merges the index tail now and then */
    }
}

/* reopen_and_grow closes `st`, reopens it without a map limit, checks,
 * adds `batches` and checks again, then closes it. */
static void reopen_and_grow(scitt_store_t *st, model_t *m, int batches, unsigned seed)
{
    scitt_store_close(st);
    st = open_store(0);
    check_all(st, m, seed);
    grow(st, m, batches);
    check_all(st, m, seed + 1);
    scitt_store_close(st);
}

Test(store_index, key_vector)
{
    cr_assert_eq(scitt_store_index_key(SCITT_INDEX_ISS, (const uint8_t *)"https://issuer.example", 22),
                 0xd1aeab3dcbe1a936ull);
    uint8_t zero[32] = {0};
    cr_assert_eq(scitt_store_index_key(SCITT_INDEX_ARTIFACT, zero, 32), 0xf09cc66424a35e60ull);
    cr_assert_neq(scitt_store_index_key(SCITT_INDEX_SUB, zero, 32),
                  scitt_store_index_key(SCITT_INDEX_ARTIFACT, zero, 32), "the field is part of the key");
}

Test(store_index, agrees_with_a_scan_after_random_batches_and_restart)
{
    scitt_store_t *st = open_store(0);
    model_t m = {.time = T0, .seed = 7};
    scitt_store_read_t *rd;
    size_t n;
    uint64_t out[4], next;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    scitt_store_query_t q = {0};
    cr_assert_eq(scitt_store_query(rd, &q, out, 4, &n, &next), 0);
    cr_assert_eq(n, 0, "an empty log has no leaves");
    cr_assert_eq(next, UINT64_MAX);
    scitt_store_read_end(rd);

    grow(st, &m, 60);
    check_all(st, &m, 1);
    grow(st, &m, 140);
    check_all(st, &m, 2);

    scitt_store_index_stats_t stats;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(scitt_store_index_stats(rd, &stats), 0);
    scitt_store_read_end(rd);
    if (!fx_pg()) { /* LMDB's sorted runs (PostgreSQL: one btree, no runs) */
        cr_assert_geq(stats.max_level, 3, "merges at several levels (max level %u)", stats.max_level);
        cr_assert_geq(stats.final_runs, 1, "runs reached CAP");
        cr_assert_lt(stats.runs, m.size / 4, "merging keeps runs few (%zu runs for %llu leaves)", stats.runs,
                     (unsigned long long)m.size);
    }
    reopen_and_grow(st, &m, 50, 3);
}

/* A bounded page: a query whose matches are rare examines at most
 * 64 x max + 4096 records and tells where to resume. */
Test(store_index, bounded_examination_resumes)
{
    scitt_store_config_t cfg = {0};
    fx_config(&cfg);
    scitt_store_t *st;
    cr_assert_eq(scitt_store_open(&st, &cfg, NULL), 0);
    enum { N = 20000 };
    static scitt_span_t entries[N];
    static uint8_t data[N][8], hashes[N][32];
    static scitt_store_index_rec_t recs[3 * N];
    for (size_t i = 0; i < N; i++) {
        scitt_store_be64(data[i], i);
        entries[i] = scitt_span(data[i], 8);
        scitt_sha256(hashes[i], data[i], 8);
        recs[3 * i] = (scitt_store_index_rec_t){1, i};                            /* every leaf */
        recs[3 * i + 1] = (scitt_store_index_rec_t){i % 9000 == 8999 ? 2 : 3, i}; /* 2: leaves 8999 and 17999 */
        recs[3 * i + 2] = (scitt_store_index_rec_t){4 + i % 2, i};                /* 4 even, 5 odd */
    }
    scitt_store_head_t head = {.size = N, .time = T0};
    head.checkpoint = scitt_span("note\n", 5);
    scitt_store_batch_t b = {0, N, entries, (const uint8_t(*)[32])hashes, NULL, 0, &head, recs, 3 * N, 0, NULL, 0};
    cr_assert_eq(scitt_store_commit(st, &b), 0);
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    /* Key 2 has 2 records: it drives, and the page is complete at once. */
    uint64_t keys[2] = {1, 2}, out[8], next;
    size_t n;
    scitt_store_query_t q = {.keys = keys, .num_keys = 2};
    cr_assert_eq(scitt_store_query(rd, &q, out, 8, &n, &next), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[0], 8999);
    cr_assert_eq(out[1], 17999);
    cr_assert_eq(next, UINT64_MAX);
    /* Key 3 alone with max 1: the first page is leaf 0, next is 1. */
    keys[0] = 3;
    q.num_keys = 1;
    cr_assert_eq(scitt_store_query(rd, &q, out, 1, &n, &next), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0], 0);
    cr_assert_eq(next, 1);
    /* Key 1 and 3 both nearly everywhere, key 2 absent from the range
     * [9000, 17999): an AND with 2 over that range finds nothing at once. */
    keys[0] = 1;
    keys[1] = 2;
    q.num_keys = 2;
    q.from = 9000;
    q.until = 0;
    cr_assert_eq(scitt_store_query(rd, &q, out, 1, &n, &next), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0], 17999);
    /* 4 and 5 never share a leaf: each call examines 64 + 4096 records of
     * one of them and says where to resume, until the end. */
    keys[0] = 4;
    keys[1] = 5;
    q.from = 0;
    int calls = 0;
    do {
        cr_assert_eq(scitt_store_query(rd, &q, out, 1, &n, &next), 0);
        cr_assert_eq(n, 0);
        cr_assert(next == UINT64_MAX || next > q.from);
        if (calls == 0) {
            cr_assert_eq(next, 2 * 4160, "the 4161st even leaf, not %llu", (unsigned long long)next);
        }
        q.from = next;
        calls++;
    } while (next != UINT64_MAX);
    cr_assert_eq(calls, 3, "10000 candidates in pages of 4160");
    keys[0] = 3;
    keys[1] = 2;
    q.from = 0;
    q.from = 0;
    cr_assert_eq(scitt_store_query(rd, &q, out, 1, &n, &next), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(next, UINT64_MAX, "key 2 drives (2 records), key 3 is never with it");
    keys[1] = 1; /* 3 and 1: both have ~20000 records, all matching */
    cr_assert_eq(scitt_store_query(rd, &q, out, 1, &n, &next), 0);
    cr_assert_eq(n, 1);
    scitt_store_read_end(rd);
    scitt_store_close(st);
}

Test(store_index, time_ranges_map_to_batches)
{
    scitt_store_t *st = open_store(0);
    model_t m = {.time = T0, .seed = 3};
    cr_assert_eq(commit_batch(st, &m, 3, 0, false), 0); /* leaves 0..2 at T0 */
    m.time = T0 + 10;
    cr_assert_eq(commit_batch(st, &m, 2, 0, false), 0); /* 3..4 at T0 + 10 */
    m.time = T0 + 5;                                    /* a clock that stepped back */
    cr_assert_eq(commit_batch(st, &m, 2, 0, false), 0); /* 5..6 recorded at T0 + 10 */
    m.time = T0 + 20;
    cr_assert_eq(commit_batch(st, &m, 1, 0, false), 0); /* 7 at T0 + 20 */
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    struct {
        int64_t since, until;
        uint64_t first, end;
    } cases[] = {
        {0, 0, 0, 8},       {T0, 0, 0, 8},      {T0 + 1, 0, 3, 8},        {T0 + 10, T0 + 20, 3, 7},
        {0, T0 + 10, 0, 3}, {T0 + 21, 0, 8, 8}, {T0 + 5, T0 + 5, 3, 3},   {-5, 0, 0, 8},
        {0, -1, 0, 0},      {0, T0, 0, 0},      {T0 + 11, T0 + 30, 7, 8},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scitt_store_query_t q = {.since = cases[i].since, .until = cases[i].until};
        uint64_t out[16], next;
        size_t n;
        cr_assert_eq(scitt_store_query(rd, &q, out, 16, &n, &next), 0);
        cr_assert_eq(n, cases[i].end - cases[i].first, "case %zu: %zu leaves", i, n);
        for (size_t j = 0; j < n; j++) {
            cr_assert_eq(out[j], cases[i].first + j);
        }
        cr_assert_eq(next, UINT64_MAX);
    }
    scitt_store_read_end(rd);
    scitt_store_close(st);
}

/* A batch that fails leaves no trace in the indexes: a record outside the
 * batch (EINVAL), and a full map (ENOSPC). */
Test(store_index, failed_commit_leaves_no_trace)
{
    scitt_store_t *st = open_store(4 << 20);
    model_t m = {.time = T0, .seed = 11};
    grow(st, &m, 20);
    uint64_t size = m.size;
    cr_assert_eq(commit_batch(st, &m, 4, 0, true), SCITT_EINVAL);
    cr_assert_eq(m.size, size);
    check_all(st, &m, 5);
    if (fx_pg()) { /* no map limit to reach: the ENOSPC half is LMDB's */
        reopen_and_grow(st, &m, 10, 7);
        return;
    }
    int rc;
    for (;;) {
        m.time++;
        rc = commit_batch(st, &m, 20, 3000, false);
        if (rc != 0) {
            break;
        }
    }
    cr_assert_eq(rc, SCITT_ENOSPC, "got %s", scitt_err_name(rc));
    cr_assert_gt(m.size, size);
    check_all(st, &m, 6);
    reopen_and_grow(st, &m, 10, 7);
}

/* Issue 15 item 10: non-final runs that a final run follows used to stay
 * unmerged for good (the policy only merges the newest F runs, and a final
 * run is never merged), so every large batch or final merge could strand
 * up to F - 1 runs per level and the runs per query grew with the log.
 * Now a new final run absorbs the non-final runs before it: only the
 * newest runs (at most F - 1 per level) are non-final. */
Test(store_index, no_run_is_stuck_behind_a_final_one)
{
    FX_LMDB_ONLY("the merge policy of LMDB's index runs");
    scitt_store_t *st = open_store(0);
    model_t m = {.time = T0, .seed = 5};
    for (int round = 0; round < 12; round++) {
        cr_assert_eq(commit_batch(st, &m, 1 + (size_t)round % 3, 0, false), 0); /* small: non-final */
        cr_assert_eq(commit_batch(st, &m, 100, 0, false), 0);                   /* > 128 records: final at birth */
        m.time++;
    }
    grow(st, &m, 30);
    scitt_store_read_t *rd;
    scitt_store_index_stats_t stats;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(scitt_store_index_stats(rd, &stats), 0);
    scitt_store_read_end(rd);
    cr_assert_geq(stats.final_runs, 12);
    /* F = 2: at most one non-final run per level, all after the last final run. */
    cr_assert_leq(stats.runs - stats.final_runs, stats.max_level + 1, "%zu non-final runs (%zu runs, max level %u)",
                  stats.runs - stats.final_runs, stats.runs, stats.max_level);
    check_all(st, &m, 9);
    reopen_and_grow(st, &m, 20, 10);
}
