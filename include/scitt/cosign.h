/*
 * cosign.h: the checkpoint publisher with witnesses (issue 21): scittd's
 * side of C2SP tlog-witness.
 *
 * Commits keep signing one checkpoint per batch (the roots receipts carry);
 * this publisher decides which of them /checkpoint serves. On a thread of
 * its own it takes the log reader's latest committed checkpoint at most
 * once per interval (at once when the previous round is older than that:
 * a commit to an idle log is published without waiting), sends it to every
 * witness with C2SP `add-checkpoint` (`old N`, the consistency proof from
 * the size the witness last cosigned, an empty line, the checkpoint), all
 * witnesses at once through the HTTP client (src/client, its own libuv
 * loop on this thread), each call bounded by a timeout, and then publishes
 * the checkpoint with the cosignatures that verified with their witness's
 * key (scitt_log_publish): that is what /checkpoint serves, short of the
 * threshold or not (a gauge says so).
 *
 * Answers: 200, the cosignature lines (kept only when one verifies with
 * the witness's vkey over exactly this checkpoint); 409 with
 * `text/x.tlog.size`, the size the witness holds: adopted, and the request
 * retried once with a proof from it; 403, 404, 400 and 422 are alerts (the
 * witness does not know this log or its key, or refuses its history): a
 * log line when a witness starts answering so, and a counter. Anything
 * else (a timeout, a refused connection, 5xx) is a failure, counted.
 *
 * Nothing here runs on the io loop or the sequencer thread: the sequencer
 * only wakes this thread through the reader's advance hook.
 *
 * Cluster (several scittd on one PostgreSQL log): every instance runs its
 * own publisher over the heads its reader sees and serves what its own
 * witnesses' rounds gave it (docs/DECISIONS.md, "Witnesses").
 */
#ifndef SCITT_COSIGN_H
#define SCITT_COSIGN_H

#include <stdint.h>

#include "scitt/core.h"
#include "scitt/log.h"
#include "scitt/store.h"

typedef struct scitt_cosign scitt_cosign_t;

#define SCITT_COSIGN_DEFAULT_INTERVAL_MS 1000
#define SCITT_COSIGN_DEFAULT_TIMEOUT_MS  5000
#define SCITT_COSIGN_MAX_WITNESSES       32

struct scitt_tls_ctx;

typedef struct scitt_cosign_config {
    scitt_store_t *store;         /* read only: consistency proofs */
    scitt_log_reader_t *log;      /* the heads; publishes into it */
    const char *const *witnesses; /* "VKEY@URL" each: a cosignature vkey line, '@', the submission prefix */
    size_t num_witnesses;         /* 1..SCITT_COSIGN_MAX_WITNESSES */
    unsigned threshold;           /* K; 0: every witness */
    uint64_t interval_ms;         /* 0: the default */
    uint64_t timeout_ms;          /* each add-checkpoint call; 0: the default */
    struct scitt_tls_ctx *tls;    /* https witnesses' trust anchors; NULL: the system CAs */
    int log_level;                /* scitt/config.h's levels: info logs each witness's first cosignature */
    /* cosigned, when not NULL, gets each checkpoint published with its
     * cosignatures (from the publisher's thread; e.g. scitt_publish_cosigned). */
    void (*cosigned)(void *ctx, uint64_t size, scitt_span_t note);
    void *cosigned_ctx;
} scitt_cosign_config_t;

/* scitt_cosign_new checks the configuration (every witness line parses,
 * no witness twice, 1 <= K <= witnesses): nonzero with the reason in `msg`
 * otherwise. Starts nothing. */
int scitt_cosign_new(scitt_cosign_t **out, const scitt_cosign_config_t *cfg, char *msg, size_t cap);

/* scitt_cosign_start switches the reader to serving published checkpoints
 * (scitt_log_publishing), starts the thread and listens to the reader's
 * advance. Call before serving. */
int scitt_cosign_start(scitt_cosign_t *c);

/* scitt_cosign_free stops listening, lets the round in progress end
 * (bounded by the timeout), joins the thread and frees; NULL: no-op. */
void scitt_cosign_free(scitt_cosign_t *c);

/* scitt_cosign_metrics appends the Prometheus lines (a front end's extra
 * metrics hook, `ctx` the publisher): scittd_checkpoint_published_size,
 * scittd_checkpoint_cosignatures, scittd_checkpoint_witness_threshold,
 * scittd_checkpoint_short, scittd_checkpoint_rounds_total, and per witness
 * scittd_witness_cosigned_size, scittd_witness_cosignatures_total,
 * scittd_witness_conflicts_total, scittd_witness_alerts_total{status},
 * scittd_witness_failures_total, scittd_witness_bad_cosignatures_total. */
int scitt_cosign_metrics(void *ctx, scitt_buf_t *out);

#endif /* SCITT_COSIGN_H */
