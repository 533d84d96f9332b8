/*
 * internal.h: shared by the files of src/frontend only.
 *
 * Ownership, outermost first:
 *   scitt_frontend_t  owns the listener, the timers, the completion queue and
 *                     every connection (list `conns`).
 *   scitt_h2_conn_t   owns its uv_tcp_t, nghttp2 session, TLS state and every
 *                     stream (list `streams`). Freed only in the uv_close
 *                     callback (STYLE.md practice 7); nghttp2_session_del
 *                     does not call on_stream_close, so streams still listed
 *                     then are freed by the connection.
 *   scitt_h2_stream_t owns its request body and response body. Released in
 *                     nghttp2's on_stream_close (or with its connection):
 *                     the struct goes to the frontend's spare list, the
 *                     response body to the connection (`held`) while the
 *                     next write still points into it, else to the spare
 *                     bodies or free().
 *   scitt_h2_reg_t    one POST handed to the pipeline: shared by the stream
 *                     (until it is answered or closes) and the pipeline (until
 *                     its completion is processed on the loop). `refs` counts
 *                     the two and is touched on the loop thread only.
 *   scitt_h2_job_t    one GET offloaded to the reader pool (store reads
 *                     the loop must not wait for, entry bundles, audit
 *                     pages); the stream forgets it on close, the job frees
 *                     itself once its completion is back on the loop.
 * A stream never points at a freed reg or job and vice versa: whichever side
 * goes first clears the other's pointer.
 */
#ifndef SCITT_SRC_FRONTEND_INTERNAL_H
#define SCITT_SRC_FRONTEND_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "ratelimit.h"
#include "scitt/config.h"
#include "scitt/frontend.h"

/* Output gathered per connection before a uv_write, and the soft limit on
 * bytes handed to the kernel but not yet written: above it the connection
 * stops producing frames and stops reading (h2o's backpressure). */
#define SCITT_H2_WRITE_CHUNK (64u * 1024)
#define SCITT_H2_WRITE_SOFT  (512u * 1024)
/* Slices in one write (frames between payloads, payloads sent in place)
 * and the smallest payload sent in place rather than copied. */
#define SCITT_H2_MAX_SEGS    64
#define SCITT_H2_INPLACE_MIN 2048
/* Response bodies of one full tile\'s size kept for reuse (stream.c). */
#define SCITT_H2_SPARE_BODIES 64
#define SCITT_H2_SPARE_BODY   8192
/* Request bodies buffered across all connections; above it POST answers
 * 503, so memory stays flat under any number of slow uploads. */
#define SCITT_H2_BODY_BUDGET (128u * 1024 * 1024)
/* Responses of at least this many bytes count as large: past
 * --max-response-bytes of queued output they wait (503 + Retry-After) while
 * stalled connections are closed. Smaller ones are always served. */
#define SCITT_H2_LARGE_RESP (64u * 1024)
/* A connection whose output has not drained for this long is stalled. */
#define SCITT_H2_STALL_MS 2000
/* A header list past this many times --max-header-bytes is not decoded
 * further (the stream is reset), and after this many header lists over the
 * limit the connection is closed (HPACK bombs). */
#define SCITT_H2_HEADER_HARD_FACTOR 2
#define SCITT_H2_HEADER_STRIKES     4
/* An HTTP/1.1 connection that ends reads and drops the client's input for
 * this long and at most this many bytes after its last answer. */
#define SCITT_H1_LINGER_MS    2000
#define SCITT_H1_LINGER_BYTES (16u << 20)
/* Grace period for connections after SIGTERM. */
#define SCITT_H2_SHUTDOWN_GRACE_MS 10000

/* Intrusive doubly linked list (the owner holds a sentinel). */
typedef struct scitt_h2_link {
    struct scitt_h2_link *prev, *next;
} scitt_h2_link_t;

static inline void scitt_h2__list_init(scitt_h2_link_t *l)
{
    l->prev = l->next = l;
}
static inline bool scitt_h2__list_empty(const scitt_h2_link_t *l)
{
    return l->next == l;
}
static inline void scitt_h2__list_push(scitt_h2_link_t *l, scitt_h2_link_t *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}
static inline void scitt_h2__list_remove(scitt_h2_link_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

typedef struct scitt_h2_conn scitt_h2_conn_t;
typedef struct scitt_h2_stream scitt_h2_stream_t;
typedef struct scitt_h2_reg scitt_h2_reg_t;
typedef struct scitt_h2_job scitt_h2_job_t;
typedef struct scitt_h2_peer scitt_h2_peer_t;
typedef struct scitt_h1 scitt_h1_t;

/* A connection's protocol: cleartext connections start UNKNOWN until their
 * first bytes show the HTTP/2 preface or not; TLS ones take ALPN's choice. */
enum { SCITT_PROTO_UNKNOWN, SCITT_PROTO_H2, SCITT_PROTO_H1, SCITT_PROTO_NUM };

/* Histograms for /metrics (fixed buckets, cumulative at render time). */
#define SCITT_H2_HIST_MAX 16
typedef struct scitt_h2_hist {
    size_t num_bounds;
    double bounds[SCITT_H2_HIST_MAX];
    uint64_t counts[SCITT_H2_HIST_MAX + 1];
    double sum;
    uint64_t total;
} scitt_h2_hist_t;

enum {
    SCITT_H2_REG_CREATED,   /* 201 */
    SCITT_H2_REG_DUPLICATE, /* 201 for an entry already logged */
    SCITT_H2_REG_ACCEPTED,  /* 202 */
    SCITT_H2_REG_REJECTED,  /* 4xx from the policy */
    SCITT_H2_REG_TOO_LARGE, /* 413 */
    SCITT_H2_REG_MEDIA,     /* 415 */
    SCITT_H2_REG_FULL,      /* 503 */
    SCITT_H2_REG_ERROR,     /* 500 */
    SCITT_H2_REG_NUM
};

typedef struct scitt_h2_metrics {
    uint64_t registrations[SCITT_H2_REG_NUM];
    uint64_t responses_2xx, responses_4xx, responses_5xx;
    uint64_t connections_total, connections_refused;
    /* Connections closed at once because setting them up failed. */
    uint64_t connections_failed;
    uint64_t damaged_reads;             /* statements served 500 for not matching their entry hash */
    uint64_t unavailable_reads;         /* reads answered 503 because the store could not be reached */
    uint64_t responses_shed;            /* large responses answered 503 past --max-response-bytes */
    uint64_t stalled_closed;            /* connections closed to free queued output */
    uint64_t requests[SCITT_PROTO_NUM]; /* requests begun, by protocol (h2, HTTP/1.1) */
    uint64_t last_batches;              /* seq stats seen at the last sample */
    /* admit.c: 429s by bucket; 401/403 for a missing, an invalid credential. */
    uint64_t rate_limited[SCITT_RL_KINDS];
    uint64_t auth_refused[2];
    scitt_h2_hist_t e2e_seconds;
    scitt_h2_hist_t commit_seconds;
    scitt_h2_hist_t batch_size;
} scitt_h2_metrics_t;

struct scitt_frontend {
    uv_loop_t *loop;
    scitt_frontend_config_t cfg;
    uv_tcp_t listener;
    bool listening;
    /* A connection whose setup failed is accepted into `refuse` and closed
     * at once (server.c refuse); one waits in libuv while it closes. */
    uv_tcp_t refuse;
    bool refuse_waiting;
    bool draining;      /* stop_accepting was called */
    bool shutting_down; /* shutdown was called */
    scitt_h2_link_t conns;
    size_t num_conns;
    scitt_h2_link_t spare_streams; /* freed streams kept for reuse (stream.c) */
    size_t num_spare_streams;
    uint8_t *spare_bodies[SCITT_H2_SPARE_BODIES]; /* tile-sized response bodies for reuse */
    size_t num_spare_bodies;
    scitt_log_reader_t *log; /* cfg.log, the pipeline's, or own_log */
    scitt_log_reader_t *own_log;
    size_t num_jobs;                 /* offloaded GETs not yet finished */
    atomic_size_t job_bytes;         /* large responses pool jobs build or hold, not yet answered */
    uv_async_t job_async;            /* the reader pool's threads wake the loop */
    uv_mutex_t j_mutex;              /* guards the finished jobs' list */
    scitt_h2_job_t *j_head, *j_tail; /* jobs finished (or cancelled), not yet answered */
    size_t num_waiting_regs;         /* POSTs waiting for their commit */
    uv_timer_t sweep;                /* 1 s: idle and slow-client timeouts */
    uv_timer_t reg_timer;            /* the earliest 202 deadline */
    uv_timer_t grace;                /* hard end of shutdown */
    scitt_h2_link_t waiting;         /* regs whose stream waits, in deadline order */
    uv_async_t async;                /* pipeline threads wake the loop */
    uv_mutex_t q_mutex;
    scitt_h2_reg_t *q_head, *q_tail; /* completions not yet processed */
    scitt_h2_reg_t *v_head;          /* overdue regs whose statement passed the policy since */
    int handles_open;                /* own handles not yet closed */
    void (*shutdown_done)(void *ctx);
    void *shutdown_ctx;
    size_t body_bytes;            /* request bytes buffered by all streams */
    size_t num_streams;           /* open streams on all connections (each ~2 KB with nghttp2's state) */
    uint8_t read_buf[64 * 1024];  /* shared: read callbacks run one at a time */
    uint8_t plain_buf[16 * 1024]; /* TLS plaintext scratch */
    scitt_buf_t tls_out;          /* TLS ciphertext scratch (session.c emit), empty between calls */
    scitt_buf_t keyset;           /* the COSE_KeySet, encoded once */
    scitt_buf_t key;              /* the one COSE_Key of it */
    char kid_b64[64];             /* unpadded base64url of the receipt kid */
    scitt_buf_t vkey;             /* checkpoint verifier key line */
    scitt_buf_t empty_checkpoint; /* signed note for size 0, until a head exists */
    nghttp2_session_callbacks *callbacks;
    nghttp2_option *options;
    scitt_h2_metrics_t metrics;
    /* Output queued by open connections (response bodies of open streams
     * and bytes in uv_write requests), bounded by max_response_bytes. */
    size_t resp_bytes;
    /* Per client address (peers.c). */
    scitt_h2_peer_t **peers; /* buckets of chained entries */
    size_t peer_mask, num_peers;
    uint64_t peer_seed;
    scitt_rl_t *rl; /* per-address request rates (admit.c); NULL: --post-rate 0 */
    /* The Date field of every response (RFC 9110 6.6.1), formatted again
     * when the second changes (scitt_h2__date). */
    int64_t date_sec;
    char date[32];
};

struct scitt_h2_conn {
    scitt_h2_link_t node;
    scitt_frontend_t *fe;
    uv_tcp_t tcp;
    bool has_socket; /* false for the fuzz harness */
    bool closing;
    bool close_after_write; /* a GOAWAY or alert is being written, then close */
    bool lingering;         /* HTTP/1.1: FIN sent, input dropped until linger_until */
    uint64_t linger_until;
    size_t linger_bytes;
    bool reading;
    uint8_t proto;            /* SCITT_PROTO_*: which of session and h1 is used */
    nghttp2_session *session; /* HTTP/2 (deleted when the connection turns out HTTP/1.1) */
    scitt_h1_t *h1;           /* HTTP/1.1 (http1.c), or NULL */
    uint8_t sniff[24];        /* cleartext: first bytes, while they may still be the preface */
    size_t sniff_len;
    scitt_tls_t *tls;
    scitt_h2_link_t streams;
    size_t num_waiting;   /* streams waiting on the pipeline or the pool */
    size_t write_pending; /* bytes in uv_write requests not yet done */
    scitt_buf_t out;      /* frames gathered for the next write */
    /* The next write, in order: slices of `out` and DATA payloads taken
     * straight from response bodies (ext != NULL, no copy). A body in a
     * slice outlives its stream: a closing stream's body moves to `held`
     * until the write is done or flattened (session.c emit). */
    struct scitt_h2_seg {
        const uint8_t *ext;
        size_t off, len;
    } segs[SCITT_H2_MAX_SEGS];
    size_t num_segs;
    size_t seg_start;  /* `out` bytes not yet in a slice start here */
    size_t out_total;  /* bytes in the next write: out.len + ext payloads */
    scitt_buf_t *held; /* bodies of closed streams still in segs */
    size_t num_held, cap_held;
    uint64_t last_progress;  /* uv_now() of the last request or data frame */
    size_t resp_bytes;       /* its share of fe->resp_bytes */
    uint64_t drained_at;     /* uv_now() when its output last moved, or began */
    unsigned header_strikes; /* header lists over the limit */
    bool has_peer;           /* counted in the peer table under `peer` */
    uint8_t peer[16];
};

struct scitt_h2_stream {
    scitt_h2_link_t node;
    scitt_h2_conn_t *conn;
    int32_t id;
    char method[8];
    char path[1024];
    char content_type[128];
    char accept[256];
    int64_t content_length; /* -1 when absent */
    size_t header_bytes;
    bool headers_too_big;
    bool path_too_long;
    bool request_done;   /* END_STREAM seen */
    bool responded;      /* a response was submitted */
    bool discard_body;   /* answered early: drop further DATA */
    uint64_t deadline;   /* uv_now() after which a stalled stream is reset */
    scitt_buf_t body;    /* request body, counted in fe->body_bytes */
    scitt_buf_t resp;    /* response body */
    size_t resp_off;     /* bytes of resp already written into DATA frames */
    scitt_buf_t head;    /* HTTP/1.1: the response's status line and header section */
    bool head_sent;      /* HTTP/1.1: `head` is in the connection's output */
    bool close_after;    /* HTTP/1.1: the connection closes after this response */
    scitt_h2_reg_t *reg; /* waiting registration, or NULL */
    scitt_h2_job_t *job; /* offloaded GET, or NULL */
    int bearer;          /* SCITT_AUTH_* of its Authorization header (with --tokens) */
    bool admitted;       /* POST /entries passed admit.c (credentials, rate) */
};

/* A reg's stage, between the verify thread and the loop (register.c). */
enum { SCITT_H2_REG_WAITING, SCITT_H2_REG_VERIFIED, SCITT_H2_REG_OVERDUE };

struct scitt_h2_reg {
    scitt_h2_link_t wait_node;  /* in fe->waiting until its deadline passes */
    scitt_h2_reg_t *q_next;     /* completion queue */
    scitt_h2_reg_t *v_next;     /* fe->v_head's list */
    atomic_int stage;           /* SCITT_H2_REG_WAITING etc. */
    uint8_t verified_entry[32]; /* written before stage becomes VERIFIED */
    scitt_frontend_t *fe;
    scitt_h2_stream_t *stream; /* NULL once the stream stopped waiting */
    int refs;
    uint64_t deadline; /* uv_now() at which to answer 202 */
    uint64_t t0_ns;    /* uv_hrtime() when the body was complete */
    /* Written by the pipeline thread before the reg is queued. */
    int rc;
    const char *err_desc;
    bool has_entry;
    bool existing;
    uint8_t entry[32];
    uint8_t *receipt; /* malloc'd copy */
    size_t receipt_len;
    /* Lets a stream that closes unanswered take its statement back from
     * the verify queue (scitt_seq_cancel). */
    scitt_seq_ticket_t ticket;
    bool has_peer; /* counted in the peer table's regs under `peer` */
    uint8_t peer[16];
};

/* -- server.c -- */
void scitt_h2__log(const scitt_frontend_t *fe, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void scitt_h2__conn_count_closed(scitt_frontend_t *fe);
/* scitt_h2__maybe_finish ends a shutdown once no connection or job is left. */
void scitt_h2__maybe_finish(scitt_frontend_t *fe);

/* -- peers.c -- */
enum { SCITT_H2_PEER_CONNS, SCITT_H2_PEER_REGS, SCITT_H2_PEER_NUM };
/* scitt_h2__peer_key makes the table key of a client address. */
void scitt_h2__peer_key(const struct sockaddr_storage *sa, uint8_t key[16]);
/* scitt_h2__peer_add counts one more connection or registration (`what`)
 * for `key`: 0, SCITT_EFULL when it already has `limit`, or SCITT_ENOMEM. */
int scitt_h2__peer_add(scitt_frontend_t *fe, const uint8_t key[16], int what, size_t limit);
void scitt_h2__peer_sub(scitt_frontend_t *fe, const uint8_t key[16], int what);
void scitt_h2__peers_free(scitt_frontend_t *fe);

/* -- session.c -- */
/* scitt_h2__conn_new makes a connection object with its nghttp2 session and
 * server SETTINGS queued; the caller accepts the socket into `tcp` (when
 * `with_socket`) and links it. */
int scitt_h2__conn_new(scitt_frontend_t *fe, bool with_socket, scitt_h2_conn_t **out);
/* scitt_h2__conn_start begins reading a connection accepted into its tcp. */
int scitt_h2__conn_start(scitt_h2_conn_t *c);
/* scitt_h2__conn_recv feeds bytes from the peer (already decrypted). */
int scitt_h2__conn_recv(scitt_h2_conn_t *c, const uint8_t *data, size_t len);
/* scitt_h2__conn_flush hands every frame nghttp2 has to the socket (within
 * the soft write limit) and closes the connection when it is finished. */
void scitt_h2__conn_flush(scitt_h2_conn_t *c);
/* scitt_h2__conn_close closes at once (uv_close; freed in its callback). */
void scitt_h2__conn_close(scitt_h2_conn_t *c);
/* scitt_h2__conn_free frees a connection that has no socket (fuzzing). */
void scitt_h2__conn_free(scitt_h2_conn_t *c);
/* scitt_h2__conn_keep_body takes a closing stream's response body when the
 * next write still points into it (true: the connection frees it later). */
bool scitt_h2__conn_keep_body(scitt_h2_conn_t *c, scitt_buf_t *body);
/* scitt_h2__conn_goaway starts a graceful close. */
void scitt_h2__conn_goaway(scitt_h2_conn_t *c);
/* scitt_h2__conn_queued adds (or with `add` false, removes) `n` bytes of
 * queued output of `c` to the connection's and the front end's count. */
void scitt_h2__conn_queued(scitt_h2_conn_t *c, size_t n, bool add);
/* scitt_h2__shed_stalled closes stalled connections, largest output first,
 * until `want` more bytes fit in max_response_bytes: true when they do. */
bool scitt_h2__shed_stalled(scitt_frontend_t *fe, size_t want);
/* scitt_h2__conn_sweep applies the idle and slow-client timeouts. */
void scitt_h2__conn_sweep(scitt_h2_conn_t *c, uint64_t now);
int scitt_h2__session_callbacks(nghttp2_session_callbacks **out);
/* scitt_h2__conn_put adds `len` bytes of plaintext to the next write,
 * copied, or for a large slice of a stream's response body (`body`) in
 * place when cleartext (scitt_h2__conn_keep_body keeps the body while the
 * write points into it). */
int scitt_h2__conn_put(scitt_h2_conn_t *c, const uint8_t *data, size_t len, bool body);
/* scitt_h2__conn_close_after_write closes once the queued output is written. */
void scitt_h2__conn_close_after_write(scitt_h2_conn_t *c);

/* -- stream.c -- */
/* scitt_h2__stream_spares_free frees the streams and bodies kept for reuse. */
void scitt_h2__stream_spares_free(scitt_frontend_t *fe);
/* scitt_h2__body_release frees a response body, or keeps it for reuse when
 * it has a tile's size; `b` is left empty. */
void scitt_h2__body_release(scitt_frontend_t *fe, scitt_buf_t *b);
scitt_h2_stream_t *scitt_h2__stream_new(scitt_h2_conn_t *c, int32_t id);
/* scitt_h2__stream_free detaches a reg or job and frees the stream. */
void scitt_h2__stream_free(scitt_h2_stream_t *s);
/* scitt_h2__stream_header takes one request header field, or with `value`
 * NULL only counts one trailer field of `value_len` bytes; it returns
 * NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE for a list far over the limit. */
int scitt_h2__stream_header(scitt_h2_stream_t *s, const uint8_t *name, size_t name_len, const uint8_t *value,
                            size_t value_len);
int scitt_h2__stream_data(scitt_h2_stream_t *s, const uint8_t *data, size_t len);
void scitt_h2__stream_headers_done(scitt_h2_stream_t *s);
void scitt_h2__stream_request_done(scitt_h2_stream_t *s);

/* A header to add to a response. */
typedef struct scitt_h2_hdr {
    const char *name;
    const char *value;
} scitt_h2_hdr_t;

/* scitt_h2__respond submits a response whose body is `body` (taken: the
 * stream owns it afterwards; NULL means no body). Never flushes: callers
 * are inside nghttp2 callbacks or flush afterwards. */
void scitt_h2__respond(scitt_h2_stream_t *s, int status, const char *content_type, scitt_buf_t *body,
                       const scitt_h2_hdr_t *hdrs, size_t num_hdrs);
/* scitt_h2__stream_take_data returns the next `len` bytes of the response
 * body of `s` for a DATA frame nghttp2 did not copy (they stay valid until
 * the stream is freed) and counts them as sent. */
const uint8_t *scitt_h2__stream_take_data(scitt_h2_stream_t *s, size_t len);

/* scitt_h2__output_room reports whether a response of `len` bytes may be
 * queued: past --max-response-bytes a large one waits (stalled connections
 * are closed to make room, else the client is told to retry, see
 * scitt_h2__respond_no_room). scitt_h2__respond checks it; a route may ask
 * first to spare the work of building the body. */
bool scitt_h2__output_room(scitt_frontend_t *fe, size_t len);
/* scitt_h2__date is the current time as an IMF-fixdate ("Sun, 06 Nov 1994
 * 08:49:37 GMT"), the value of every response's Date field; it is
 * formatted at most once per second of the wall clock. */
const char *scitt_h2__date(scitt_frontend_t *fe);
void scitt_h2__respond_no_room(scitt_h2_stream_t *s);
/* scitt_h2__respond_bytes copies `len` bytes into the response. */
void scitt_h2__respond_bytes(scitt_h2_stream_t *s, int status, const char *content_type, const void *data, size_t len,
                             const scitt_h2_hdr_t *hdrs, size_t num_hdrs);
/* scitt_h2__respond_problem answers with a concise problem details body. */
void scitt_h2__respond_problem(scitt_h2_stream_t *s, int status, const char *title, const char *detail,
                               const scitt_h2_hdr_t *hdrs, size_t num_hdrs);

/* -- http1.c -- */
/* scitt_h1__start turns a connection HTTP/1.1 (its nghttp2 session is
 * deleted): 0 or SCITT_ENOMEM. */
int scitt_h1__start(scitt_h2_conn_t *c);
void scitt_h1__free(scitt_h1_t *h);
/* scitt_h1__recv parses bytes from the client; requests go to routes.c. */
void scitt_h1__recv(scitt_h2_conn_t *c, const uint8_t *data, size_t len);
/* scitt_h1__respond_head writes the status line and header section of the
 * response scitt_h2__respond is submitting. */
void scitt_h1__respond_head(scitt_h2_stream_t *s, int status, const char *content_type, const scitt_h2_hdr_t *hdrs,
                            size_t num_hdrs);
/* scitt_h1__produce puts the answered responses, in request order, into the
 * next write, and resumes reading pipelined requests held back. */
void scitt_h1__produce(scitt_h2_conn_t *c);
/* scitt_h1__want_read: the connection may read (fewer requests in flight
 * than the pipelining bound, and not closing). */
bool scitt_h1__want_read(const scitt_h2_conn_t *c);
/* scitt_h1__done: the connection has answered its last request. */
bool scitt_h1__done(const scitt_h2_conn_t *c);
/* scitt_h1__goaway stops reading requests; open ones are still answered. */
void scitt_h1__goaway(scitt_h2_conn_t *c);
/* scitt_h1__sweep applies the slow-request timeouts (408). */
void scitt_h1__sweep(scitt_h2_conn_t *c, uint64_t now);

/* -- routes.c -- */
/* scitt_h2__route answers a complete request (GETs at once; POST /entries
 * through register.c). */
void scitt_h2__route(scitt_h2_stream_t *s);
/* scitt_h2__route_early checks a request whose body is still coming: answers
 * 404/405/413/415 at once (then the body is discarded) and returns true. */
bool scitt_h2__route_early(scitt_h2_stream_t *s);
bool scitt_h2__accepts(const scitt_h2_stream_t *s, const char *media_type);
/* scitt_h2__respond_stored_error answers a failed read of stored data: 500,
 * and for SCITT_EDAMAGED (a statement that no longer matches its entry
 * hash) a problem naming it, counted in scittd_damaged_reads_total;
 * SCITT_EUNAVAIL (the store cannot be reached now) is 503 with Retry-After,
 * counted in scittd_unavailable_reads_total. */
void scitt_h2__respond_stored_error(scitt_h2_stream_t *s, int rc);

/* -- admit.c -- */
/* scitt_h2__admit_post checks the credentials and the rate of a POST
 * /entries once (later calls return true): false when it answered 401, 403
 * or 429. scitt_h2__admit_pending takes a token for a poll that would
 * answer 204: false when it answered 429 instead. */
bool scitt_h2__admit_post(scitt_h2_stream_t *s);
bool scitt_h2__admit_pending(scitt_h2_stream_t *s);
int scitt_h2__admit_metrics(const scitt_frontend_t *fe, scitt_buf_t *b);

/* -- register.c -- */
void scitt_h2__register(scitt_h2_stream_t *s);
/* scitt_h2__reg_detach: the stream no longer waits (closed or answered). */
void scitt_h2__reg_detach(scitt_h2_reg_t *r);
void scitt_h2__reg_drain(scitt_frontend_t *fe);
void scitt_h2__reg_timer_cb(uv_timer_t *t);
void scitt_h2__async_cb(uv_async_t *a);

/* -- job.c -- */
/* scitt_h2_job_t is the base of a GET offloaded to the reader pool
 * (`super` of each kind; freed with free() after `answer`). */
struct scitt_h2_job {
    scitt_log_job_t task;
    uv_work_t work;         /* instead of `task` without a log reader (a service) */
    scitt_h2_job_t *q_next; /* fe's list of finished jobs */
    int status;             /* 0, or SCITT_ESHUTDOWN when cancelled before it ran */
    scitt_frontend_t *fe;
    scitt_h2_stream_t *stream; /* NULL once the stream closed */
    /* run: on a pool thread, sets rc and body; touches no stream and no
     * loop state (fe->cfg, the reader and the pipeline's thread-safe
     * calls only). */
    void (*run)(scitt_h2_job_t *j);
    /* answer: on the loop, only while the stream is open; `rc` is the job's
     * or SCITT_ESHUTDOWN when the pool cancelled it. May take `body`. */
    void (*answer)(scitt_h2_job_t *j, scitt_h2_stream_t *s, int rc);
    /* cleanup (may be NULL): on the loop, last, whether answered or not. */
    void (*cleanup)(scitt_h2_job_t *j);
    int rc;
    scitt_buf_t body;
    size_t reserved; /* bytes of fe->job_bytes it holds, given back before `answer` */
};
/* At most this many offloaded GETs are queued or running at once, across
 * connections; past it they answer 503 + Retry-After. */
#define SCITT_H2_MAX_JOBS 256
/* scitt_h2__job_start queues `j` (calloc'd, run and answer set) for `s`:
 * 0, or SCITT_EFULL / a libuv error and the caller still owns `j`. */
int scitt_h2__job_start(scitt_h2_stream_t *s, scitt_h2_job_t *j);
void scitt_h2__job_detach(scitt_h2_job_t *j);
/* scitt_h2__job_async_cb answers the jobs the pool finished. */
void scitt_h2__job_async_cb(uv_async_t *a);
/* scitt_h2__job_new allocates a job of `size` bytes (its kind's struct,
 * `super` first) with `run` and `answer` set; NULL when out of memory.
 * scitt_h2__job_submit starts it for `s`, or answers 503 + Retry-After
 * (256 jobs already, or the pool refused) and frees it. */
void *scitt_h2__job_new(size_t size, void (*run)(scitt_h2_job_t *j),
                        void (*answer)(scitt_h2_job_t *j, scitt_h2_stream_t *s, int rc));
void scitt_h2__job_submit(scitt_h2_stream_t *s, scitt_h2_job_t *j);
/* scitt_h2__respond_busy answers 503 + Retry-After: a job could not be
 * queued, or the pool dropped it at shutdown (SCITT_ESHUTDOWN). */
void scitt_h2__respond_busy(scitt_h2_stream_t *s);

/* -- service.c -- */
/* scitt_h2__service_early answers 413 for a body announced larger than
 * max_statement_bytes (true), else false; scitt_h2__service hands a
 * complete request to cfg.service on the pool. */
bool scitt_h2__service_early(scitt_h2_stream_t *s);
void scitt_h2__service(scitt_h2_stream_t *s);

/* -- tiles.c -- */
void scitt_h2__get_tile(scitt_h2_stream_t *s, const char *path, size_t len);

/* -- audit.c -- */
/* scitt_h2__get_audit answers GET /entries?QUERY (issue 10); `qs` is the
 * query string after the '?' (`len` bytes, may be empty). */
void scitt_h2__get_audit(scitt_h2_stream_t *s, const char *qs, size_t len);

/* -- metrics.c -- */
void scitt_h2__hist_init(scitt_h2_hist_t *h, const double *bounds, size_t num_bounds);
void scitt_h2__hist_observe(scitt_h2_hist_t *h, double v);
void scitt_h2__metrics_init(scitt_h2_metrics_t *m);
/* scitt_h2__metrics_sample folds the pipeline's last batch into the
 * histograms when a new batch committed since the last sample. */
void scitt_h2__metrics_sample(scitt_frontend_t *fe);
int scitt_h2__metrics_render(scitt_frontend_t *fe, scitt_buf_t *out);

#endif /* SCITT_SRC_FRONTEND_INTERNAL_H */
