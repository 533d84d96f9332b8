/*
 * routes.c: which resource a request names, and the GETs of entries and
 * checkpoints: from the log reader's memory when it has the answer (the
 * latest checkpoint, recent receipts), else from the store, inline in a
 * short read handle when its reads are local (LMDB), on the reader pool
 * when they are round trips (PostgreSQL).
 *
 *   POST /entries                         register.c
 *   GET  /entries[?query]                 audit.c: entries by iss/sub/kid/artifact/time
 *   GET  /entries/{id}                    receipt: 200 / 204 pending / 404
 *   GET  /entries/{id}/statement          transparent statement
 *   GET  /.well-known/scitt-keys[/{kid}]  COSE_KeySet / COSE_Key
 *   GET  /.well-known/transparency-configuration  limits, for mirrors
 *   GET  /checkpoint, /checkpoint.vkey    C2SP signed note, verifier key
 *   GET  /tile/...                        tiles.c
 *   GET  /metrics, /healthz
 *
 * EntryID is the lowercase hex of the entry hash (DESIGN.md section 2).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "scitt/cose.h"
#include "scitt/receipt.h"

/* zero_q reports whether a media range's parameters (after its ';') give
 * q=0 (RFC 9110 section 12.4.2: "0", "0.", "0.0" ... "0.000"): not
 * acceptable. */
static bool zero_q(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t')) {
            p++;
        }
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            const char *v = p + 2;
            if (v >= end || *v != '0') {
                return false;
            }
            for (v++; v < end && *v != ';' && *v != ' ' && *v != '\t'; v++) {
                if (*v != '.' && *v != '0') {
                    return false;
                }
            }
            return true;
        }
        while (p < end && *p != ';') {
            p++;
        }
    }
    return false;
}

bool scitt_h2__accepts(const scitt_h2_stream_t *s, const char *media_type)
{
    /* We only look for our own distinctive media types, never negotiate
     * between equals: a list element naming exactly this type (case
     * insensitive, no wildcards) without q=0 selects it. */
    size_t n = strlen(media_type);
    const char *p = s->accept;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        end = end != NULL ? end : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }
        const char *type_end = p;
        while (type_end < end && *type_end != ';' && *type_end != ' ' && *type_end != '\t') {
            type_end++;
        }
        if ((size_t)(type_end - p) == n && strncasecmp(p, media_type, n) == 0 && !zero_q(type_end, end)) {
            return true;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* path_only returns the length of the path without its query string. */
static size_t path_only(const char *path)
{
    const char *q = strchr(path, '?');
    return q != NULL ? (size_t)(q - path) : strlen(path);
}

static bool has_prefix(const char *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(p, prefix, n) == 0;
}

static bool is_exact(const char *p, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(p, lit, len) == 0;
}

static void method_not_allowed(scitt_h2_stream_t *s, const char *allow)
{
    scitt_h2_hdr_t h = {"allow", allow};
    char detail[96];
    snprintf(detail, sizeof(detail), "this resource allows %s only", allow);
    scitt_h2__respond_problem(s, 405, "Method Not Allowed", detail, &h, 1);
}

static void not_found(scitt_h2_stream_t *s, const char *detail)
{
    scitt_h2__respond_problem(s, 404, "Not Found", detail, NULL, 0);
}

void scitt_h2__respond_stored_error(scitt_h2_stream_t *s, int rc)
{
    if (rc == SCITT_EUNAVAIL) {
        scitt_h2_hdr_t h = {"retry-after", "5"};
        s->conn->fe->metrics.unavailable_reads++;
        scitt_h2__respond_problem(s, 503, "Service Unavailable",
                                  "the log's store is unavailable (database unreachable or read-only); try again later",
                                  &h, 1);
    } else if (rc == SCITT_EDAMAGED) {
        s->conn->fe->metrics.damaged_reads++;
        scitt_h2__respond_problem(s, 500, "Damaged storage",
                                  "a stored statement does not match its entry hash; the log's operator must "
                                  "restore the data folder (scittd --check finds every damaged entry)",
                                  NULL, 0);
    } else {
        scitt_h2__respond_problem(s, 500, "Internal Server Error", scitt_strerror(rc), NULL, 0);
    }
}

/* parse_entry_id decodes 64 lowercase hex digits. */
static bool parse_entry_id(uint8_t out[32], const char *p, size_t len)
{
    if (len != 64) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
            return false;
        }
    }
    size_t n;
    return scitt_hex_decode(out, 32, &n, p, len) == 0 && n == 32;
}

/* Outcomes of an entry read besides 0 and the SCITT_E* codes. */
enum { ENTRY_PENDING = 1, ENTRY_NO_ROOM = 2 };

/* find_entry looks `entry` up in `*rd`: 0 with its leaf index;
 * ENTRY_PENDING when it is accepted but not committed yet; else
 * SCITT_ENOTFOUND or an error. A miss is looked up once more in a fresh
 * snapshot, which replaces `*rd` (NULL if that fails): the commit may have
 * landed between the two looks. On a shared store (several processes, one
 * log) the same snapshot tells: a statement any process accepted is in the
 * hand-off queue or in the log, and the commit that logs it removes its
 * queue row. Any thread. */
static int find_entry(scitt_frontend_t *fe, scitt_store_read_t **rd, const uint8_t entry[32], uint64_t *out_index)
{
    int rc = scitt_store_get_entryidx(*rd, entry, out_index);
    if (rc == SCITT_ENOTFOUND && scitt_store_shared(fe->cfg.store)) {
        bool queued = false;
        rc = scitt_store_queue_has(*rd, (const uint8_t(*)[32])entry, 1, &queued);
        queued = queued || (fe->cfg.seq != NULL && scitt_seq_is_pending(fe->cfg.seq, entry));
        return rc != 0 ? rc : queued ? ENTRY_PENDING : SCITT_ENOTFOUND;
    }
    if (rc == SCITT_ENOTFOUND && fe->cfg.seq != NULL && scitt_seq_is_pending(fe->cfg.seq, entry)) {
        return ENTRY_PENDING;
    }
    if (rc == SCITT_ENOTFOUND) {
        scitt_store_read_end(*rd);
        *rd = NULL;
        rc = scitt_store_read_begin(fe->cfg.store, rd);
        rc = rc != 0 ? rc : scitt_store_get_entryidx(*rd, entry, out_index);
    }
    return rc;
}

/* reserve_job_bytes counts `len` bytes of a large response a pool job is
 * about to build in fe->job_bytes, which holds at most
 * --max-response-bytes (false: no room): what jobs build is bounded before
 * the loop queues it (and checks the output budget again). `*reserved`
 * gets what to give back once the answer is on the loop. Any thread. */
static bool reserve_job_bytes(scitt_frontend_t *fe, size_t len, size_t *reserved)
{
    *reserved = 0;
    if (len < SCITT_H2_LARGE_RESP) {
        return true;
    }
    size_t held = atomic_fetch_add_explicit(&fe->job_bytes, len, memory_order_relaxed);
    if (held + len > fe->cfg.max_response_bytes) {
        atomic_fetch_sub_explicit(&fe->job_bytes, len, memory_order_relaxed);
        return false;
    }
    *reserved = len;
    return true;
}

/* put_statement appends the transparent statement of leaf `index`, read
 * in `rd`. It first makes sure the output has room (ENTRY_NO_ROOM), to
 * spare the work of building it: on the loop (`reserved` NULL) in the
 * output budget, in a pool job among the bytes jobs hold. */
static int put_statement(scitt_frontend_t *fe, scitt_store_read_t *rd, uint64_t index, size_t *reserved,
                         scitt_buf_t *out)
{
    scitt_span_t raw;
    int rc = scitt_store_get_entry_checked(rd, index, &raw, NULL);
    if (rc != 0) {
        return rc;
    }
    if (reserved == NULL ? !scitt_h2__output_room(fe, raw.len) : !reserve_job_bytes(fe, raw.len, reserved)) {
        return ENTRY_NO_ROOM;
    }
    if (fe->cfg.keys == NULL) {
        /* A mirror stores the transparent statement the log served. */
        return scitt_buf_append(out, raw.base, raw.len);
    }
    return scitt_log_transparent(fe->log, rd, index, raw, out);
}

/* read_entry reads GET /entries/{id} (the receipt) or its /statement into
 * `out`, in a read handle of its own: on the loop (`reserved` NULL), or in
 * a pool job (see put_statement). */
static int read_entry(scitt_frontend_t *fe, const uint8_t entry[32], bool statement, size_t *reserved, scitt_buf_t *out)
{
    scitt_store_read_t *rd;
    uint64_t index;
    int rc = scitt_store_read_begin(fe->cfg.store, &rd);
    if (rc == 0) {
        rc = find_entry(fe, &rd, entry, &index);
    }
    if (rc == 0) {
        rc = statement ? put_statement(fe, rd, index, reserved, out) : scitt_log_receipt(fe->log, rd, index, out);
    }
    scitt_store_read_end(rd); /* `raw` and `sign1` pointed into its snapshot until here */
    return rc;
}

/* answer_entry answers read_entry's outcome, taking `out`. */
static void answer_entry(scitt_h2_stream_t *s, bool statement, int rc, scitt_buf_t *out)
{
    if (rc == 0) {
        const char *type =
            !statement ? (scitt_h2__accepts(s, "application/scitt-receipt+cose") ? "application/scitt-receipt+cose"
                                                                                 : "application/cose")
            : scitt_h2__accepts(s, "application/scitt-statement+cose") ? "application/scitt-statement+cose"
                                                                       : "application/cose";
        scitt_h2__respond(s, 200, type, out, NULL, 0);
        return;
    }
    scitt_buf_cleanup(out);
    if (rc == ENTRY_PENDING) {
        if (!scitt_h2__admit_pending(s)) {
            return; /* 429: polled too often */
        }
        scitt_h2_hdr_t h[] = {{"retry-after", "1"}, {"cache-control", "no-store"}};
        scitt_h2__respond(s, 204, NULL, NULL, h, 2);
    } else if (rc == SCITT_ENOTFOUND) {
        not_found(s, "no entry with this id is registered or pending");
    } else if (rc == ENTRY_NO_ROOM) {
        scitt_h2__respond_no_room(s);
    } else if (rc == SCITT_ESHUTDOWN) {
        scitt_h2__respond_busy(s);
    } else {
        scitt_h2__respond_stored_error(s, rc);
    }
}

/* An entry read on the reader pool. */
typedef struct entry_job {
    scitt_h2_job_t super;
    uint8_t entry[32];
    bool statement;
} entry_job_t;

static void work_entry(scitt_h2_job_t *job)
{
    entry_job_t *j = scitt_container_of(job, entry_job_t, super);
    job->rc = read_entry(job->fe, j->entry, j->statement, &job->reserved, &job->body);
}

static void answer_entry_job(scitt_h2_job_t *job, scitt_h2_stream_t *s, int rc)
{
    answer_entry(s, scitt_container_of(job, entry_job_t, super)->statement, rc, &job->body);
}

/* get_entry answers GET /entries/{id}[/statement]: inline when the store's
 * reads are local, else from the recent-receipt ring or on the reader
 * pool. */
static void get_entry(scitt_h2_stream_t *s, const uint8_t entry[32], bool statement)
{
    scitt_frontend_t *fe = s->conn->fe;
    if (!statement && fe->cfg.keys == NULL) { /* a read-only mirror holds no receipt key */
        not_found(s, "this mirror serves statements, checkpoints and tiles, not receipts");
        return;
    }
    if (!scitt_log_local_reads(fe->log)) {
        scitt_buf_t out;
        scitt_buf_init(&out, NULL, 0);
        if (!statement && scitt_log_try_entry_receipt(fe->log, entry, &out) == 0) {
            answer_entry(s, false, 0, &out); /* a recent leaf: from memory */
            return;
        }
        scitt_buf_cleanup(&out);
        entry_job_t *j = scitt_h2__job_new(sizeof(*j), work_entry, answer_entry_job);
        if (j == NULL) {
            scitt_h2__respond_problem(s, 500, "Internal Server Error", "out of memory", NULL, 0);
            return;
        }
        memcpy(j->entry, entry, 32);
        j->statement = statement;
        scitt_h2__job_submit(s, &j->super);
        return;
    }
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    int rc = read_entry(fe, entry, statement, NULL, &out);
    answer_entry(s, statement, rc, &out);
}

static void get_entries(scitt_h2_stream_t *s, const char *rest, size_t len)
{
    uint8_t entry[32];
    static const char suffix[] = "/statement";
    size_t slen = sizeof(suffix) - 1;
    bool statement = len > slen && memcmp(rest + len - slen, suffix, slen) == 0;
    size_t id_len = statement ? len - slen : len;
    if (!parse_entry_id(entry, rest, id_len)) {
        scitt_h2__respond_problem(s, 400, "Invalid locator",
                                  "an entry id is the 64 lowercase hex digits of the entry hash", NULL, 0);
        return;
    }
    get_entry(s, entry, statement);
}

static void get_key(scitt_h2_stream_t *s, const char *kid, size_t len)
{
    scitt_frontend_t *fe = s->conn->fe;
    uint8_t raw[64];
    size_t n;
    /* SCRAPI: unpadded base64url always; the raw kid when path-safe (ours
     * are binary thumbprints, so the base64url form is the only one). */
    if (fe->cfg.keys != NULL && scitt_base64_decode(raw, sizeof(raw), &n, kid, len, SCITT_B64_URL) == 0 &&
        n == SCITT_SHA256_LEN && memcmp(raw, fe->cfg.keys->receipt_kid, n) == 0) {
        scitt_h2__respond_bytes(s, 200, "application/cbor", fe->key.base, fe->key.len, NULL, 0);
        return;
    }
    scitt_h2__respond_problem(s, 404, "No such key", "the service has no key with this kid", NULL, 0);
}

/* answer_checkpoint answers GET /checkpoint with `cp` (taken) or `rc`. */
static void answer_checkpoint(scitt_h2_stream_t *s, int rc, scitt_buf_t *cp)
{
    scitt_frontend_t *fe = s->conn->fe;
    scitt_h2_hdr_t h = {"cache-control", "public, max-age=1"};
    if (rc == 0) {
        scitt_h2__respond(s, 200, "text/plain; charset=utf-8", cp, &h, 1);
        return;
    }
    scitt_buf_cleanup(cp);
    if (rc == SCITT_ENOTFOUND && fe->empty_checkpoint.len == 0) {
        not_found(s, "this mirror holds no checkpoint yet");
    } else if (rc == SCITT_ENOTFOUND) {
        /* An empty log still has a checkpoint: size 0, root SHA-256(""). */
        scitt_h2__respond_bytes(s, 200, "text/plain; charset=utf-8", fe->empty_checkpoint.base,
                                fe->empty_checkpoint.len, &h, 1);
    } else if (rc == SCITT_ESHUTDOWN) {
        scitt_h2__respond_busy(s);
    } else {
        scitt_h2__respond_stored_error(s, rc);
    }
}

static void work_checkpoint(scitt_h2_job_t *job)
{
    job->rc = scitt_log_checkpoint(job->fe->log, NULL, &job->body);
}

static void answer_checkpoint_job(scitt_h2_job_t *job, scitt_h2_stream_t *s, int rc)
{
    answer_checkpoint(s, rc, &job->body);
}

/* get_checkpoint answers from the reader's head cache; without one (a
 * mirror), from the store, inline when its reads are local. */
static void get_checkpoint(scitt_h2_stream_t *s)
{
    scitt_frontend_t *fe = s->conn->fe;
    scitt_buf_t cp;
    scitt_buf_init(&cp, NULL, 0);
    int rc = scitt_log_try_checkpoint(fe->log, &cp, NULL);
    if (rc == SCITT_EAGAIN && !scitt_log_local_reads(fe->log)) {
        scitt_h2_job_t *j = scitt_h2__job_new(sizeof(*j), work_checkpoint, answer_checkpoint_job);
        if (j == NULL) {
            scitt_h2__respond_problem(s, 500, "Internal Server Error", "out of memory", NULL, 0);
        } else {
            scitt_h2__job_submit(s, j);
        }
        return;
    }
    if (rc == SCITT_EAGAIN) {
        rc = scitt_log_checkpoint(fe->log, NULL, &cp);
    }
    answer_checkpoint(s, rc, &cp);
}

/* get_health answers 200 "ok" while the service can register: 503 when
 * shutting down, when the store says it cannot be reached (a database down
 * or read-only), when the last batch could not be committed and none has
 * been since (full disk, a store error, a commit in doubt), or when the
 * sequencer has been in one batch for longer than POST waits for a commit
 * (--register-wait-ms, at least 1 s): stuck in a commit, so every
 * registration answers 202. */
static void get_health(scitt_h2_stream_t *s)
{
    scitt_frontend_t *fe = s->conn->fe;
    scitt_h2_hdr_t h = {"cache-control", "no-store"};
    char why[192] = "";
    uint64_t stuck_ms = fe->cfg.register_wait_ms > 1000 ? fe->cfg.register_wait_ms : 1000;
    double busy = 0;
    int commit_rc = fe->cfg.seq != NULL ? scitt_seq_health(fe->cfg.seq, &busy) : 0;
    scitt_store_stats_t st = {.available = true};
    if (fe->cfg.store != NULL) {
        scitt_store_stats(fe->cfg.store, &st);
    }
    if (fe->draining) {
        snprintf(why, sizeof(why), "shutting down");
    } else if (!st.available || commit_rc == SCITT_EUNAVAIL) {
        snprintf(why, sizeof(why), "store unavailable: the log's %s store cannot be reached or is read-only",
                 st.engine != NULL ? st.engine : "");
    } else if (commit_rc != 0) {
        snprintf(why, sizeof(why), "the log cannot commit (%s); registrations fail until a commit succeeds",
                 scitt_strerror(commit_rc));
    } else if (busy * 1000 > (double)stuck_ms) {
        snprintf(why, sizeof(why), "the log's sequencer has been committing one batch for %.0f s", busy);
    }
    if (why[0] != '\0') {
        scitt_h2__respond_problem(s, 503, "Service Unavailable", why, &h, 1);
        return;
    }
    scitt_h2__respond_bytes(s, 200, "text/plain; charset=utf-8", "ok\n", 3, &h, 1);
}

static void get_metrics(scitt_h2_stream_t *s)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    if (scitt_h2__metrics_render(s->conn->fe, &b) != 0) {
        scitt_buf_cleanup(&b);
        scitt_h2__respond_problem(s, 500, "Internal Server Error", "out of memory", NULL, 0);
        return;
    }
    scitt_h2_hdr_t h = {"cache-control", "no-store"};
    scitt_h2__respond(s, 200, "text/plain; version=0.0.4; charset=utf-8", &b, &h, 1);
}

/* put_config appends the published configuration: what a mirror needs to
 * copy every statement this service can register (a read-only mirror
 * publishes the limits of the log it copies). */
static int put_config(const scitt_frontend_t *fe, scitt_buf_t *out)
{
    const scitt_frontend_config_t *cfg = &fe->cfg;
    size_t origin_len = strlen(cfg->origin);
    scitt_cose_config_t c = {.issuer = scitt_span_str(cfg->origin),
                             .max_statement_bytes = cfg->max_statement_bytes,
                             .max_transparent_statement_bytes =
                                 scitt_receipt_transparent_max_len(cfg->max_statement_bytes, origin_len)};
    return scitt_cose_config_encode(out, &c);
}

static void get_config(scitt_h2_stream_t *s)
{
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    if (put_config(s->conn->fe, &out) != 0) {
        scitt_buf_cleanup(&out);
        scitt_h2__respond_problem(s, 500, "Internal Server Error", "out of memory", NULL, 0);
        return;
    }
    scitt_h2__respond(s, 200, "application/cbor", &out, NULL, 0);
}

int scitt_frontend_fixed_resource(const scitt_frontend_t *fe, const char *path, scitt_buf_t *out)
{
    if (strcmp(path, "/.well-known/transparency-configuration") == 0) {
        return put_config(fe, out);
    }
    const scitt_buf_t *b = strcmp(path, "/checkpoint.vkey") == 0          ? &fe->vkey
                           : strcmp(path, "/.well-known/scitt-keys") != 0 ? NULL
                           : fe->cfg.keys != NULL                         ? &fe->keyset
                                                                          : NULL;
    if (b == NULL || b->len == 0) {
        return SCITT_ENOTFOUND;
    }
    return scitt_buf_append(out, b->base, b->len);
}

typedef enum route {
    R_NONE,
    R_REGISTER,
    R_ENTRY,
    R_KEYS,
    R_KEY,
    R_CONFIG,
    R_CHECKPOINT,
    R_VKEY,
    R_TILE,
    R_METRICS,
    R_HEALTH
} route_t;

static route_t classify(const char *p, size_t len)
{
    if (is_exact(p, len, "/entries")) {
        return R_REGISTER;
    }
    if (has_prefix(p, len, "/entries/")) {
        return R_ENTRY;
    }
    if (is_exact(p, len, "/.well-known/scitt-keys")) {
        return R_KEYS;
    }
    if (has_prefix(p, len, "/.well-known/scitt-keys/")) {
        return R_KEY;
    }
    if (is_exact(p, len, "/.well-known/transparency-configuration")) {
        return R_CONFIG;
    }
    if (is_exact(p, len, "/checkpoint")) {
        return R_CHECKPOINT;
    }
    if (is_exact(p, len, "/checkpoint.vkey")) {
        return R_VKEY;
    }
    if (has_prefix(p, len, "/tile/")) {
        return R_TILE;
    }
    if (is_exact(p, len, "/metrics")) {
        return R_METRICS;
    }
    if (is_exact(p, len, "/healthz")) {
        return R_HEALTH;
    }
    return R_NONE;
}

static bool is_cose_type(const char *ct)
{
    /* Media type before any parameters, case-insensitive, trimmed. */
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) {
        n--;
    }
    return (n == 16 && strncasecmp(ct, "application/cose", n) == 0) ||
           (n == 32 && strncasecmp(ct, "application/scitt-statement+cose", n) == 0);
}

bool scitt_h2__route_early(scitt_h2_stream_t *s)
{
    scitt_frontend_t *fe = s->conn->fe;
    if (fe->cfg.service != NULL) {
        return scitt_h2__service_early(s);
    }
    size_t len = path_only(s->path);
    route_t r = classify(s->path, len);
    if (r != R_REGISTER || strcmp(s->method, "POST") != 0 || s->path_too_long) {
        if (strcmp(s->method, "POST") == 0 || strcmp(s->method, "PUT") == 0) {
            scitt_h2__route(s); /* 404/405 at once; other bodies are ignored */
            return true;
        }
        return false;
    }
    if (!scitt_h2__admit_post(s)) {
        return true; /* 401, 403 or 429 */
    }
    if (!is_cose_type(s->content_type)) {
        fe->metrics.registrations[SCITT_H2_REG_MEDIA]++;
        scitt_h2__respond_problem(s, 415, "Unsupported Media Type",
                                  "POST /entries takes application/cose or application/scitt-statement+cose", NULL, 0);
        return true;
    }
    if (s->content_length >= 0 && (uint64_t)s->content_length > fe->cfg.max_statement_bytes) {
        fe->metrics.registrations[SCITT_H2_REG_TOO_LARGE]++;
        scitt_h2__respond_problem(s, 413, "Content Too Large", "the statement exceeds --max-statement-bytes", NULL, 0);
        return true;
    }
    return false;
}

void scitt_h2__route(scitt_h2_stream_t *s)
{
    scitt_frontend_t *fe = s->conn->fe;
    if (s->path_too_long) {
        scitt_h2__respond_problem(s, 414, "URI Too Long", "the request path is too long", NULL, 0);
        return;
    }
    size_t len = path_only(s->path);
    const char *p = s->path;
    route_t r = classify(p, len);
    if (fe->cfg.service != NULL && r != R_METRICS && r != R_HEALTH) {
        scitt_h2__service(s);
        return;
    }
    bool get = strcmp(s->method, "GET") == 0 || strcmp(s->method, "HEAD") == 0;
    bool post = strcmp(s->method, "POST") == 0;
    switch (r) {
    case R_NONE:
        not_found(s, "no such resource");
        return;
    case R_REGISTER:
        if (get) {
            const char *q = strchr(p, '?');
            scitt_h2__get_audit(s, q != NULL ? q + 1 : "", q != NULL ? strlen(q + 1) : 0);
            return;
        }
        if (!post) {
            method_not_allowed(s, "GET, HEAD, POST");
            return;
        }
        if (!scitt_h2__route_early(s)) {
            scitt_h2__register(s);
        }
        return;
    default:
        break;
    }
    if (!get) {
        method_not_allowed(s, "GET");
        return;
    }
    switch (r) {
    case R_ENTRY:
        get_entries(s, p + 9, len - 9);
        return;
    case R_KEYS:
        if (fe->cfg.keys == NULL && fe->cfg.keyset.len > 0) {
            scitt_h2__respond_bytes(s, 200, "application/cbor", fe->cfg.keyset.base, fe->cfg.keyset.len, NULL, 0);
            return;
        }
        if (fe->cfg.keys == NULL) {
            scitt_h2__respond_problem(s, 404, "No such key", "this mirror publishes no receipt keys", NULL, 0);
            return;
        }
        scitt_h2__respond_bytes(s, 200, "application/cbor", fe->keyset.base, fe->keyset.len, NULL, 0);
        return;
    case R_KEY:
        get_key(s, p + 24, len - 24);
        return;
    case R_CONFIG:
        get_config(s);
        return;
    case R_CHECKPOINT:
        get_checkpoint(s);
        return;
    case R_VKEY:
        scitt_h2__respond_bytes(s, 200, "text/plain; charset=utf-8", fe->vkey.base, fe->vkey.len, NULL, 0);
        return;
    case R_TILE:
        scitt_h2__get_tile(s, p + 1, len - 1);
        return;
    case R_METRICS:
        get_metrics(s);
        return;
    case R_HEALTH:
        get_health(s);
        return;
    default:
        not_found(s, "no such resource");
        return;
    }
}
