/*
 * bench_seq.c: sequencer throughput in entries per second, from submission
 * to completion with a verified receipt in hand, fed with pre-verified
 * ~400-byte entries (scitt_seq__submit_entry: no signatures to check), on
 * the local disk with fsync, for batch limits 1, 64, 1024 and 16384; then
 * the same with MDB_NOSYNC as the ceiling measured in the same run. Each
 * configuration runs on a fresh store in a temporary folder under
 * $SCITT_BENCH_DIR (default /var/tmp, a real disk here; /tmp may be tmpfs
 * elsewhere) for a fixed time, then stops the pipeline, which drains it.
 *
 * The entries are signed-statement shaped (COSE_Sign1 with a protected
 * header of 16 issuers, 64 kids, subjects "pkg/N" that are all distinct,
 * distinct ~250-byte payloads; the signature bytes are filler, nothing
 * verifies them), so the sequencer computes four index keys per entry
 * (issue 10): scitt_seq__submit_entry decodes each statement and hashes
 * its fields, here on the submitting thread (the verify pool's threads in
 * the server). At batch 1024 with fsync the same load also runs with the
 * indexes off (bench_no_index), alternating, best of two each.
 *
 * Last line: RESULT sequencer sync_entries_per_s=<fsync rate at 1024>
 * sync_ratio=<fsync rate / no-sync rate at 1024> nosync_entries_per_s=<n>
 * index_ratio=<fsync rate at 1024 with indexes / without>
 * noindex_entries_per_s=<fsync rate at 1024 without indexes>
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../src/seq/internal.h"
#include "bench.h"

#define ENTRY_LEN 400
#define SIG_LEN   64

/* A statement template: placeholders in the protected header are patched
 * per entry (fixed widths keep every offset fixed), so building an entry
 * costs a few copies, not a CBOR encoding. */
typedef struct tmpl {
    uint8_t stmt[ENTRY_LEN];
    size_t len;
    size_t iss_off, kid_off, sub_off, payload_off, payload_len;
} tmpl_t;

static size_t put_bstr_head(uint8_t *p, size_t len)
{
    if (len < 24) {
        p[0] = (uint8_t)(0x40 + len);
        return 1;
    }
    if (len < 256) {
        p[0] = 0x58;
        p[1] = (uint8_t)len;
        return 2;
    }
    p[0] = 0x59;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    return 3;
}

static size_t find(const uint8_t *hay, size_t len, const char *needle)
{
    const uint8_t *p = memmem(hay, len, needle, strlen(needle));
    if (p == NULL) {
        fprintf(stderr, "bench_seq: template: %s not found\n", needle);
        exit(1);
    }
    return (size_t)(p - hay);
}

static void tmpl_init(tmpl_t *t)
{
    scitt_buf_t prot;
    scitt_buf_init(&prot, NULL, 0);
    scitt_cose_statement_params_t p = {.alg = SCITT_ALG_ES256,
                                       .kid = scitt_span("KIDKIDKIDKIDKIDK", 16),
                                       .iss = "https://issuer-II.example",
                                       .sub = "pkg/SSSSSSSSSSSS"};
    if (scitt_cose_statement_protected(&prot, &p) != 0) {
        exit(1);
    }
    uint8_t *q = t->stmt;
    *q++ = 0xd2; /* tag 18 */
    *q++ = 0x84;
    q += put_bstr_head(q, prot.len);
    memcpy(q, prot.base, prot.len);
    t->iss_off = (size_t)(q - t->stmt) + find(prot.base, prot.len, "II");
    t->kid_off = (size_t)(q - t->stmt) + find(prot.base, prot.len, "KIDK");
    t->sub_off = (size_t)(q - t->stmt) + find(prot.base, prot.len, "SSSS");
    q += prot.len;
    *q++ = 0xa0;
    size_t used = (size_t)(q - t->stmt) + 3 + 2 + SIG_LEN;
    t->payload_len = ENTRY_LEN - used;
    q += put_bstr_head(q, t->payload_len);
    t->payload_off = (size_t)(q - t->stmt);
    memset(q, 0x5a, t->payload_len);
    q += t->payload_len;
    q += put_bstr_head(q, SIG_LEN);
    memset(q, 0x33, SIG_LEN);
    q += SIG_LEN;
    t->len = (size_t)(q - t->stmt);
    scitt_buf_cleanup(&prot);
    scitt_cose_sign1_t d;
    scitt_cose_fields_t f;
    if (scitt_cose_sign1_decode(&d, t->stmt, t->len, 0, NULL) != 0 || (scitt_cose_fields(&d, &f), f.sub.len != 16)) {
        fprintf(stderr, "bench_seq: the statement template does not decode\n");
        exit(1);
    }
}

/* tmpl_make writes entry `n`: issuer n % 16, kid n % 64, subject pkg/n,
 * payload starting with n. */
static void tmpl_make(tmpl_t *t, uint64_t n)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%02u", (unsigned)(n % 16));
    memcpy(t->stmt + t->iss_off, buf, 2);
    snprintf(buf, sizeof(buf), "kid-%012u", (unsigned)(n % 64));
    memcpy(t->stmt + t->kid_off, buf, 16);
    snprintf(buf, sizeof(buf), "%012llu", (unsigned long long)n);
    memcpy(t->stmt + t->sub_off, buf, 12);
    memcpy(t->stmt + t->payload_off, &n, sizeof(n));
}

typedef struct run {
    atomic_uint_fast64_t done;
    atomic_uint_fast64_t failed;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a completion freed room */
} run_t;

static void die(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench_seq: %s: %s\n", what, scitt_err_name(rc));
        exit(1);
    }
}

static void on_done(void *ctx, const scitt_seq_result_t *res)
{
    run_t *r = ctx;
    if (res->rc != 0 || res->receipt.len == 0) {
        atomic_fetch_add(&r->failed, 1);
    }
    uint64_t n = atomic_fetch_add_explicit(&r->done, 1, memory_order_relaxed);
    if ((n & 63) == 0) {
        pthread_mutex_lock(&r->lock);
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
    }
}

/* measure runs one configuration for `seconds` and returns entries/s. */
static double measure(const char *base, size_t batch_max, bool nosync, bool no_index, double seconds,
                      uint64_t *out_batches)
{
    char dir[512], cmd[600];
    snprintf(dir, sizeof(dir), "%s/scitt-bench-seq-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    scitt_store_config_t sc = {.dir = dir, .map_size = (size_t)4 << 30, .nosync = nosync};
    scitt_store_t *st;
    scitt_seq_keys_t keys;
    scitt_seq_t *seq;
    die(scitt_store_open(&st, &sc, NULL), "store");
    die(scitt_seq_keys_load(&keys, dir, st, NULL), "keys");
    /* Room for one batch committing and the next filling, and not much more:
     * a deep queue would only add a long drain at the end. */
    size_t max_pending = 3 * batch_max + 256;
    scitt_seq_config_t cfg = {
        .store = st, .keys = &keys, .batch_max = batch_max, .max_pending = max_pending, .bench_no_index = no_index};
    die(scitt_seq_start(&seq, &cfg, NULL), "start");

    run_t r = {0};
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    static tmpl_t t;
    uint8_t entry[32];
    tmpl_init(&t);
    uint64_t n = 0;
    double t0 = bench_now(), deadline = t0 + seconds;
    while (bench_now() < deadline) {
        tmpl_make(&t, n);
        scitt_sha256(entry, t.stmt, t.len);
        int rc = scitt_seq__submit_entry(seq, t.stmt, t.len, entry, on_done, &r);
        if (rc == SCITT_EFULL) {
            pthread_mutex_lock(&r.lock);
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&r.cond, &r.lock, &ts);
            pthread_mutex_unlock(&r.lock);
            continue;
        }
        die(rc, "submit");
        n++;
    }
    scitt_seq_stop(seq); /* drains: everything submitted is committed and answered */
    double dt = bench_now() - t0;
    scitt_seq_stats_t stats;
    scitt_seq_stats(seq, &stats);
    *out_batches = stats.batches;
    if (atomic_load(&r.failed) != 0 || atomic_load(&r.done) != n || stats.tree_size != n) {
        fprintf(stderr, "bench_seq: %llu of %llu entries failed or went missing\n",
                (unsigned long long)atomic_load(&r.failed), (unsigned long long)n);
        exit(1);
    }
    scitt_seq_free(seq);
    scitt_seq_keys_cleanup(&keys);
    scitt_store_close(st);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.cond);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_seq: cannot remove %s\n", dir);
    }
    return (double)n / dt;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *base = getenv("SCITT_BENCH_DIR") != NULL ? getenv("SCITT_BENCH_DIR") : "/var/tmp";
    const char *secs_env = getenv("SCITT_BENCH_SECONDS");
    double seconds = secs_env != NULL ? atof(secs_env) : 2.0;
    static const size_t batches[] = {1, 64, 1024, 16384};
    double rate[2][4];
    printf("sequencer: %d-byte pre-verified entries, %.1f s per configuration, stores under %s\n", ENTRY_LEN, seconds,
           base);
    const char *only = getenv("SCITT_BENCH_ONLY"); /* "sync:1024" or "nosync:64": one configuration, for perf */
    if (only != NULL) {
        bool nosync = strncmp(only, "nosync:", 7) == 0;
        uint64_t num_batches;
        bool no_index = getenv("SCITT_BENCH_NO_INDEX") != NULL;
        double r = measure(base, strtoul(strchr(only, ':') + 1, NULL, 10), nosync, no_index, seconds, &num_batches);
        printf("  %s: %.0f entries/s (%llu batches)\n", only, r, (unsigned long long)num_batches);
        return 0;
    }
    for (int nosync = 0; nosync < 2; nosync++) {
        for (size_t i = 0; i < scitt_countof(batches); i++) {
            uint64_t num_batches;
            rate[nosync][i] = measure(base, batches[i], nosync, false, seconds, &num_batches);
            printf("  %-7s batch_max %5zu: %10.0f entries/s  (%llu batches)\n", nosync ? "nosync" : "fsync", batches[i],
                   rate[nosync][i], (unsigned long long)num_batches);
        }
    }
    for (size_t i = 0; i < scitt_countof(batches); i++) {
        printf("  batch_max %5zu: fsync / no-sync = %.2f\n", batches[i], rate[0][i] / rate[1][i]);
    }
    /* Indexes on and off at 1024 with fsync, alternating, best of two. */
    double on = 0, off = 0;
    for (int k = 0; k < 2; k++) {
        uint64_t num_batches;
        double r = measure(base, 1024, false, true, seconds, &num_batches);
        printf("  fsync   batch_max  1024, indexes off: %10.0f entries/s\n", r);
        off = r > off ? r : off;
        r = measure(base, 1024, false, false, seconds, &num_batches);
        printf("  fsync   batch_max  1024, indexes on:  %10.0f entries/s\n", r);
        on = r > on ? r : on;
    }
    printf("  indexes on / off at 1024 with fsync = %.2f\n", on / off);
    printf("RESULT sequencer sync_entries_per_s=%.0f sync_ratio=%.2f nosync_entries_per_s=%.0f index_ratio=%.2f "
           "noindex_entries_per_s=%.0f\n",
           rate[0][2], rate[0][2] / rate[1][2], rate[1][2], on / off, off);
    return 0;
}
