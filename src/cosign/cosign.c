/*
 * cosign.c: the checkpoint publisher with witnesses (include/scitt/cosign.h).
 *
 * One thread. It sleeps until the reader's head moves past what it last
 * published and the interval since its last round has passed, then runs a
 * round: every witness gets its add-checkpoint request on its own
 * connection (kept between rounds, remade once dead), all on this thread's
 * libuv loop, which runs until every request has completed or timed out.
 * The round's store read handle (for the consistency proofs) stays open
 * until then, so a 409's retry proves from the adopted size in the same
 * snapshot.
 *
 * Memory: per witness one connection, one request and its body (a
 * checkpoint and at most 63 proof lines), and the cosignature line kept for
 * the round's checkpoint.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "scitt/client.h"
#include "scitt/cond.h"
#include "scitt/config.h"
#include "scitt/cosign.h"
#include "scitt/merkle.h"
#include "scitt/note.h"

#define MAX_COSIG_BODY 8192 /* a witness's answer: a few signature lines */

typedef struct witness {
    struct scitt_cosign *c;
    char *name; /* the vkey's key name, for logs and metric labels */
    scitt_cosigner_t cosigner;
    bool have_cosigner;
    scitt_client_url_t url;
    char path[SCITT_CLIENT_PREFIX_MAX + 32]; /* "<prefix>/add-checkpoint" */
    scitt_client_t *client;

    /* The round (this thread only). */
    uint64_t size; /* the size it last cosigned, or told us (409) */
    scitt_client_req_t req;
    scitt_buf_t body;
    bool busy, retried;
    scitt_buf_t cosig;   /* its verified cosignature line of the checkpoint of size cosig_size */
    uint64_t cosig_size; /* 0: none */
    int last_alert;      /* the status of the previous alert or failure (logs changes only) */

    /* Counters (read by the metrics hook on the io loop). */
    _Atomic uint64_t cosigned_size, cosignatures, conflicts, failures, bad_cosigs;
    _Atomic uint64_t alerts[4]; /* 400, 403, 404, 422 */
} witness_t;

static const int alert_status[4] = {400, 403, 404, 422};

struct scitt_cosign {
    scitt_store_t *store;
    scitt_log_reader_t *log;
    witness_t *w;
    size_t num_w;
    unsigned threshold;
    uint64_t interval_ms, timeout_ms;
    struct scitt_tls_ctx *tls;
    int log_level;
    void (*cosigned)(void *ctx, uint64_t size, scitt_span_t note);
    void *cosigned_ctx;

    pthread_t thread;
    bool running, listening;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t wanted; /* the largest head size the reader announced */
    bool stop;

    uv_loop_t loop;
    bool have_loop;
    size_t in_flight;

    /* The round's checkpoint and proof source. */
    scitt_buf_t note;
    scitt_span_t cp_body; /* the note's checkpoint text, through its final "\n" */
    uint64_t size;
    scitt_store_read_t *rd;
    scitt_tile_reader_t tiles;

    _Atomic uint64_t published_size, published_cosigs, rounds;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

static void on_answer(scitt_client_req_t *req, int rc);

/* submit sends the add-checkpoint request for the round's checkpoint to
 * `w`, proving consistency from w->size. */
static int submit(scitt_cosign_t *c, witness_t *w)
{
    scitt_buf_reset(&w->body);
    int rc = scitt_buf_printf(&w->body, "old %" PRIu64 "\n", w->size);
    if (rc == 0 && w->size > 0 && w->size < c->size) {
        uint8_t proof[SCITT_MERKLE_MAX_PROOF][32];
        size_t n = 0;
        rc = scitt_merkle_consistency_proof(NULL, &c->tiles, w->size, c->size, proof, &n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char line[64];
            size_t len = scitt_base64_encode(line, proof[i], 32, SCITT_B64_STD);
            line[len++] = '\n';
            rc = scitt_buf_append(&w->body, line, len);
        }
    }
    if (rc == 0) {
        rc = scitt_buf_append(&w->body, "\n", 1);
    }
    if (rc == 0) {
        rc = scitt_buf_append(&w->body, c->note.base, c->note.len);
    }
    if (rc != 0) {
        return rc;
    }
    if (w->client != NULL && scitt_client_error(w->client) != 0) {
        scitt_client_free(w->client); /* completes in close callbacks: the loop runs next */
        w->client = NULL;
    }
    if (w->client == NULL) {
        scitt_client_config_t ccfg = {.loop = &c->loop,
                                      .tls = c->tls,
                                      .timeout_ms = c->timeout_ms,
                                      .max_body = MAX_COSIG_BODY,
                                      .max_requests = 4};
        rc = scitt_client_new(&w->client, &w->url, &ccfg);
        if (rc != 0) {
            return rc;
        }
    }
    scitt_client_req_cleanup(&w->req);
    scitt_client_req_init(&w->req, "POST", w->path);
    w->req.content_type = "text/plain; charset=utf-8";
    w->req.body = scitt_buf_span(&w->body);
    w->req.timeout_ms = c->timeout_ms;
    w->req.max_body = MAX_COSIG_BODY;
    w->req.cb = on_answer;
    w->req.data = w;
    rc = scitt_client_submit(w->client, &w->req);
    if (rc == 0) {
        w->busy = true;
        c->in_flight++;
    }
    return rc;
}

/* note_state logs `what` about `w` when its state changed (each state once,
 * not once per round). */
static void note_state(witness_t *w, int state, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note_state(witness_t *w, int state, const char *fmt, ...)
{
    if (w->last_alert == state) {
        return;
    }
    w->last_alert = state;
    if (state == 200 && w->c->log_level < SCITT_LOG_INFO) {
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "scittd: witness %s: %s\n", w->name, msg);
}

/* keep_cosignature keeps the first line of the answer that is the
 * witness's valid cosignature of the round's checkpoint (the codec of
 * src/note); false when none is. */
static bool keep_cosignature(scitt_cosign_t *c, witness_t *w, scitt_span_t answer)
{
    const uint8_t *p = answer.base, *end = answer.base + answer.len;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            return false;
        }
        scitt_cosig_t sig;
        if (scitt_cosig_parse(p, (size_t)(nl - p), &sig) == 0 &&
            scitt_cosig_verify(&sig, c->cp_body, &w->cosigner) == 0) {
            scitt_buf_reset(&w->cosig);
            bool ok = scitt_buf_append(&w->cosig, p, (size_t)(nl - p) + 1) == 0;
            w->cosig_size = ok ? c->size : 0;
            return ok;
        }
        p = nl + 1;
    }
    return false;
}

/* parse_size reads a 409's body: a decimal size and a newline. */
static bool parse_size(scitt_span_t b, uint64_t *out)
{
    return b.len >= 2 && b.base[b.len - 1] == '\n' && scitt_parse_u64((const char *)b.base, b.len - 1, out) == 0;
}

static void on_answer(scitt_client_req_t *req, int rc)
{
    witness_t *w = req->data;
    scitt_cosign_t *c = w->c;
    w->busy = false;
    c->in_flight--;
    scitt_span_t body = scitt_buf_span(&req->resp);
    uint64_t held;
    if (rc != 0) {
        atomic_fetch_add(&w->failures, 1);
        note_state(w, -1, "no answer (%s); its cosignature is missing from checkpoint %" PRIu64, scitt_strerror(rc),
                   c->size);
    } else if (req->status == 200) {
        if (keep_cosignature(c, w, body)) {
            w->size = c->size;
            atomic_store(&w->cosigned_size, c->size);
            atomic_fetch_add(&w->cosignatures, 1);
            note_state(w, 200, "cosigns (size %" PRIu64 ")", c->size);
        } else {
            atomic_fetch_add(&w->bad_cosigs, 1);
            note_state(w, -2,
                       "ALERT: its answer holds no valid cosignature of checkpoint %" PRIu64
                       " by its key (wrong key or bytes); not kept",
                       c->size);
        }
    } else if (req->status == 409 && parse_size(body, &held)) {
        atomic_fetch_add(&w->conflicts, 1);
        uint64_t from = w->size;
        w->size = held;
        if (held <= c->size && !w->retried && scitt_client_error(w->client) == 0) {
            w->retried = true; /* submit reuses the live connection: no client is freed in its callback */
            if (submit(c, w) == 0) {
                return;
            }
            atomic_fetch_add(&w->failures, 1);
        } else if (held > c->size) {
            note_state(w, 409,
                       "holds size %" PRIu64 ", beyond this log's %" PRIu64
                       " (another scittd of this log ahead, or a log that went back)",
                       held, c->size);
        } else {
            note_state(w, 409, "409 again after adopting its size %" PRIu64 " (had %" PRIu64 ")", held, from);
        }
    } else {
        size_t i = 0;
        while (i < 4 && alert_status[i] != req->status) {
            i++;
        }
        if (i < 4) {
            atomic_fetch_add(&w->alerts[i], 1);
            note_state(w, req->status,
                       "ALERT: add-checkpoint of size %" PRIu64 " from old size %" PRIu64 " answered %d (%s)", c->size,
                       w->size, req->status,
                       req->status == 404   ? "it does not know this log's origin"
                       : req->status == 403 ? "it does not accept this log's signature"
                       : req->status == 422 ? "it refuses the consistency proof: a split view?"
                                            : "bad request");
        } else {
            atomic_fetch_add(&w->failures, 1);
            note_state(w, req->status, "add-checkpoint answered %d", req->status);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Rounds                                                                   */

/* take_head loads the head to publish into c->note; false when there is
 * none, or nothing newer than what was published (unless cosignatures are
 * missing: a witness that failed is asked again). */
static bool take_head(scitt_cosign_t *c)
{
    scitt_buf_reset(&c->note);
    uint64_t size;
    if (scitt_log_head(c->log, &c->note, &size) != 0) {
        return false;
    }
    uint64_t done = atomic_load(&c->published_size);
    if (size < done || (size == done && atomic_load(&c->published_cosigs) >= c->num_w)) {
        return false;
    }
    const uint8_t *sep = memmem(c->note.base, c->note.len, "\n\n", 2);
    if (sep == NULL) {
        return false;
    }
    c->cp_body = (scitt_span_t){c->note.base, (size_t)(sep - c->note.base) + 1};
    c->size = size;
    return true;
}

static void round_once(scitt_cosign_t *c)
{
    if (!take_head(c)) {
        return;
    }
    if (scitt_store_read_begin(c->store, &c->rd) != 0) {
        return; /* the next round retries */
    }
    c->tiles = scitt_log_tile_reader(c->log, c->rd);
    for (size_t i = 0; i < c->num_w; i++) {
        witness_t *w = &c->w[i];
        w->retried = false;
        if (w->cosig_size == c->size || w->size > c->size) {
            continue; /* cosigned already; or ahead of this head, nothing it can cosign */
        }
        int rc = submit(c, w);
        if (rc != 0) {
            atomic_fetch_add(&w->failures, 1);
            note_state(w, -1, "cannot send add-checkpoint (%s)", scitt_strerror(rc));
        }
    }
    while (c->in_flight > 0) {
        uv_run(&c->loop, UV_RUN_ONCE);
    }
    scitt_store_read_end(c->rd);
    c->rd = NULL;

    /* The checkpoint with every valid cosignature. */
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    int rc = scitt_buf_append(&out, c->note.base, c->note.len);
    size_t n = 0;
    for (size_t i = 0; rc == 0 && i < c->num_w; i++) {
        if (c->w[i].cosig_size == c->size) {
            rc = scitt_buf_append(&out, c->w[i].cosig.base, c->w[i].cosig.len);
            n++;
        }
    }
    if (rc == 0 && scitt_log_publish(c->log, c->size, scitt_buf_span(&out)) == 0) {
        atomic_store(&c->published_size, c->size);
        atomic_store(&c->published_cosigs, n);
        if (c->cosigned != NULL && n > 0) {
            c->cosigned(c->cosigned_ctx, c->size, scitt_buf_span(&out));
        }
    }
    atomic_fetch_add(&c->rounds, 1);
    scitt_buf_cleanup(&out);
}

static void *cosign_main(void *arg)
{
    pthread_setname_np(pthread_self(), "cosign");
    scitt_cosign_t *c = arg;
    uint64_t last = 0; /* when the last round started */
    bool have_last = false;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        uint64_t done = atomic_load(&c->published_size);
        bool missing = atomic_load(&c->published_cosigs) < c->num_w;
        if (c->wanted <= done && !(missing && c->wanted > 0 && have_last)) {
            pthread_cond_wait(&c->cond, &c->lock);
            continue;
        }
        uint64_t now = now_ms();
        if (have_last && now < last + c->interval_ms) {
            struct timespec ts;
            scitt_deadline(&ts, (last + c->interval_ms - now) * 1000000u);
            pthread_cond_timedwait(&c->cond, &c->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&c->lock);
        last = now;
        have_last = true;
        round_once(c);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void on_advance(void *ctx, uint64_t size)
{
    scitt_cosign_t *c = ctx;
    pthread_mutex_lock(&c->lock);
    if (size > c->wanted) {
        c->wanted = size;
        pthread_cond_signal(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                               */

/* parse_witness reads "VKEY@URL" into `w`. */
static int parse_witness(witness_t *w, const char *spec, char *msg, size_t cap)
{
    const char *at = strrchr(spec, '@');
    if (at == NULL || at == spec) {
        snprintf(msg, cap, "--witness %s: expected VKEY@URL (the witness's vkey line, '@', its URL prefix)", spec);
        return SCITT_EINVAL;
    }
    if (scitt_cosigner_parse(&w->cosigner, spec, (size_t)(at - spec)) != 0) {
        snprintf(msg, cap, "--witness %s: the vkey is not a valid cosignature/v1 (Ed25519) vkey line", spec);
        return SCITT_EINVAL;
    }
    w->have_cosigner = true;
    if (scitt_client_url_parse(&w->url, at + 1, strlen(at + 1)) != 0) {
        snprintf(msg, cap, "--witness %s: the URL is not an http:// or https:// URL prefix", spec);
        return SCITT_EINVAL;
    }
    snprintf(w->path, sizeof(w->path), "%s/add-checkpoint", w->url.prefix);
    w->name = strdup(w->cosigner.v.name);
    return w->name == NULL ? SCITT_ENOMEM : 0;
}

int scitt_cosign_new(scitt_cosign_t **out, const scitt_cosign_config_t *cfg, char *msg, size_t cap)
{
    if (cfg->num_witnesses == 0 || cfg->num_witnesses > SCITT_COSIGN_MAX_WITNESSES) {
        snprintf(msg, cap, "between 1 and %d --witness", SCITT_COSIGN_MAX_WITNESSES);
        return SCITT_EINVAL;
    }
    if (cfg->threshold > cfg->num_witnesses) {
        snprintf(msg, cap, "--witness-threshold %u is more than the %zu witnesses", cfg->threshold, cfg->num_witnesses);
        return SCITT_EINVAL;
    }
    scitt_cosign_t *c = calloc(1, sizeof(*c));
    witness_t *ws = calloc(cfg->num_witnesses, sizeof(*ws));
    if (c == NULL || ws == NULL) {
        free(c);
        free(ws);
        snprintf(msg, cap, "out of memory");
        return SCITT_ENOMEM;
    }
    c->store = cfg->store;
    c->log = cfg->log;
    c->cosigned = cfg->cosigned;
    c->cosigned_ctx = cfg->cosigned_ctx;
    c->w = ws;
    c->num_w = cfg->num_witnesses;
    c->threshold = cfg->threshold != 0 ? cfg->threshold : (unsigned)cfg->num_witnesses;
    c->interval_ms = cfg->interval_ms != 0 ? cfg->interval_ms : SCITT_COSIGN_DEFAULT_INTERVAL_MS;
    c->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : SCITT_COSIGN_DEFAULT_TIMEOUT_MS;
    c->tls = cfg->tls;
    c->log_level = cfg->log_level;
    pthread_mutex_init(&c->lock, NULL);
    scitt_cond_init(&c->cond);
    scitt_buf_init(&c->note, NULL, 0);
    int rc = 0;
    for (size_t i = 0; i < c->num_w; i++) {
        witness_t *w = &ws[i];
        w->c = c;
        scitt_buf_init(&w->body, NULL, 0);
        scitt_buf_init(&w->cosig, NULL, 0);
        scitt_client_req_init(&w->req, "POST", w->path);
        if (rc == 0) {
            rc = parse_witness(w, cfg->witnesses[i], msg, cap);
        }
        for (size_t j = 0; rc == 0 && j < i; j++) {
            if (memcmp(ws[j].cosigner.v.id, w->cosigner.v.id, 4) == 0 && strcmp(ws[j].name, w->name) == 0) {
                snprintf(msg, cap, "--witness %s is listed twice", w->name);
                rc = SCITT_EINVAL;
            }
        }
    }
    if (rc == 0) {
        rc = uv_loop_init(&c->loop);
        c->have_loop = rc == 0;
        if (rc != 0) {
            snprintf(msg, cap, "cannot make an event loop: %s", uv_strerror(rc));
        }
    }
    if (rc != 0) {
        scitt_cosign_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int scitt_cosign_start(scitt_cosign_t *c)
{
    scitt_log_publishing(c->log);
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    uint64_t size = 0;
    if (scitt_log_head(c->log, &b, &size) == 0) {
        c->wanted = size; /* publish what the log holds at once */
    }
    scitt_buf_cleanup(&b);
    int rc = -pthread_create(&c->thread, NULL, cosign_main, c);
    c->running = rc == 0;
    if (rc == 0) {
        rc = scitt_log_on_advance(c->log, on_advance, c);
        c->listening = rc == 0;
    }
    return rc;
}

void scitt_cosign_free(scitt_cosign_t *c)
{
    if (c == NULL) {
        return;
    }
    if (c->listening) {
        scitt_log_on_advance(c->log, NULL, c);
    }
    if (c->running) {
        pthread_mutex_lock(&c->lock);
        c->stop = true;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    for (size_t i = 0; i < c->num_w; i++) {
        witness_t *w = &c->w[i];
        scitt_client_free(w->client);
        scitt_client_req_cleanup(&w->req);
        scitt_buf_cleanup(&w->body);
        scitt_buf_cleanup(&w->cosig);
        if (w->have_cosigner) {
            scitt_cosigner_cleanup(&w->cosigner);
        }
        free(w->name);
    }
    if (c->have_loop) {
        uv_run(&c->loop, UV_RUN_DEFAULT); /* the clients' close callbacks */
        uv_loop_close(&c->loop);
    }
    scitt_buf_cleanup(&c->note);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c->w);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* Metrics                                                                  */

/* label appends `name` as a Prometheus label value (quotes, backslashes
 * and newlines escaped). */
static int label(scitt_buf_t *out, const char *name)
{
    int rc = 0;
    for (const char *p = name; rc == 0 && *p != '\0'; p++) {
        rc = *p == '"' || *p == '\\' ? scitt_buf_printf(out, "\\%c", *p)
             : *p == '\n'            ? scitt_buf_append_str(out, "\\n")
                                     : scitt_buf_append_byte(out, (uint8_t)*p);
    }
    return rc;
}

static int witness_line(scitt_buf_t *out, const char *metric, const witness_t *w, const char *extra, uint64_t v)
{
    int rc = scitt_buf_printf(out, "%s{witness=\"", metric);
    rc = rc != 0 ? rc : label(out, w->name);
    return rc != 0 ? rc : scitt_buf_printf(out, "\"%s} %" PRIu64 "\n", extra, v);
}

int scitt_cosign_metrics(void *ctx, scitt_buf_t *out)
{
    scitt_cosign_t *c = ctx;
    uint64_t n = atomic_load(&c->published_cosigs);
    int rc = scitt_buf_printf(out,
                              "# TYPE scittd_checkpoint_published_size gauge\n"
                              "scittd_checkpoint_published_size %" PRIu64 "\n"
                              "# TYPE scittd_checkpoint_cosignatures gauge\n"
                              "scittd_checkpoint_cosignatures %" PRIu64 "\n"
                              "# TYPE scittd_checkpoint_witness_threshold gauge\n"
                              "scittd_checkpoint_witness_threshold %u\n"
                              "# TYPE scittd_checkpoint_short gauge\n"
                              "scittd_checkpoint_short %d\n"
                              "# TYPE scittd_checkpoint_rounds_total counter\n"
                              "scittd_checkpoint_rounds_total %" PRIu64 "\n",
                              atomic_load(&c->published_size), n, c->threshold, n < c->threshold ? 1 : 0,
                              atomic_load(&c->rounds));
    /* Per witness: each counter's name and type, then the alerts by status. */
    static const struct {
        const char *name, *type;
        size_t off;
    } per[] = {
        {"scittd_witness_cosigned_size", "gauge", offsetof(witness_t, cosigned_size)},
        {"scittd_witness_cosignatures_total", "counter", offsetof(witness_t, cosignatures)},
        {"scittd_witness_conflicts_total", "counter", offsetof(witness_t, conflicts)},
        {"scittd_witness_failures_total", "counter", offsetof(witness_t, failures)},
        {"scittd_witness_bad_cosignatures_total", "counter", offsetof(witness_t, bad_cosigs)},
    };
    for (size_t t = 0; rc == 0 && t < scitt_countof(per); t++) {
        rc = scitt_buf_printf(out, "# TYPE %s %s\n", per[t].name, per[t].type);
        for (size_t i = 0; rc == 0 && i < c->num_w; i++) {
            _Atomic uint64_t *v = (_Atomic uint64_t *)((char *)&c->w[i] + per[t].off);
            rc = witness_line(out, per[t].name, &c->w[i], "", atomic_load(v));
        }
    }
    rc = rc != 0 ? rc : scitt_buf_append_str(out, "# TYPE scittd_witness_alerts_total counter\n");
    for (size_t i = 0; rc == 0 && i < c->num_w; i++) {
        for (size_t s = 0; rc == 0 && s < scitt_countof(alert_status); s++) {
            char extra[32];
            snprintf(extra, sizeof(extra), ",status=\"%d\"", alert_status[s]);
            rc = witness_line(out, "scittd_witness_alerts_total", &c->w[i], extra, atomic_load(&c->w[i].alerts[s]));
        }
    }
    return rc;
}
