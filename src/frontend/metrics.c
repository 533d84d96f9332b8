/*
 * metrics.c: /metrics in the Prometheus text format (version 0.0.4).
 *
 * Counters and histograms live on the loop thread and need no locks. The
 * pipeline publishes only gauges (scitt_seq_stats: the last batch's size and
 * commit time), so the batch histograms are sampled whenever completions
 * arrive, i.e. right after each commit; batches that commit between two
 * samples are counted in scittd_batches_total but not in the histograms.
 */
#include <stdio.h>

#include "internal.h"

void scitt_h2__hist_init(scitt_h2_hist_t *h, const double *bounds, size_t num_bounds)
{
    memset(h, 0, sizeof(*h));
    h->num_bounds = num_bounds < SCITT_H2_HIST_MAX ? num_bounds : SCITT_H2_HIST_MAX;
    memcpy(h->bounds, bounds, h->num_bounds * sizeof(double));
}

void scitt_h2__hist_observe(scitt_h2_hist_t *h, double v)
{
    size_t i = 0;
    while (i < h->num_bounds && v > h->bounds[i]) {
        i++;
    }
    h->counts[i]++;
    h->sum += v;
    h->total++;
}

void scitt_h2__metrics_init(scitt_h2_metrics_t *m)
{
    static const double secs[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    static const double sizes[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
    memset(m, 0, sizeof(*m));
    scitt_h2__hist_init(&m->e2e_seconds, secs, scitt_countof(secs));
    scitt_h2__hist_init(&m->commit_seconds, secs, scitt_countof(secs));
    scitt_h2__hist_init(&m->batch_size, sizes, scitt_countof(sizes));
}

void scitt_h2__metrics_sample(scitt_frontend_t *fe)
{
    if (fe->cfg.seq == NULL) {
        return;
    }
    scitt_seq_stats_t st;
    scitt_seq_stats(fe->cfg.seq, &st);
    if (st.batches != fe->metrics.last_batches) {
        fe->metrics.last_batches = st.batches;
        scitt_h2__hist_observe(&fe->metrics.commit_seconds, st.last_commit_seconds);
        scitt_h2__hist_observe(&fe->metrics.batch_size, (double)st.last_batch_size);
    }
}

static int hist(scitt_buf_t *b, const char *name, const char *help, const scitt_h2_hist_t *h)
{
    int rc = scitt_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (size_t i = 0; rc == 0 && i < h->num_bounds; i++) {
        cum += h->counts[i];
        rc = scitt_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
    }
    if (rc == 0) {
        rc = scitt_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
                              (unsigned long long)h->total, name, h->sum, name, (unsigned long long)h->total);
    }
    return rc;
}

/* counters renders a counter family with one label: name{label="names[i]"} values[i]. */
static int counters(scitt_buf_t *b, const char *name, const char *help, const char *label, const char *const *names,
                    const uint64_t *values, size_t n)
{
    int rc = scitt_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = scitt_buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, names[i], (unsigned long long)values[i]);
    }
    return rc;
}

/* store_metrics: the store's failures as the sequencer and the reads met them. */
static int store_metrics(const scitt_frontend_t *fe, const scitt_seq_stats_t *st, scitt_buf_t *b)
{
    static const char *const causes[SCITT_SEQ_FAIL_NUM] = {"unavailable", "conflict", "no_space", "in_doubt", "other"};
    static const char *const outcomes[] = {"committed", "rolled_back", "given_up"};
    const uint64_t settled[] = {st->in_doubt_committed, st->in_doubt_rolled_back, st->in_doubt_given_up};
    int rc = counters(b, "scittd_commit_failures_total", "Batch commits that failed, by cause.", "cause", causes,
                      st->commit_failures, SCITT_SEQ_FAIL_NUM);
    if (rc == 0) {
        rc = counters(b, "scittd_in_doubt_resolutions_total", "Commits in doubt by how they were settled.", "outcome",
                      outcomes, settled, scitt_countof(outcomes));
    }
    if (rc == 0) {
        rc = scitt_buf_printf(b,
                              "# HELP scittd_in_doubt 1 while a batch waits for its commit's outcome.\n"
                              "# TYPE scittd_in_doubt gauge\nscittd_in_doubt %d\n"
                              "# HELP scittd_unavailable_reads_total Reads answered 503 because the store could not "
                              "be reached.\n"
                              "# TYPE scittd_unavailable_reads_total counter\nscittd_unavailable_reads_total %llu\n",
                              st->in_doubt ? 1 : 0, (unsigned long long)fe->metrics.unavailable_reads);
    }
    return rc;
}

/* cluster_metrics: the sequencer lease and the hand-off queue of a shared
 * store (several processes, one log). The queue's depth is named
 * scittd_handoff_queue_depth: scittd_queue_depth is the pipeline's. */
static int cluster_metrics(const scitt_seq_stats_t *st, scitt_buf_t *b)
{
    return scitt_buf_printf(b,
                            "# HELP scittd_sequencer 1 while this process holds the sequencer lease.\n"
                            "# TYPE scittd_sequencer gauge\nscittd_sequencer %d\n"
                            "# HELP scittd_writer_epoch The writer epoch of the lease this process last held.\n"
                            "# TYPE scittd_writer_epoch gauge\nscittd_writer_epoch %llu\n"
                            "# HELP scittd_lease_takeovers_total Times this process took the sequencer lease.\n"
                            "# TYPE scittd_lease_takeovers_total counter\nscittd_lease_takeovers_total %llu\n"
                            "# HELP scittd_queue_put_total Statements this process queued for the sequencer.\n"
                            "# TYPE scittd_queue_put_total counter\nscittd_queue_put_total %llu\n"
                            "# HELP scittd_direct_commit_total Statements of this process the lease holder committed "
                            "directly, without queueing them.\n"
                            "# TYPE scittd_direct_commit_total counter\nscittd_direct_commit_total %llu\n"
                            "# HELP scittd_handoff_queue_depth Queued statements the lease holder's last take "
                            "returned.\n"
                            "# TYPE scittd_handoff_queue_depth gauge\nscittd_handoff_queue_depth %llu\n",
                            st->sequencer ? 1 : 0, (unsigned long long)st->writer_epoch,
                            (unsigned long long)st->lease_takeovers, (unsigned long long)st->queue_puts,
                            (unsigned long long)st->direct_commits, (unsigned long long)st->handoff_depth);
}

int scitt_h2__metrics_render(scitt_frontend_t *fe, scitt_buf_t *b)
{
    static const char *const results[SCITT_H2_REG_NUM] = {"created",   "duplicate",   "accepted", "rejected",
                                                          "too_large", "unsupported", "full",     "error"};
    const scitt_h2_metrics_t *m = &fe->metrics;
    scitt_seq_stats_t st = {0};
    if (fe->cfg.seq != NULL) {
        scitt_seq_stats(fe->cfg.seq, &st);
    }
    int rc = counters(b, "scittd_registrations_total", "POST /entries answers by result.", "result", results,
                      m->registrations, SCITT_H2_REG_NUM);
    if (rc == 0) {
        rc = scitt_buf_printf(
            b,
            "# HELP scittd_responses_total HTTP responses by status class.\n"
            "# TYPE scittd_responses_total counter\n"
            "scittd_responses_total{class=\"2xx\"} %llu\nscittd_responses_total{class=\"4xx\"} %llu\n"
            "scittd_responses_total{class=\"5xx\"} %llu\n"
            "# HELP scittd_queue_depth Statements accepted by the pipeline and not yet answered.\n"
            "# TYPE scittd_queue_depth gauge\nscittd_queue_depth %zu\n"
            "# HELP scittd_waiting_requests POST requests waiting for their commit.\n"
            "# TYPE scittd_waiting_requests gauge\nscittd_waiting_requests %zu\n"
            "# HELP scittd_tree_size Leaves in the log.\n# TYPE scittd_tree_size gauge\nscittd_tree_size %llu\n"
            "# HELP scittd_batches_total Batches committed.\n# TYPE scittd_batches_total counter\n"
            "scittd_batches_total %llu\n"
            "# HELP scittd_last_batch_size Entries in the last batch.\n# TYPE scittd_last_batch_size gauge\n"
            "scittd_last_batch_size %llu\n"
            "# HELP scittd_connections Open client connections.\n# TYPE scittd_connections gauge\n"
            "scittd_connections %zu\n"
            "# HELP scittd_connections_total Connections accepted.\n# TYPE scittd_connections_total counter\n"
            "scittd_connections_total %llu\n"
            "# HELP scittd_connections_refused_total Connections closed at once over --max-connections.\n"
            "# TYPE scittd_connections_refused_total counter\nscittd_connections_refused_total %llu\n"
            "# HELP scittd_request_body_bytes Request body bytes buffered.\n"
            "# TYPE scittd_request_body_bytes gauge\nscittd_request_body_bytes %zu\n",
            (unsigned long long)m->responses_2xx, (unsigned long long)m->responses_4xx,
            (unsigned long long)m->responses_5xx, st.pending, fe->num_waiting_regs, (unsigned long long)st.tree_size,
            (unsigned long long)st.batches, (unsigned long long)st.last_batch_size, fe->num_conns,
            (unsigned long long)m->connections_total, (unsigned long long)m->connections_refused, fe->body_bytes);
    }
    if (rc == 0) {
        static const char *const protocols[] = {"h2", "http/1.1"};
        rc = counters(b, "scittd_http_requests_total", "Requests begun, by protocol.", "protocol", protocols,
                      m->requests + SCITT_PROTO_H2, 2);
    }
    if (rc == 0) {
        rc = hist(b, "scittd_registration_seconds",
                  "POST /entries from complete body to its answer (201 or rejection).", &m->e2e_seconds);
    }
    if (rc == 0) {
        rc = hist(b, "scittd_commit_seconds", "Batch commit (LMDB write + fsync) time, sampled per completion wake-up.",
                  &m->commit_seconds);
    }
    if (rc == 0) {
        rc = hist(b, "scittd_batch_size", "Entries per committed batch, sampled per completion wake-up.",
                  &m->batch_size);
    }
    if (rc == 0) {
        rc = scitt_buf_printf(b,
                              "# HELP scittd_tile_cache_bytes Bytes of hashed full tiles kept for receipts.\n"
                              "# TYPE scittd_tile_cache_bytes gauge\nscittd_tile_cache_bytes %zu\n"
                              "# HELP scittd_tile_cache_lookups_total Tile cache lookups by result.\n"
                              "# TYPE scittd_tile_cache_lookups_total counter\n"
                              "scittd_tile_cache_lookups_total{result=\"hit\"} %llu\n"
                              "scittd_tile_cache_lookups_total{result=\"miss\"} %llu\n",
                              st.tile_cache_bytes, (unsigned long long)st.tile_cache_hits,
                              (unsigned long long)st.tile_cache_misses);
    }
    if (rc == 0) {
        rc = scitt_buf_printf(b,
                              "# HELP scittd_x5chain_cache_lookups_total Validated x5chain chain cache lookups by "
                              "result (a miss validates the chain).\n"
                              "# TYPE scittd_x5chain_cache_lookups_total counter\n"
                              "scittd_x5chain_cache_lookups_total{result=\"hit\"} %llu\n"
                              "scittd_x5chain_cache_lookups_total{result=\"miss\"} %llu\n",
                              (unsigned long long)st.x5chain_cache_hits, (unsigned long long)st.x5chain_cache_misses);
    }
    if (rc == 0) {
        rc = scitt_buf_printf(b,
                              "# HELP scittd_damaged_reads_total Statements not served (500) because they no "
                              "longer match their entry hash.\n"
                              "# TYPE scittd_damaged_reads_total counter\nscittd_damaged_reads_total %llu\n"
                              "# HELP scittd_connections_failed_total Connections closed at once because setting "
                              "them up failed (out of memory, TLS state).\n"
                              "# TYPE scittd_connections_failed_total counter\nscittd_connections_failed_total %llu\n"
                              "# HELP scittd_response_queued_bytes Response bytes queued for clients.\n"
                              "# TYPE scittd_response_queued_bytes gauge\nscittd_response_queued_bytes %zu\n"
                              "# HELP scittd_responses_shed_total Large responses answered 503 over "
                              "--max-response-bytes.\n"
                              "# TYPE scittd_responses_shed_total counter\nscittd_responses_shed_total %llu\n"
                              "# HELP scittd_stalled_closed_total Connections closed for output they did not read.\n"
                              "# TYPE scittd_stalled_closed_total counter\nscittd_stalled_closed_total %llu\n",
                              (unsigned long long)m->damaged_reads, (unsigned long long)m->connections_failed,
                              fe->resp_bytes, (unsigned long long)m->responses_shed,
                              (unsigned long long)m->stalled_closed);
    }
    if (rc == 0) {
        rc = store_metrics(fe, &st, b);
    }
    if (rc == 0) {
        rc = scitt_h2__admit_metrics(fe, b);
    }
    if (rc == 0 && fe->cfg.extra_metrics != NULL) {
        rc = fe->cfg.extra_metrics(fe->cfg.extra_metrics_ctx, b);
    }
    if (rc == 0 && st.shared) {
        rc = cluster_metrics(&st, b);
    }
    return rc;
}
