/*
 * stress.c: the pipeline under concurrent use, as a plain program (no
 * Criterion) so it also runs under ThreadSanitizer, where Criterion cannot
 * start (Snaipe/Criterion#274: its inheritable arena collides with TSan's
 * address space).
 *
 * Submitter threads race valid statements, repeats and garbage into
 * scitt_seq_submit and scitt_seq__submit_entry while reader threads call
 * scitt_seq_is_pending, scitt_seq_stats and scitt_log_store_receipt and read the
 * store the way the front end does; then the pipeline is stopped while
 * submitters are still pushing. A second phase runs the same against a
 * store whose map cannot grow past a few MiB, so commits fail and the
 * sequencer rolls back while readers run. Checks: every callback runs
 * exactly once, every success's receipt verifies and is rebuilt byte for
 * byte, no entry has two indexes, and the log verifies afterwards.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "../../../src/store/tuning.h"
#include "scitt/receipt.h"
#include "statement.h"

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "stress: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                           \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#define ORIGIN     "stress.example/log"
#define SUBMITTERS 3
#define PER_THREAD 600

typedef struct answer {
    atomic_int calls;
    int rc;
    bool existing;
    uint64_t index;
    uint8_t entry[32];
    uint8_t *receipt;
    size_t receipt_len;
} answer_t;

static char dir1[] = "/tmp/scitt-seq-stress-XXXXXX";
static char dir2[] = "/tmp/scitt-seq-stress2-XXXXXX";
static const char *dir;
static size_t pad; /* payload bytes beyond the subject, to fill a small map */
static char issuers[] = "/tmp/scitt-seq-stress-iss-XXXXXX";
static scitt_key_t *issuer;
static uint8_t issuer_kid[32];
static scitt_policy_t *policy;
static scitt_store_t *store;
static scitt_seq_keys_t keys;
static scitt_seq_t *seq;
static atomic_bool readers_stop;
static answer_t answers[SUBMITTERS][PER_THREAD];
static atomic_int shutdown_refusals;

static void on_done(void *ctx, const scitt_seq_result_t *res)
{
    answer_t *a = ctx;
    if (atomic_fetch_add(&a->calls, 1) != 0) {
        return; /* counted; checked later */
    }
    a->rc = res->rc;
    a->existing = res->existing;
    a->index = res->index;
    memcpy(a->entry, res->entry, 32);
    if (res->rc == 0) {
        a->receipt = malloc(res->receipt.len);
        CHECK(a->receipt != NULL);
        memcpy(a->receipt, res->receipt.base, res->receipt.len);
        a->receipt_len = res->receipt.len;
    }
}

static void statement(scitt_buf_t *out, int n)
{
    uint8_t payload[4096];
    char sub[48];
    snprintf(sub, sizeof(sub), "pkg:stress/%d", n);
    size_t len = strlen(sub);
    memcpy(payload, sub, len);
    memset(payload + len, 'p', pad);
    tu_statement_t st = {.alg = SCITT_ALG_EDDSA,
                         .kid = scitt_span(issuer_kid, 32),
                         .iss = "https://ci.example",
                         .sub = sub,
                         .payload = scitt_span(payload, len + pad)};
    scitt_buf_reset(out);
    tu_sign_statement(out, issuer, &st);
}

static void *submitter(void *arg)
{
    int t = (int)(intptr_t)arg;
    scitt_buf_t body;
    scitt_buf_init(&body, NULL, 0);
    for (int i = 0; i < PER_THREAD; i++) {
        answer_t *a = &answers[t][i];
        int rc;
        if (i % 13 == 12) {
            scitt_buf_reset(&body);
            scitt_buf_append_str(&body, "garbage");
        } else {
            statement(&body, i % 4 == 3 ? i / 2 : t * PER_THREAD + i); /* threads repeat each other */
        }
        do {
            if (i % 7 == 6 && i % 13 != 12) {
                uint8_t entry[32];
                scitt_sha256(entry, body.base, body.len);
                rc = scitt_seq__submit_entry(seq, body.base, body.len, entry, on_done, a);
            } else {
                rc = scitt_seq_submit(seq, body.base, body.len, on_done, NULL, a, NULL);
            }
            if (rc == SCITT_EFULL) {
                usleep(50);
            }
        } while (rc == SCITT_EFULL);
        if (rc == SCITT_ESHUTDOWN) {
            atomic_fetch_add(&shutdown_refusals, 1);
            atomic_store(&a->calls, -1000); /* never answered: submit failed */
            continue;
        }
        CHECK(rc == 0);
    }
    scitt_buf_cleanup(&body);
    return NULL;
}

/* reader does what GET handlers and /metrics do, concurrently. */
static void *reader(void *arg)
{
    (void)arg;
    scitt_buf_t out, cached;
    scitt_buf_init(&out, NULL, 0);
    scitt_buf_init(&cached, NULL, 0);
    unsigned n = 0;
    while (!atomic_load(&readers_stop)) {
        scitt_seq_stats_t st;
        scitt_seq_stats(seq, &st);
        uint8_t probe[32] = {(uint8_t)n};
        (void)scitt_seq_is_pending(seq, probe);
        if (st.tree_size > 0) {
            uint64_t index = (n * 2654435761u) % st.tree_size;
            scitt_buf_reset(&out);
            int rc = scitt_log_store_receipt(store, NULL, keys.receipt_kid, ORIGIN, index, &out);
            CHECK(rc == 0 || rc == SCITT_ENOTFOUND); /* the gauge may run ahead of a reader's snapshot */
            if (rc == 0) {
                /* Through the tile cache the answer thread fills meanwhile. */
                scitt_buf_reset(&cached);
                CHECK(scitt_log_receipt(scitt_seq_log(seq), NULL, index, &cached) == 0);
                CHECK(scitt_span_eq(scitt_buf_span(&cached), scitt_buf_span(&out)));
            }
            scitt_store_read_t *rd;
            CHECK(scitt_store_read_begin(store, &rd) == 0);
            scitt_store_head_t head;
            scitt_span_t entry;
            CHECK(scitt_store_get_latest_head(rd, &head) == 0);
            CHECK(scitt_store_get_entry(rd, head.size - 1, &entry) == 0);
            scitt_store_read_end(rd);
        }
        n++;
    }
    scitt_buf_cleanup(&out);
    scitt_buf_cleanup(&cached);
    return NULL;
}

static void start(size_t map_size, size_t map_size_max)
{
    struct scitt_store_tuning tu = {.map_size = map_size, .map_size_max = map_size_max};
    scitt_store_config_t sc = {.dir = dir, .tuning = &tu};
    CHECK(scitt_store_open(&store, &sc, NULL) == 0);
    CHECK(scitt_seq_keys_load(&keys, dir, store, NULL) == 0);
    scitt_seq_config_t cfg = {.store = store,
                              .keys = &keys,
                              .policy = policy,
                              .origin = ORIGIN,
                              .workers = 2,
                              .batch_max = 40,
                              .max_pending = 300,
                              .tile_cache_bytes = 2 * 16400}; /* two tiles: evictions while readers hold them */
    const char *why = NULL;
    int rc = scitt_seq_start(&seq, &cfg, &why);
    if (rc != 0) {
        fprintf(stderr, "stress: start: %s (%s)\n", scitt_err_name(rc), why ? why : "");
    }
    CHECK(rc == 0);
}

static void close_all(void)
{
    scitt_seq_free(seq);
    seq = NULL;
    scitt_seq_keys_cleanup(&keys);
    scitt_store_close(store);
}

/* run one phase; returns how many submissions succeeded. */
static size_t phase(bool full_disk)
{
    memset(answers, 0, sizeof(answers));
    atomic_store(&shutdown_refusals, 0);
    atomic_store(&readers_stop, false);
    pthread_t subs[SUBMITTERS], rds[2];
    for (int t = 0; t < SUBMITTERS; t++) {
        CHECK(pthread_create(&subs[t], NULL, submitter, (void *)(intptr_t)t) == 0);
    }
    for (int r = 0; r < 2; r++) {
        CHECK(pthread_create(&rds[r], NULL, reader, NULL) == 0);
    }
    usleep(full_disk ? 1500000 : 150000);
    scitt_seq_stop(seq); /* while submitters may still be pushing */
    for (int t = 0; t < SUBMITTERS; t++) {
        pthread_join(subs[t], NULL);
    }
    atomic_store(&readers_stop, true);
    for (int r = 0; r < 2; r++) {
        pthread_join(rds[r], NULL);
    }
    size_t ok = 0, failed = 0, refused = 0;
    scitt_receipt_t *r = malloc(sizeof(*r));
    scitt_buf_t scratch, rebuilt;
    scitt_buf_init(&scratch, NULL, 0);
    scitt_buf_init(&rebuilt, NULL, 0);
    scitt_store_read_t *rd;
    CHECK(scitt_store_read_begin(store, &rd) == 0);
    for (int t = 0; t < SUBMITTERS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
            answer_t *a = &answers[t][i];
            int calls = atomic_load(&a->calls);
            if (calls < 0) {
                refused++;
                continue;
            }
            CHECK(calls == 1);
            if (a->rc != 0) {
                CHECK(i % 13 == 12 || (full_disk && a->rc == SCITT_ENOSPC));
                failed++;
                continue;
            }
            CHECK(i % 13 != 12);
            CHECK(scitt_receipt_decode(r, a->receipt, a->receipt_len, NULL) == 0);
            CHECK(scitt_receipt_verify(r, a->entry, keys.receipt_key, NULL, &scratch, NULL) == 0);
            uint64_t found;
            CHECK(scitt_store_get_entryidx(rd, a->entry, &found) == 0 && found == a->index);
            scitt_buf_reset(&rebuilt);
            CHECK(scitt_log_store_receipt(store, NULL, keys.receipt_kid, ORIGIN, a->index, &rebuilt) == 0);
            CHECK(scitt_span_eq(scitt_buf_span(&rebuilt), scitt_span(a->receipt, a->receipt_len)));
            if (seq != NULL) {
                scitt_buf_reset(&rebuilt);
                CHECK(scitt_log_receipt(scitt_seq_log(seq), NULL, a->index, &rebuilt) == 0);
                CHECK(scitt_span_eq(scitt_buf_span(&rebuilt), scitt_span(a->receipt, a->receipt_len)));
            }
            free(a->receipt);
            ok++;
        }
    }
    scitt_store_read_end(rd);
    free(r);
    scitt_buf_cleanup(&scratch);
    scitt_buf_cleanup(&rebuilt);
    printf("stress%s: %zu registered, %zu refused by the pipeline, %zu not accepted after stop\n",
           full_disk ? " (full disk)" : "", ok, failed, refused);
    CHECK(ok > 0);
    return ok;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK(mkdtemp(dir1) != NULL && mkdtemp(dir2) != NULL && mkdtemp(issuers) != NULL);
    CHECK(scitt_key_generate(&issuer, SCITT_ALG_EDDSA) == 0);
    tu_kid(issuer_kid, issuer);
    scitt_buf_t pem;
    scitt_buf_init(&pem, NULL, 0);
    CHECK(scitt_key_public_pem(issuer, &pem) == 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/ci.pem", issuers);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(pem.base, 1, pem.len, f) == pem.len);
    fclose(f);
    scitt_buf_cleanup(&pem);
    scitt_policy_config_t pc = {.issuer_keys_dir = issuers};
    CHECK(scitt_policy_new(&policy, &pc, NULL) == 0);

    dir = dir1;
    start(0, 0);
    phase(false);
    close_all();
    /* A fresh log whose map may not grow past 2 MiB, with 3 KB statements:
     * commits start failing, the sequencer rolls back and keeps answering. */
    dir = dir2;
    pad = 3000;
    start(1 << 20, 2 << 20);
    phase(true);
    close_all();
    start(0, 0); /* recovery accepts what is left */
    close_all();

    scitt_policy_free(policy);
    scitt_key_free(issuer);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'", dir1, dir2, issuers);
    CHECK(system(cmd) == 0);
    printf("stress: ok\n");
    return 0;
}
