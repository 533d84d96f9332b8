/*
 * test_crash.c: the durability rule under SIGKILL.
 *
 * Each round forks a child that runs the whole pipeline (verify pool and
 * sequencer) under continuous load and reports, through a pipe, every
 * completion (index, entry, receipt) and every checkpoint it could publish.
 * The parent kills it with SIGKILL at a random moment, then reopens the store
 * and checks that everything reported is there and still verifies, that the
 * tree is consistent with every reported checkpoint, that recovery succeeds
 * and that appending continues. The child repeats some statements of the
 * previous round, so dedup across crashes is exercised too.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

enum { ROUNDS = 24, REC_DONE = 1, REC_CHECKPOINT = 2, REC_ERROR = 3, REC_READY = 4 };

static h_env_t env;

/* ------------------------------------------------------------------------ */
/* The child                                                                */

typedef struct child {
    int fd;
    scitt_store_t *store;
    uint64_t last_size;
    pthread_mutex_t lock; /* one record at a time on the pipe */
} child_t;

static child_t child;

static void put_all(const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len > 0) {
        ssize_t n = write(child.fd, b, len);
        if (n <= 0) {
            _exit(4);
        }
        b += n;
        len -= (size_t)n;
    }
}

static void child_done(void *ctx, const scitt_seq_result_t *res)
{
    (void)ctx;
    pthread_mutex_lock(&child.lock);
    if (res->rc != 0) {
        uint8_t rec[5] = {REC_ERROR};
        int32_t rc = res->rc;
        memcpy(rec + 1, &rc, 4);
        put_all(rec, sizeof(rec));
        pthread_mutex_unlock(&child.lock);
        return;
    }
    uint8_t head[1 + 8 + 32 + 1 + 4];
    uint32_t len = (uint32_t)res->receipt.len;
    head[0] = REC_DONE;
    memcpy(head + 1, &res->index, 8);
    memcpy(head + 9, res->entry, 32);
    head[41] = res->existing;
    memcpy(head + 42, &len, 4);
    put_all(head, sizeof(head));
    put_all(res->receipt.base, len);
    /* Publish the latest checkpoint once per tree size, as GET /checkpoint would. */
    scitt_store_read_t *rd;
    scitt_store_head_t h;
    if (scitt_store_read_begin(child.store, &rd) == 0) {
        if (scitt_store_get_latest_head(rd, &h) == 0 && h.size > child.last_size) {
            uint8_t rec[1 + 4];
            uint32_t n = (uint32_t)h.checkpoint.len;
            rec[0] = REC_CHECKPOINT;
            memcpy(rec + 1, &n, 4);
            put_all(rec, sizeof(rec));
            put_all(h.checkpoint.base, n);
            child.last_size = h.size;
        }
        scitt_store_read_end(rd);
    }
    pthread_mutex_unlock(&child.lock);
}

static void child_statement(scitt_buf_t *out, int round, size_t i)
{
    char sub[64];
    snprintf(sub, sizeof(sub), "pkg:crash/%d/%zu", round, i);
    scitt_buf_reset(out);
    h_statement(&env, out, sub, i % 2 == 0);
}

static void __attribute__((noreturn)) run_child(int round, int fd, unsigned seed)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    srand(seed);
    child.fd = fd;
    pthread_mutex_init(&child.lock, NULL);
    scitt_store_config_t sc = {.dir = env.dir};
    scitt_seq_keys_t keys;
    scitt_seq_t *seq;
    if (scitt_store_open(&child.store, &sc, NULL) != 0 || scitt_seq_keys_load(&keys, env.dir, child.store, NULL) != 0) {
        _exit(2);
    }
    scitt_seq_config_t cfg = {.store = child.store,
                              .keys = &keys,
                              .policy = env.policy,
                              .origin = H_ORIGIN,
                              .workers = 2,
                              .batch_max = 1 + (size_t)rand() % 100,
                              .max_pending = 512};
    if (scitt_seq_start(&seq, &cfg, NULL) != 0) {
        _exit(3);
    }
    uint8_t ready = REC_READY; /* the first record: nothing is answered before the first submit */
    put_all(&ready, 1);
    scitt_buf_t stmt;
    scitt_buf_init(&stmt, NULL, 0);
    for (size_t i = 0;; i++) {
        if (round > 0 && i % 5 == 4) {
            /* A repeat of the previous round's statement i - 1 (never itself a
             * repeat, so registered whenever that round got that far). */
            child_statement(&stmt, round - 1, i - 1);
        } else {
            child_statement(&stmt, round, i);
        }
        int rc;
        while ((rc = scitt_seq_submit(seq, stmt.base, stmt.len, child_done, NULL, NULL, NULL)) == SCITT_EFULL) {
            usleep(100);
        }
        if (rc != 0) {
            _exit(5);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The parent                                                               */

typedef struct completion {
    uint64_t index;
    uint8_t entry[32];
    bool existing;
    int round;
    uint8_t *receipt;
    size_t receipt_len;
} completion_t;

typedef struct checkpoint_rec {
    uint8_t *note;
    size_t len;
} checkpoint_rec_t;

static completion_t *comps;
static size_t num_comps, cap_comps;
static checkpoint_rec_t *cps;
static size_t num_cps, cap_cps;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* parse takes the complete records of `buf` (a trailing partial one, cut
 * by the kill, is ignored) and returns how many checkpoints were new. */
static void parse(const uint8_t *buf, size_t len, int round, size_t *out_errors)
{
    size_t pos = 0;
    *out_errors = 0;
    while (pos < len) {
        uint8_t type = buf[pos];
        if (type == REC_DONE) {
            if (len - pos < 46) {
                break;
            }
            uint32_t n;
            memcpy(&n, buf + pos + 42, 4);
            if (len - pos - 46 < n) {
                break;
            }
            if (num_comps == cap_comps) {
                cap_comps = cap_comps ? 2 * cap_comps : 1024;
                comps = realloc(comps, cap_comps * sizeof(*comps));
            }
            completion_t *c = &comps[num_comps++];
            memcpy(&c->index, buf + pos + 1, 8);
            memcpy(c->entry, buf + pos + 9, 32);
            c->existing = buf[pos + 41] != 0;
            c->round = round;
            c->receipt = malloc(n);
            memcpy(c->receipt, buf + pos + 46, n);
            c->receipt_len = n;
            pos += 46 + n;
        } else if (type == REC_CHECKPOINT) {
            if (len - pos < 5) {
                break;
            }
            uint32_t n;
            memcpy(&n, buf + pos + 1, 4);
            if (len - pos - 5 < n) {
                break;
            }
            if (num_cps == cap_cps) {
                cap_cps = cap_cps ? 2 * cap_cps : 256;
                cps = realloc(cps, cap_cps * sizeof(*cps));
            }
            cps[num_cps].note = malloc(n);
            memcpy(cps[num_cps].note, buf + pos + 5, n);
            cps[num_cps].len = n;
            num_cps++;
            pos += 5 + n;
        } else if (type == REC_READY) {
            pos++;
        } else if (type == REC_ERROR) {
            if (len - pos < 5) {
                break;
            }
            (*out_errors)++;
            pos += 5;
        } else {
            cr_assert_fail("garbled record from the child");
        }
    }
}

/* run_round forks the child, lets it run for a random while, kills it and
 * collects what it reported. With `from_ready` the while counts from when
 * the child reports it has started (start-up takes longer than the while on
 * a loaded machine), else from the fork (kills during start-up). */
static void run_round(int round, double run_seconds, bool from_ready)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    unsigned seed = (unsigned)rand();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        run_child(round, p[1], seed);
    }
    close(p[1]);
    size_t len = 0, cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    double deadline = now() + (from_ready ? 60 : run_seconds); /* from_ready: until the child is ready */
    bool killed = false;
    for (;;) {
        if (!killed && now() >= deadline) {
            kill(pid, SIGKILL);
            killed = true;
        }
        struct pollfd pfd = {p[0], POLLIN, 0};
        int wait_ms = killed ? 1000 : (int)((deadline - now()) * 1000) + 1;
        if (poll(&pfd, 1, wait_ms) <= 0) {
            continue;
        }
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t n = read(p[0], buf + len, cap - len);
        if (n <= 0) {
            break; /* EOF: the child is gone (killed, or exited early) */
        }
        if (from_ready && len == 0 && buf[0] == REC_READY) {
            deadline = now() + run_seconds;
        }
        len += (size_t)n;
    }
    kill(pid, SIGKILL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    close(p[0]);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child failed on its own (status %d)",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    size_t errors;
    parse(buf, len, round, &errors);
    cr_assert_eq(errors, 0, "the child got error answers");
    free(buf);
}

/* check_round checks the store against everything reported so far. */
static void check_round(int round, size_t first_comp, size_t first_cp)
{
    h_open(&env, 0, 0);
    uint64_t size = h_tree_size(&env);
    scitt_store_read_t *rd;
    scitt_buf_t rebuilt;
    scitt_buf_init(&rebuilt, NULL, 0);
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    for (size_t i = 0; i < num_comps; i++) {
        completion_t *c = &comps[i];
        cr_assert_lt(c->index, size, "round %d: reported leaf %llu is not in the log", round,
                     (unsigned long long)c->index);
        scitt_span_t stmt;
        uint64_t found;
        uint8_t entry[32];
        cr_assert_eq(scitt_store_get_entry(rd, c->index, &stmt), 0);
        scitt_sha256(entry, stmt.base, stmt.len);
        cr_assert_arr_eq(entry, c->entry, 32, "leaf %llu holds another statement", (unsigned long long)c->index);
        cr_assert_eq(scitt_store_get_entryidx(rd, c->entry, &found), 0);
        cr_assert_eq(found, c->index, "an entry has two indexes");
        /* This round's receipts in full; a sample of earlier ones. */
        if (i >= first_comp || rand() % 16 == 0) {
            scitt_buf_reset(&rebuilt);
            cr_assert_eq(scitt_log_store_receipt(env.store, NULL, env.keys.receipt_kid, H_ORIGIN, c->index, &rebuilt),
                         0);
            cr_assert(scitt_span_eq(scitt_buf_span(&rebuilt), scitt_span(c->receipt, c->receipt_len)),
                      "the receipt of leaf %llu changed", (unsigned long long)c->index);
        }
    }
    scitt_store_read_end(rd);
    scitt_buf_cleanup(&rebuilt);
    /* Signatures: the last completions before the kill and a sample. */
    for (size_t i = first_comp; i < num_comps; i++) {
        if (i + 50 >= num_comps || rand() % 8 == 0) {
            h_check_receipt(&env, comps[i].entry, comps[i].index, comps[i].receipt, comps[i].receipt_len);
        }
    }
    /* Every checkpoint ever published is consistent with today's tree. */
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    scitt_tile_reader_t reader = scitt_log__tile_reader(rd, NULL);
    scitt_store_head_t latest;
    if (num_cps > 0) {
        cr_assert_eq(scitt_store_get_latest_head(rd, &latest), 0);
    }
    for (size_t i = 0; i < num_cps; i++) {
        scitt_checkpoint_t cp;
        const char *why = NULL;
        int rc = scitt_note_open(cps[i].note, cps[i].len, &env.note_v, 1, &cp, &why);
        cr_assert_eq(rc, 0, "checkpoint: %s", why ? why : "");
        cr_assert_leq(cp.size, latest.size, "a published checkpoint is ahead of the log");
        uint8_t root[32];
        cr_assert_eq(scitt_merkle_root_at(NULL, &reader, cp.size, root), 0);
        cr_assert_arr_eq(root, cp.root, 32, "the tree at %llu is not the published one", (unsigned long long)cp.size);
        if (i >= first_cp && cp.size < latest.size) {
            uint8_t proof[64][32];
            size_t proof_len;
            cr_assert_eq(scitt_merkle_consistency_proof(NULL, &reader, cp.size, latest.size, proof, &proof_len), 0);
            cr_assert_eq(scitt_merkle_verify_consistency(cp.size, latest.size, cp.root, latest.root,
                                                         (const uint8_t(*)[32])proof, proof_len),
                         0);
        }
    }
    scitt_store_read_end(rd);

    /* Recovery succeeds and appending continues where the log ends; then the
     * statement the parent registered in the previous round (committed
     * before that round's child was started, then crashed) is answered as
     * existing, with its index: dedup survives every crash. */
    static uint64_t parent_index[ROUNDS];
    h_start(&env, 0, 0, 1);
    h_waiter_t w;
    h_waiter_init(&w, 3);
    for (size_t k = 0; k < 3; k++) {
        char sub[64];
        scitt_buf_t stmt;
        scitt_buf_init(&stmt, NULL, 0);
        bool repeat = k == 2;
        if (repeat && round == 0) {
            break;
        }
        snprintf(sub, sizeof(sub), "pkg:crash-parent/%d", repeat ? (round - 1) * 2 : round * 2 + (int)k);
        h_statement(&env, &stmt, sub, false);
        h_submit(&env, &w, k, &stmt);
        h_wait(&w, k + 1, 30);
        cr_assert_eq(w.results[k].rc, 0);
        if (repeat) {
            cr_assert(w.results[k].existing, "a repeat after a crash is answered as existing");
            cr_assert_eq(w.results[k].index, parent_index[round - 1]);
        } else {
            cr_assert_eq(w.results[k].index, size + k, "appending continues at the end of the log");
        }
        if (k == 0) {
            parent_index[round] = w.results[k].index;
        }
        h_check_receipt(&env, w.results[k].entry, w.results[k].index, w.results[k].receipt, w.results[k].receipt_len);
        scitt_buf_cleanup(&stmt);
    }
    h_waiter_cleanup(&w);
    h_close(&env); /* no thread may run at the next fork */
}

Test(crash, sigkill_at_random_moments, .timeout = 240)
{
    h_setup(&env);
    srand((unsigned)time(NULL));
    size_t total_existing = 0, total_heads = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t first_comp = num_comps, first_cp = num_cps;
        /* Mostly mid-run kills; a few land during start-up and recovery. */
        bool startup = round % 6 == 5;
        double secs = startup ? 0.002 * (rand() % 10) : 0.05 + 0.3 * (rand() / (double)RAND_MAX);
        run_round(round, secs, !startup);
        for (size_t i = first_comp; i < num_comps; i++) {
            total_existing += comps[i].existing;
        }
        total_heads += num_cps - first_cp;
        check_round(round, first_comp, first_cp);
    }
    cr_log_info("%d rounds: %zu completions (%zu repeats), %zu checkpoints", ROUNDS, num_comps, total_existing,
                total_heads);
    cr_assert_gt(num_comps, 100, "the child made progress");
    /* The child's own repeats (total_existing) depend on timing; the parent's
     * repeat in every round checks dedup across crashes deterministically. */
    h_open(&env, 0, 0);
    h_check_log(&env);
    h_close(&env);
    for (size_t i = 0; i < num_comps; i++) {
        free(comps[i].receipt);
    }
    for (size_t i = 0; i < num_cps; i++) {
        free(cps[i].note);
    }
    free(comps);
    free(cps);
    h_teardown(&env);
}
