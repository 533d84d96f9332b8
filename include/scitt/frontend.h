/*
 * frontend.h: the HTTP/2 service (SCRAPI-11 registration and receipts, COSE
 * keys, C2SP checkpoints and tiles, metrics) on one libuv loop.
 *
 * The front end accepts TCP connections, runs one nghttp2 server session per
 * connection (cleartext h2c with prior knowledge, or TLS with ALPN h2 through
 * scitt/tls.h), serves GETs through the log reader (scitt/log.h) and hands
 * POST bodies to the registration pipeline (scitt/seq.h), whose completions
 * it marshals back onto the loop. It never blocks the loop: it answers from
 * the reader's memory (recent receipts, cached tiles, the latest
 * checkpoint); with a store whose reads are local (LMDB's map) it reads
 * the rest inline in short read handles, else (PostgreSQL) every store
 * read runs on the reader's pool; so does work that may take long either
 * way (entry bundles hash up to 256 statements, audit pages).
 *
 * Threading: every function here runs on the loop's thread.
 */
#ifndef SCITT_FRONTEND_H
#define SCITT_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/auth.h"
#include "scitt/log.h"
#include "scitt/seq.h"
#include "scitt/store.h"
#include "scitt/tls.h"

struct uv_loop_s;

/* Issue 21: a front end for a service other than a log (`scitt witness`).
 * The request as the service sees it, and its answer: a body of
 * `content_type`, or for a status >= 400 with an empty body, RFC 9290
 * concise problem details with `title` (static) and `detail`. */
typedef struct scitt_frontend_reply {
    int status;
    const char *content_type; /* static */
    const char *title;        /* static */
    char detail[192];
    scitt_buf_t body; /* empty on entry; the front end frees it */
} scitt_frontend_reply_t;

typedef struct scitt_frontend_service {
    /* handle answers one complete request on a libuv pool thread (so it may
     * block: disk, locks); it must be thread-safe. `path` includes any query
     * string; `body` holds a POST's body (at most max_statement_bytes). */
    void (*handle)(void *ctx, const char *method, const char *path, scitt_span_t body, scitt_frontend_reply_t *reply);
    void *ctx;
} scitt_frontend_service_t;

typedef struct scitt_frontend_config {
    scitt_store_t *store;
    scitt_seq_t *seq; /* NULL: POST answers 503 (fuzzing) */
    /* The reader serving GETs: NULL means the pipeline's (scitt_seq_log), or
     * without one a reader the front end makes for `store` (a mirror). */
    scitt_log_reader_t *log;
    bool reads_in_pool;           /* tests: every store read goes to the reader pool, as with PostgreSQL */
    const scitt_seq_keys_t *keys; /* NULL: a read-only mirror (no receipts, no POST) */
    const char *vkey_line;        /* with keys NULL: the log's note verifier key, served as is */
    scitt_span_t keyset;          /* with keys NULL: the log's COSE_KeySet, served as is (empty: 404) */
    const char *origin;
    scitt_tls_ctx_t *tls; /* NULL: cleartext h2c */
    size_t max_statement_bytes;
    size_t max_connections;
    size_t max_connections_per_address; /* 0 means max_connections */
    size_t max_pending_per_address;     /* registrations in the pipeline; 0 means no cap */
    size_t max_response_bytes;          /* queued output before large responses wait; 0 means 128 MiB */
    size_t max_header_bytes;
    uint32_t max_streams;     /* per connection (SETTINGS) */
    size_t max_streams_total; /* across all connections; 0 means 32768 */
    uint64_t register_wait_ms;
    uint64_t idle_timeout_ms;
    uint64_t request_timeout_ms;
    int log_level; /* SCITT_LOG_* from scitt/config.h */
    /* Issue 19. Requests without credentials from one address (IPv4, IPv6
     * /64): POST /entries and polls of pending entries, each at most
     * `post_rate` per second after a burst of `post_burst` (0: no limit). */
    uint32_t post_rate;
    uint32_t post_burst;
    /* With either set, POST /entries needs a credential: a bearer token of
     * `tokens`, or a client certificate verified by `tls` (client_ca: set
     * with scitt_tls_ctx_client_ca). */
    const scitt_auth_tokens_t *tokens;
    bool client_ca;
    /* Allocator of the per-connection state; NULL means the default. Tests
     * pass a failing one to show that a connection whose setup fails is
     * closed and the listener goes on accepting. */
    const scitt_mem_t *conn_mem;
    /* extra_metrics, when set, appends more Prometheus lines to GET
     * /metrics (the publisher's, src/publish), on the io loop: it must not
     * block. */
    int (*extra_metrics)(void *ctx, scitt_buf_t *out);
    void *extra_metrics_ctx;
    /* Issue 21: with `service` set, store, seq, log and keys are unused
     * (vkey_line is still required) and every request but /metrics and
     * /healthz goes to the service once its body is in. */
    const scitt_frontend_service_t *service;
} scitt_frontend_config_t;

typedef struct scitt_frontend scitt_frontend_t;

/* scitt_frontend_new prepares the service on `loop` (timers, the completion
 * queue, the published key set and checkpoint key). The configuration and
 * everything it points to are borrowed and must outlive the front end.
 * `*out` is newly allocated. Returns 0, SCITT_ENOMEM, or another code with
 * a reason in `*out_err_desc`. */
int scitt_frontend_new(scitt_frontend_t **out, struct uv_loop_s *loop, const scitt_frontend_config_t *cfg,
                       const char **out_err_desc);

/* scitt_frontend_listen binds `host`:`port` (IPv4 or IPv6 literal) and
 * starts accepting. Returns 0 or a negative libuv/errno code with a reason. */
int scitt_frontend_listen(scitt_frontend_t *fe, const char *host, uint16_t port, const char **out_err_desc);

/* scitt_frontend_stop_accepting closes the listening socket and makes new
 * registrations answer 503; connections already open keep being served. */
void scitt_frontend_stop_accepting(scitt_frontend_t *fe);

/* scitt_frontend_shutdown answers every registration whose completion has
 * arrived, sends GOAWAY on every connection, closes each once its streams
 * are answered (or after a grace period), closes the front end's own
 * handles and then calls `done(ctx)`. Call it after scitt_seq_stop returned
 * so that every in-flight registration gets its answer. */
void scitt_frontend_shutdown(scitt_frontend_t *fe, void (*done)(void *ctx), void *ctx);

/* scitt_frontend_free releases the front end once shutdown called `done`
 * (or, never started, right after new). NULL is a no-op. */
void scitt_frontend_free(scitt_frontend_t *fe);

/* scitt_frontend_fixed_resource appends the body this front end serves at
 * `path` for the resources that change only when it restarts:
 * "/checkpoint.vkey", "/.well-known/scitt-keys" and
 * "/.well-known/transparency-configuration" (the publisher writes them into
 * its folder). SCITT_ENOTFOUND for any other path or one it does not serve. */
int scitt_frontend_fixed_resource(const scitt_frontend_t *fe, const char *path, scitt_buf_t *out);

/* scitt_frontend_serve runs a front end for `cfg` on a loop of its own,
 * listening on `host`:`port`, until SIGINT or SIGTERM; then it closes every
 * connection and returns 0. Meant for a pipeline-less front end (cfg->seq
 * NULL), e.g. a mirror re-serving its copy read-only. */
int scitt_frontend_serve(const scitt_frontend_config_t *cfg, const char *host, uint16_t port,
                         const char **out_err_desc);

#endif /* SCITT_FRONTEND_H */
