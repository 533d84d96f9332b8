/*
 * main.c: scittd. Owns the uv_loop_t and connects the modules:
 *
 *   config -> store -> service keys -> policy -> pipeline (seq) -> front end
 *
 * Start-up failures print one line and exit 1. `--check` verifies the store
 * offline instead of serving (exit 0 sound, 1 damaged). SIGTERM/SIGINT stop
 * accepting, stop the pipeline off the loop (scitt_seq_stop drains: every
 * statement already submitted is committed and answered), let the front end
 * answer and close its connections, then exit 0. SIGHUP reloads the keyring
 * off the loop and swaps it in (`scittd keys rotate`, issue 21).
 *
 * `scittd keys rotate --keys DIR [--receipt] [--checkpoint]
 * [--checkpoint-transition SECONDS]` rotates keys offline and exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "scitt/auth.h"
#include "scitt/check.h"
#include "scitt/config.h"
#include "scitt/frontend.h"
#include "scitt/cosign.h"
#include "scitt/publish.h"
#include "scitt/seq.h"
#include "scitt/store.h"
#include "scitt/tls.h"
#include "scitt/verify.h"
#include "scitt_version.h"

/* Keyrings loaded on SIGHUP: each stays alive until exit (a batch being
 * signed or a response being built may still use the one before). */
typedef struct keyring {
    struct keyring *next;
    scitt_seq_keys_t keys;
} keyring_t;

typedef struct app {
    uv_loop_t *loop;
    scitt_seq_t *seq;
    scitt_frontend_t *fe;
    uv_signal_t sigterm, sigint, sighup;
    uv_work_t stop_work, reload_work;
    bool stopping, reloading;
    scitt_store_t *store;
    const char *keys_dir;
    keyring_t *keyrings, *loading;
    int reload_rc;
    char reload_why[512];
    scitt_publish_t *publisher; /* --publish-dir, or NULL */
    scitt_cosign_t *cosign;     /* --witness, or NULL */
} app_t;

/* extra_metrics: the publish folder's and the witnesses' lines. */
static int extra_metrics(void *ctx, scitt_buf_t *out)
{
    app_t *app = ctx;
    int rc = app->publisher != NULL ? scitt_publish_metrics(app->publisher, out) : 0;
    return rc == 0 && app->cosign != NULL ? scitt_cosign_metrics(app->cosign, out) : rc;
}

/* start_cosign makes the checkpoint publisher that asks --witness (none
 * without): 0, or 1 after saying why. */
static int start_cosign(app_t *app, const scitt_config_t *cfg, scitt_store_t *store, scitt_log_reader_t *reader)
{
    if (cfg->witnesses.n == 0) {
        if (cfg->witness_threshold != 0) {
            fprintf(stderr, "scittd: --witness-threshold needs --witness\n");
            return 1;
        }
        return 0;
    }
    scitt_cosign_config_t ccfg = {
        .store = store,
        .log = reader,
        .witnesses = (const char *const *)cfg->witnesses.v,
        .num_witnesses = cfg->witnesses.n,
        .threshold = cfg->witness_threshold,
        .interval_ms = cfg->checkpoint_interval_ms,
        .timeout_ms = cfg->witness_timeout_ms,
        .log_level = cfg->log_level,
        .cosigned = app->publisher != NULL ? scitt_publish_cosigned : NULL, /* --publish-dir gets them too */
        .cosigned_ctx = app->publisher,
    };
    char err[512];
    int rc = scitt_cosign_new(&app->cosign, &ccfg, err, sizeof(err));
    if (rc == 0 && (rc = scitt_cosign_start(app->cosign)) != 0) {
        snprintf(err, sizeof(err), "cannot start the checkpoint publisher: %s", scitt_strerror(rc));
    }
    if (rc != 0) {
        fprintf(stderr, "scittd: witnesses: %s\n", err);
        return 1;
    }
    return 0;
}

static void on_signal_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_frontend_done(void *ctx)
{
    app_t *app = ctx;
    uv_close((uv_handle_t *)&app->sigterm, on_signal_closed);
    uv_close((uv_handle_t *)&app->sigint, on_signal_closed);
    uv_close((uv_handle_t *)&app->sighup, on_signal_closed);
}

/* reload_keys (a pool thread) loads the keyring again. */
static void reload_keys(uv_work_t *w)
{
    app_t *app = w->data;
    const char *why = NULL;
    app->reload_why[0] = '\0';
    app->loading = calloc(1, sizeof(*app->loading));
    app->reload_rc =
        app->loading == NULL ? SCITT_ENOMEM : scitt_seq_keys_load(&app->loading->keys, app->keys_dir, app->store, &why);
    if (why != NULL) {
        snprintf(app->reload_why, sizeof(app->reload_why), "%s", why);
    }
}

/* after_reload_keys (the loop) swaps the new keyring in, or keeps the old. */
static void after_reload_keys(uv_work_t *w, int status)
{
    (void)status;
    app_t *app = w->data;
    keyring_t *k = app->loading;
    app->reloading = false;
    app->loading = NULL;
    if (app->reload_rc != 0) {
        free(k);
        fprintf(stderr, "scittd: SIGHUP: keyring in %s not reloaded, the old one stays: %s (%s)\n", app->keys_dir,
                app->reload_why, scitt_strerror(app->reload_rc));
        return;
    }
    k->next = app->keyrings;
    app->keyrings = k;
    scitt_seq_set_keys(app->seq, &k->keys);
    int rc = scitt_frontend_set_keys(app->fe, &k->keys);
    char hex[2 * SCITT_SHA256_LEN + 1];
    scitt_hex_encode(hex, k->keys.receipt_kid, SCITT_SHA256_LEN);
    fprintf(stderr, "scittd: SIGHUP: keyring reloaded: receipt kid %s, %zu retired receipt keys%s\n", hex,
            k->keys.num_old_receipt, rc != 0 ? " (publishing the keys failed)" : "");
}

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    app_t *app = s->data;
    if (app->stopping || app->reloading) {
        return;
    }
    app->reloading = true;
    app->reload_work.data = app;
    if (uv_queue_work(app->loop, &app->reload_work, reload_keys, after_reload_keys) != 0) {
        app->reloading = false;
    }
}

static void free_keyrings(app_t *app)
{
    while (app->keyrings != NULL) {
        keyring_t *k = app->keyrings;
        app->keyrings = k->next;
        scitt_seq_keys_cleanup(&k->keys);
        free(k);
    }
}

/* keys_command is `scittd keys rotate ...`: 0 on success. */
static int keys_command(int argc, char **argv)
{
    const char *dir = NULL;
    bool receipt = false, checkpoint = false;
    long long transition = 86400;
    char msg[1024];
    if (argc < 3 || strcmp(argv[2], "rotate") != 0) {
        fprintf(stderr, "usage: scittd keys rotate --keys DIR [--receipt] [--checkpoint] "
                        "[--checkpoint-transition SECONDS]\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        if ((strcmp(argv[i], "--keys") == 0 || strcmp(argv[i], "--data") == 0) && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--receipt") == 0) {
            receipt = true;
        } else if (strcmp(argv[i], "--checkpoint") == 0) {
            checkpoint = true;
        } else if (strcmp(argv[i], "--checkpoint-transition") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            transition = strtoll(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || transition < 0 || transition > 10LL * 366 * 86400) {
                fprintf(stderr, "scittd: keys rotate: --checkpoint-transition takes seconds (0 to 10 years)\n");
                return 2;
            }
        } else {
            fprintf(stderr, "scittd: keys rotate: unknown or incomplete option %s\n", argv[i]);
            return 2;
        }
    }
    if (dir == NULL) {
        fprintf(stderr, "scittd: keys rotate: --keys DIR is required\n");
        return 2;
    }
    if (!receipt && !checkpoint) {
        receipt = checkpoint = true;
    }
    int rc = scitt_seq_keys_rotate(dir, receipt, checkpoint, (int64_t)transition, msg, sizeof(msg));
    if (rc != 0) {
        fprintf(stderr, "scittd: keys rotate: %s\n", msg);
        return 1;
    }
    printf("%s\nscittd: keys rotated; send SIGHUP to (or restart) every scittd using %s\n", msg, dir);
    return 0;
}

static void stop_seq(uv_work_t *w)
{
    app_t *app = w->data;
    scitt_seq_stop(app->seq); /* blocks until both queues drained */
}

static void after_stop_seq(uv_work_t *w, int status)
{
    (void)status;
    app_t *app = w->data;
    scitt_frontend_shutdown(app->fe, on_frontend_done, app);
}

static void on_signal(uv_signal_t *s, int signum)
{
    app_t *app = s->data;
    if (app->stopping) {
        return;
    }
    app->stopping = true;
    fprintf(stderr, "scittd: %s: finishing in-flight registrations, then exiting\n",
            signum == SIGTERM ? "SIGTERM" : "SIGINT");
    scitt_frontend_stop_accepting(app->fe);
    app->stop_work.data = app;
    if (uv_queue_work(app->loop, &app->stop_work, stop_seq, after_stop_seq) != 0) {
        scitt_seq_stop(app->seq);
        scitt_frontend_shutdown(app->fe, on_frontend_done, app);
    }
}

static int die(const char *what, const char *why)
{
    fprintf(stderr, "scittd: %s: %s\n", what, why);
    return 1;
}

/* The store the options name: the LMDB environment in --data, or the
 * PostgreSQL database of --database. `label` is what messages show of it:
 * the folder, or "database DB on HOST:PORT" (never the connection string,
 * which may hold a password). `lock_fd` holds the folder lock (LMDB). */
typedef struct opened_store {
    scitt_store_t *store;
    int lock_fd;
    char label[256];
} opened_store_t;

/* open_store opens it as `ctx` ("" or "--check: ") says. LMDB: one process
 * per folder (its lock; a second one would serve reads and fail every
 * commit without saying why, issue 15 item 7). PostgreSQL: no folder lock;
 * on a shared store (several processes, one log: issue 18) every scittd
 * serves and the sequencer lease picks the one that commits; otherwise a
 * `writer` (serving) becomes the database's only writer or refuses, as the
 * folder lock does; --check reads only and takes no writer lock. Prints one
 * line and returns nonzero on failure. */
static int open_store(opened_store_t *o, const scitt_config_t *cfg, const char *ctx, bool writer)
{
    char msg[512];
    const char *why = NULL;
    o->store = NULL;
    o->lock_fd = -1;
    scitt_store_config_t scfg = {.dir = cfg->data_dir};
    if (cfg->database != NULL) {
        scitt_config_database_label(cfg->database, o->label, sizeof(o->label));
        scfg = (scitt_store_config_t){.database = cfg->database, .database_wait_ms = cfg->database_wait_s * 1000u};
    } else {
        snprintf(o->label, sizeof(o->label), "%s", cfg->data_dir);
        int rc = scitt_dir_lock(cfg->data_dir, &o->lock_fd, msg, sizeof(msg));
        if (rc != 0) {
            fprintf(stderr, "scittd: %s%s\n", ctx, msg);
            return rc;
        }
    }
    int rc = scitt_store_open(&o->store, &scfg, &why);
    if (rc != 0) {
        fprintf(stderr, "scittd: %s%s%s: %s (%s)\n", ctx, cfg->database != NULL ? "" : "--data ", o->label,
                why != NULL ? why : "", scitt_strerror(rc));
        return rc;
    }
    if (cfg->database != NULL && writer && !scitt_store_shared(o->store)) {
        msg[0] = '\0';
        rc = scitt_store_writer_acquire(o->store, msg, sizeof(msg));
        if (rc != 0) {
            fprintf(stderr, "scittd: %s%s: %s (%s)\n", ctx, o->label, msg, scitt_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static void close_store(opened_store_t *o)
{
    scitt_store_close(o->store);
    o->store = NULL;
    scitt_dir_unlock(o->lock_fd);
    o->lock_fd = -1;
}

/* The service keys' folder: --keys, else --data. It is created (0700) when
 * absent; once it holds the keys it is only read, so several scittd may
 * share one read-only folder. */
static const char *keys_dir(const scitt_config_t *cfg)
{
    const char *dir = cfg->keys_dir != NULL ? cfg->keys_dir : cfg->data_dir;
    struct stat sb;
    if (stat(dir, &sb) != 0 && errno == ENOENT) {
        (void)mkdir(dir, 0700); /* a failure shows as the keys' own error */
    }
    return dir;
}

/* check_store is `scittd --check`: the store and keys opened (never
 * created), scitt_check_store, one line of result. */
static int check_store(const scitt_config_t *cfg)
{
    char path[4096], msg[512];
    snprintf(path, sizeof(path), "%s/data.mdb", cfg->data_dir);
    if (cfg->database == NULL && access(path, R_OK) != 0) {
        fprintf(stderr, "scittd: --check: %s: no readable store (%s)\n", cfg->data_dir, strerror(errno));
        return 1;
    }
    /* The folder lock as at start-up: never open an LMDB store beside a
     * running scittd (its lock message names the pid). */
    opened_store_t o;
    scitt_seq_keys_t keys = {0};
    if (open_store(&o, cfg, "--check: ", false) != 0) {
        close_store(&o);
        return 1;
    }
    const char *why = NULL;
    const char *kdir = cfg->keys_dir != NULL ? cfg->keys_dir : cfg->data_dir;
    int rc = scitt_seq_keys_load(&keys, kdir, o.store, &why);
    if (rc != 0) {
        fprintf(stderr, "scittd: --check: service keys in %s: %s (%s)\n", kdir, why != NULL ? why : "",
                scitt_strerror(rc));
    } else {
        scitt_check_report_t rep;
        rc = scitt_check_store(o.store, &keys, &rep, msg, sizeof(msg));
        if (rc != 0) {
            fprintf(stderr, "scittd: --check: %s: DAMAGED: %s\n", o.label, msg);
        } else {
            printf("scittd: --check: %s: sound: %llu entries, %llu tree heads and their tiles and signed checkpoints "
                   "verified\n",
                   o.label, (unsigned long long)rep.entries, (unsigned long long)rep.heads);
        }
    }
    scitt_seq_keys_cleanup(&keys);
    close_store(&o);
    return rc == 0 ? 0 : 1;
}

/* start_publisher writes the front end's fixed resources into the publish
 * folder, then starts its thread, which catches up with the store. */
static int start_publisher(scitt_publish_t *p, const scitt_frontend_t *fe, char *msg, size_t cap)
{
    static const char *const fixed[] = {"/checkpoint.vkey", "/.well-known/scitt-keys",
                                        "/.well-known/transparency-configuration"};
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        scitt_buf_reset(&b);
        rc = scitt_frontend_fixed_resource(fe, fixed[i], &b);
        rc = rc != 0 ? rc : scitt_publish_fixed(p, fixed[i] + 1, scitt_buf_span(&b));
        if (rc != 0) {
            snprintf(msg, cap, "cannot write %s: %s", fixed[i] + 1, scitt_strerror(rc));
        }
    }
    scitt_buf_cleanup(&b);
    if (rc == 0 && (rc = scitt_publish_start(p)) != 0) {
        snprintf(msg, cap, "cannot start the publisher thread: %s", scitt_strerror(rc));
    }
    return rc;
}

int main(int argc, char **argv)
{
    scitt_config_t cfg;
    char err[512];
    /* libuv writes sockets with write(2): a peer that reset its connection
     * must give EPIPE on that connection, not a SIGPIPE that kills us. */
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("scittd %s\n", SCITT_VERSION);
            return 0;
        }
    }
    if (argc > 1 && strcmp(argv[1], "keys") == 0) {
        return keys_command(argc, argv);
    }
    if (scitt_config_init(&cfg) != 0) {
        return die("start", "out of memory");
    }
    if (scitt_config_parse_args(&cfg, argc, argv, err, sizeof(err)) != 0) {
        scitt_config_cleanup(&cfg);
        return die("options", err);
    }
    if (cfg.help) {
        scitt_config_usage(stdout, "scittd");
        scitt_config_cleanup(&cfg);
        return 0;
    }
    if (cfg.check) {
        int st = check_store(&cfg);
        scitt_config_cleanup(&cfg);
        return st;
    }

    int status = 1;
    const char *why = NULL;
    opened_store_t opened = {.lock_fd = -1};
    scitt_store_t *store = NULL;
    scitt_seq_keys_t keys = {0};
    bool have_keys = false;
    scitt_policy_t *policy = NULL;
    scitt_log_reader_t *reader = NULL;
    scitt_tls_ctx_t *tls = NULL;
    scitt_auth_tokens_t *tokens = NULL;
    scitt_publish_t *publisher = NULL;
    app_t app = {0};
    uv_loop_t loop;

    int rc = open_store(&opened, &cfg, "", true);
    store = opened.store;
    if (rc != 0) {
        goto out;
    }
    why = NULL;
    const char *kdir = keys_dir(&cfg);
    rc = scitt_seq_keys_load(&keys, kdir, store, &why);
    if (rc != 0) {
        fprintf(stderr, "scittd: service keys in %s: %s (%s)\n", kdir, why != NULL ? why : "", scitt_strerror(rc));
        goto out;
    }
    have_keys = true;

    scitt_policy_config_t pcfg = {
        .max_statement_len = cfg.max_statement_bytes,
        .issuer_keys_dir = cfg.issuer_keys,
        .trust_roots_file = cfg.trust_roots,
        .allow_unknown_issuers = cfg.allow_unknown_issuers,
        .x5chain_cache_entries = cfg.x5chain_cache,
    };
    why = NULL;
    rc = scitt_policy_new(&policy, &pcfg, &why);
    if (rc != 0) {
        fprintf(stderr, "scittd: registration policy: %s (%s)\n", why != NULL ? why : "", scitt_strerror(rc));
        goto out;
    }
    if (cfg.allow_unknown_issuers) {
        fprintf(stderr, "scittd: WARNING: --allow-unknown-issuers is set: statements are accepted from ANY issuer\n"
                        "scittd: WARNING: whose own x5chain or key verifies the signature. Development only;\n"
                        "scittd: WARNING: never run a public log like this.\n");
    } else if (cfg.issuer_keys == NULL && cfg.trust_roots == NULL) {
        fprintf(stderr, "scittd: warning: no --issuer-keys or --trust-roots: every registration will be rejected\n");
    }
    if (cfg.tls_cert != NULL) {
        why = NULL;
        rc = scitt_tls_ctx_new(&tls, cfg.tls_cert, cfg.tls_key, &why);
        if (rc != 0) {
            fprintf(stderr, "scittd: TLS: %s\n", why != NULL ? why : scitt_strerror(rc));
            goto out;
        }
    }

    if (tls != NULL && cfg.client_ca != NULL) {
        why = NULL;
        rc = scitt_tls_ctx_client_ca(tls, cfg.client_ca, &why);
        if (rc != 0) {
            fprintf(stderr, "scittd: TLS: %s\n", why != NULL ? why : scitt_strerror(rc));
            goto out;
        }
    }
    if (cfg.tokens != NULL) {
        rc = scitt_auth_tokens_load(&tokens, cfg.tokens, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "scittd: --tokens %s: %s\n", cfg.tokens, err);
            goto out;
        }
    }

    scitt_log_config_t lcfg = {
        .store = store,
        .receipt_kid = keys.first_receipt_kid,
        .origin = cfg.origin,
        .tile_cache_bytes = cfg.tile_cache_bytes != 0 ? cfg.tile_cache_bytes : 1, /* under one tile: none cached */
        .receipt_cache_bytes = cfg.receipt_cache_bytes != 0 ? cfg.receipt_cache_bytes : 1, /* under 4 KiB: off */
        .read_workers = cfg.read_workers,
    };
    rc = scitt_log_new(&reader, &lcfg);
    if (rc != 0) {
        fprintf(stderr, "scittd: log reader: %s\n", scitt_strerror(rc));
        goto out;
    }
    if (cfg.publish_dir != NULL) {
        scitt_publish_config_t pub_cfg = {.dir = cfg.publish_dir,
                                          .store = store,
                                          .log = reader,
                                          .origin = cfg.origin,
                                          .checkpoint_key = keys.checkpoint_key,
                                          .retired_checkpoint_keys = keys.old_checkpoint,
                                          .num_retired_checkpoint_keys = keys.num_old_checkpoint};
        rc = scitt_publish_open(&publisher, &pub_cfg, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "scittd: --publish-dir %s: %s\n", cfg.publish_dir, err);
            goto out;
        }
    }
    scitt_seq_config_t qcfg = {
        .store = store,
        .log = reader,
        .keys = &keys,
        .policy = policy,
        .origin = cfg.origin,
        .workers = cfg.workers,
        .batch_max = cfg.batch_max,
        .max_pending = cfg.max_pending,
        .max_pending_bytes = cfg.max_pending_bytes,
        .commit_linger_us = cfg.commit_linger_us != 0 ? cfg.commit_linger_us : SCITT_SEQ_LINGER_OFF,
        .guard = publisher != NULL ? scitt_publish_guard : NULL, /* refuses a database behind the folder */
        .guard_ctx = publisher,
        .lease_ms = (unsigned)cfg.lease_ms,
        /* a direct batch is queued at half the wait for its 201 (1 ms to a minute) */
        .direct_rescue_ms = (unsigned)(cfg.register_wait_ms >= 120000 ? 60000
                                       : cfg.register_wait_ms > 1     ? cfg.register_wait_ms / 2
                                                                      : 1),
    };
    why = NULL;
    rc = scitt_seq_start(&app.seq, &qcfg, &why);
    if (rc != 0) {
        fprintf(stderr, "scittd: log recovery: %s (%s)\n", why != NULL ? why : "", scitt_strerror(rc));
        goto out;
    }
    app.publisher = publisher;
    if (start_cosign(&app, &cfg, store, reader) != 0) {
        rc = 1;
        scitt_seq_stop(app.seq);
        goto out;
    }

    rc = uv_loop_init(&loop);
    if (rc != 0) {
        fprintf(stderr, "scittd: event loop: %s\n", uv_strerror(rc));
        scitt_seq_stop(app.seq);
        goto out;
    }
    app.loop = &loop;
    scitt_frontend_config_t fcfg = {
        .store = store,
        .seq = app.seq,
        .log = reader,
        .reads_in_pool = cfg.reads_in_pool,
        .keys = &keys,
        .origin = cfg.origin,
        .tls = tls,
        .max_statement_bytes = cfg.max_statement_bytes,
        .max_connections = cfg.max_connections,
        .max_connections_per_address = cfg.max_conns_per_addr,
        .max_pending_per_address = cfg.max_pending_per_addr,
        .max_response_bytes = cfg.max_response_bytes,
        .max_header_bytes = cfg.max_header_bytes,
        .max_streams = cfg.max_streams,
        .max_streams_total = cfg.max_streams_total,
        .register_wait_ms = cfg.register_wait_ms,
        .idle_timeout_ms = cfg.idle_timeout_ms,
        .request_timeout_ms = cfg.request_timeout_ms,
        .log_level = cfg.log_level,
        .post_rate = (uint32_t)cfg.post_rate,
        .post_burst = (uint32_t)cfg.post_burst,
        .tokens = tokens,
        .client_ca = cfg.client_ca != NULL,
        .extra_metrics = extra_metrics,
        .extra_metrics_ctx = &app,
    };
    why = NULL;
    rc = scitt_frontend_new(&app.fe, &loop, &fcfg, &why);
    if (rc != 0) {
        fprintf(stderr, "scittd: front end: %s\n", why != NULL ? why : scitt_strerror(rc));
        scitt_seq_stop(app.seq);
        uv_loop_close(&loop);
        goto out;
    }
    uv_signal_init(&loop, &app.sigterm);
    uv_signal_init(&loop, &app.sigint);
    uv_signal_init(&loop, &app.sighup);
    app.sigterm.data = app.sigint.data = app.sighup.data = &app;
    app.store = store;
    app.keys_dir = kdir;
    why = NULL;
    rc = publisher != NULL ? start_publisher(publisher, app.fe, err, sizeof(err)) : 0;
    if (rc != 0) {
        fprintf(stderr, "scittd: --publish-dir %s: %s\n", cfg.publish_dir, err);
    } else if ((rc = scitt_frontend_listen(app.fe, cfg.listen_host, cfg.listen_port, &why)) != 0) {
        fprintf(stderr, "scittd: --listen %s:%u: %s\n", cfg.listen_host, cfg.listen_port, why);
    }
    if (rc != 0) {
        app.stopping = true;
        scitt_seq_stop(app.seq);
        scitt_frontend_shutdown(app.fe, on_frontend_done, &app);
    } else {
        uv_signal_start(&app.sigterm, on_signal, SIGTERM);
        uv_signal_start(&app.sigint, on_signal, SIGINT);
        uv_signal_start(&app.sighup, on_sighup, SIGHUP);
        fprintf(stderr, "scittd: serving log %s from %s (%zu trusted issuer keys)\n", cfg.origin, opened.label,
                scitt_policy_num_issuer_keys(policy));
        status = 0;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0) {
        fprintf(stderr, "scittd: warning: handles left open at exit\n");
    }
    scitt_frontend_free(app.fe);
out:
    scitt_seq_free(app.seq);
    scitt_cosign_free(app.cosign); /* no commit advances the reader any more */
    scitt_publish_free(publisher);
    scitt_log_free(reader);
    scitt_tls_ctx_free(tls);
    scitt_auth_tokens_free(tokens);
    scitt_policy_free(policy);
    free_keyrings(&app);
    if (have_keys) {
        scitt_seq_keys_cleanup(&keys);
    }
    close_store(&opened);
    scitt_config_cleanup(&cfg);
    return status;
}
