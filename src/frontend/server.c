/*
 * server.c: the front end as a whole: listener, connection accounting,
 * the 1-second sweep (idle and slow-client timeouts), the completion queue
 * handles, published keys, and an orderly shutdown.
 *
 * Shutdown (SIGTERM/SIGINT, driven by main.c): stop_accepting closes the
 * listener and turns new POSTs into 503; main stops the pipeline, which
 * answers everything submitted; shutdown then answers those completions,
 * sends GOAWAY everywhere, waits for connections to finish (at most
 * SCITT_H2_SHUTDOWN_GRACE_MS), closes its own handles and reports done.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "scitt/cose.h"
#include "scitt/merkle.h"
#include "scitt/note.h"

void scitt_h2__log(const scitt_frontend_t *fe, int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > fe->cfg.log_level) {
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "scittd: %s: %s\n", names[level], line);
}

void scitt_h2__conn_count_closed(scitt_frontend_t *fe)
{
    fe->num_conns--;
    scitt_h2__maybe_finish(fe);
}

static void on_refused(uv_handle_t *h);

/* refuse takes the connection libuv holds for us into `fe->refuse` and
 * closes it at once. A connection callback that returns without uv_accept
 * makes libuv stop polling the listener for good, so a connection we cannot
 * set up (out of memory, TLS state) must still be accepted. While `refuse`
 * is closing, the connection waits in libuv (which pauses the listener
 * meanwhile) and on_refused takes it. */
static void refuse(scitt_frontend_t *fe)
{
    if (uv_is_closing((uv_handle_t *)&fe->refuse)) {
        fe->refuse_waiting = true;
        return;
    }
    uv_accept((uv_stream_t *)&fe->listener, (uv_stream_t *)&fe->refuse); /* closes the socket itself on failure */
    uv_close((uv_handle_t *)&fe->refuse, on_refused);
}

static void on_own_close(uv_handle_t *h);

static void on_refused(uv_handle_t *h)
{
    scitt_frontend_t *fe = h->data;
    if (!fe->listening) {
        on_own_close(h); /* stop_accepting left it to us */
        return;
    }
    uv_tcp_init(fe->loop, &fe->refuse); /* cannot fail without a socket */
    fe->refuse.data = fe;
    if (fe->refuse_waiting) {
        fe->refuse_waiting = false;
        refuse(fe);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    scitt_frontend_t *fe = scitt_container_of((uv_tcp_t *)server, scitt_frontend_t, listener);
    if (status != 0) {
        scitt_h2__log(fe, SCITT_LOG_WARN, "accept: %s", uv_strerror(status));
        return;
    }
    scitt_h2_conn_t *c;
    if (scitt_h2__conn_new(fe, true, &c) != 0) {
        scitt_h2__log(fe, SCITT_LOG_WARN, "accept: cannot set up a connection (out of memory or TLS state); closed it");
        fe->metrics.connections_failed++;
        refuse(fe);
        return;
    }
    fe->num_conns++;
    scitt_h2__list_push(&fe->conns, &c->node);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        scitt_h2__conn_close(c);
        return;
    }
    /* Over the limit: accept and close at once, so the kernel backlog
     * never fills with connections we will not serve. */
    if (fe->num_conns > fe->cfg.max_connections || fe->draining) {
        fe->metrics.connections_refused++;
        scitt_h2__conn_close(c);
        return;
    }
    /* Nor may one client address take them all. */
    struct sockaddr_storage peer;
    int len = sizeof(peer);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &len) == 0) {
        scitt_h2__peer_key(&peer, c->peer);
        if (scitt_h2__peer_add(fe, c->peer, SCITT_H2_PEER_CONNS, fe->cfg.max_connections_per_address) != 0) {
            fe->metrics.connections_refused++;
            scitt_h2__conn_close(c);
            return;
        }
        c->has_peer = true;
    }
    fe->metrics.connections_total++;
    if (scitt_h2__conn_start(c) != 0) {
        scitt_h2__conn_close(c);
    }
}

static void on_sweep(uv_timer_t *t)
{
    scitt_frontend_t *fe = scitt_container_of(t, scitt_frontend_t, sweep);
    uint64_t now = uv_now(fe->loop);
    for (scitt_h2_link_t *l = fe->conns.next, *next; l != &fe->conns; l = next) {
        next = l->next; /* the sweep may close (unlink) this connection */
        scitt_h2__conn_sweep(scitt_container_of(l, scitt_h2_conn_t, node), now);
    }
    /* Output over the budget: stalled connections go, so what they hold
     * is freed even when no new response asks for room. */
    if (fe->resp_bytes > fe->cfg.max_response_bytes) {
        scitt_h2__shed_stalled(fe, 0);
    }
}

static int publish_keys(scitt_frontend_t *fe, const char **out_err_desc)
{
    const scitt_seq_keys_t *k = fe->cfg.keys;
    if (k == NULL) {
        /* A read-only mirror: the log's verifier key, no receipt keys, and
         * no checkpoint until it holds one. */
        int rc = fe->cfg.vkey_line == NULL ? SCITT_EINVAL : scitt_buf_append_str(&fe->vkey, fe->cfg.vkey_line);
        if (rc == 0 && (fe->vkey.len == 0 || fe->vkey.base[fe->vkey.len - 1] != '\n')) {
            rc = scitt_buf_append_byte(&fe->vkey, '\n');
        }
        if (rc != 0) {
            *out_err_desc = "a front end without keys needs the log's vkey line";
        }
        return rc;
    }
    /* SCRAPI: every receipt key ever used stays published, the active one
     * first (issue 21). */
    scitt_cose_keyinfo_t infos[1 + SCITT_SEQ_MAX_OLD_KEYS];
    infos[0] =
        (scitt_cose_keyinfo_t){k->receipt_key, scitt_span(k->receipt_kid, sizeof(k->receipt_kid)), SCITT_ALG_ES256};
    for (size_t i = 0; i < k->num_old_receipt; i++) {
        infos[1 + i] = (scitt_cose_keyinfo_t){k->old_receipt[i], scitt_span(k->old_receipt_kid[i], SCITT_SHA256_LEN),
                                              SCITT_ALG_ES256};
    }
    scitt_base64_encode(fe->kid_b64, k->receipt_kid, sizeof(k->receipt_kid), SCITT_B64_URL);
    int rc = scitt_cose_keyset_encode(&fe->keyset, infos, 1 + k->num_old_receipt);
    if (rc == 0) {
        rc = scitt_cose_key_encode(&fe->key, &infos[0]);
    }
    if (rc != 0) {
        *out_err_desc = "cannot encode the receipt key as a COSE_Key";
        return rc;
    }
    /* The checkpoint verifier keys (name = origin), one line each, the
     * active one first, and the size-0 checkpoint served until the first
     * batch commits. */
    scitt_note_verifier_t *vs = calloc(1 + SCITT_SEQ_MAX_OLD_KEYS, sizeof(*vs));
    size_t num_vs = 0;
    rc = vs == NULL ? SCITT_ENOMEM : scitt_seq_keys_verifiers(k, fe->cfg.origin, vs, &num_vs);
    if (rc != 0) {
        free(vs);
        *out_err_desc = "--origin is not a valid note key name (no spaces or '+')";
        return rc;
    }
    uint8_t empty[32];
    scitt_buf_t body;
    scitt_buf_init(&body, NULL, 0);
    scitt_merkle_empty_root(empty);
    for (size_t i = 0; rc == 0 && i < num_vs; i++) {
        rc = scitt_note_vkey(&fe->vkey, &vs[i]);
        if (rc == 0) {
            rc = scitt_buf_append_byte(&fe->vkey, '\n');
        }
    }
    if (rc == 0) {
        rc = scitt_checkpoint_body(&body, scitt_span_str(fe->cfg.origin), 0, empty);
    }
    if (rc == 0) {
        rc = scitt_note_sign(&fe->empty_checkpoint, scitt_buf_span(&body), &vs[0], k->checkpoint_key);
    }
    scitt_buf_cleanup(&body);
    for (size_t i = 0; i < num_vs; i++) {
        scitt_note_verifier_cleanup(&vs[i]);
    }
    free(vs);
    if (rc != 0) {
        *out_err_desc = "cannot sign the empty checkpoint";
    }
    return rc;
}

int scitt_frontend_set_keys(scitt_frontend_t *fe, const scitt_seq_keys_t *keys)
{
    const char *why = NULL;
    fe->cfg.keys = keys;
    scitt_buf_reset(&fe->keyset);
    scitt_buf_reset(&fe->key);
    scitt_buf_reset(&fe->vkey);
    scitt_buf_reset(&fe->empty_checkpoint);
    return publish_keys(fe, &why);
}

/* use_reader picks the log reader serving GETs: the configured one, the
 * pipeline's, or one of the front end's own over the store (a mirror). */
static int use_reader(scitt_frontend_t *fe, const char **why)
{
    const scitt_frontend_config_t *cfg = &fe->cfg;
    fe->log = cfg->log != NULL ? cfg->log : cfg->seq != NULL ? scitt_seq_log(cfg->seq) : NULL;
    if (fe->log == NULL && cfg->service == NULL) { /* a service's jobs run on libuv's pool (job.c) */
        scitt_log_config_t lcfg = {.store = cfg->store,
                                   .receipt_kid = cfg->keys != NULL ? cfg->keys->first_receipt_kid : NULL,
                                   .origin = cfg->origin};
        int rc = scitt_log_new(&fe->own_log, &lcfg);
        if (rc != 0) {
            *why = "cannot make the log reader";
            return rc;
        }
        fe->log = fe->own_log;
    }
    if (cfg->reads_in_pool && fe->log != NULL) {
        scitt_log__force_pool(fe->log, true);
    }
    return 0;
}

static int make_options(scitt_frontend_t *fe)
{
    if (nghttp2_option_new(&fe->options) != 0) {
        return SCITT_ENOMEM;
    }
    nghttp2_option *o = fe->options;
    /* Rapid reset (CVE-2023-44487): a token bucket on incoming RST_STREAM;
     * past it nghttp2 sends GOAWAY and the connection ends. */
    nghttp2_option_set_stream_reset_rate_limit(o, 2 * (uint64_t)fe->cfg.max_streams + 100, 33);
    /* CONTINUATION flood (CVE-2024-27316 family): at most 8 CONTINUATION
     * frames per header block; our header list limit is checked as the
     * fields arrive. */
    nghttp2_option_set_max_continuations(o, 8);
    /* SETTINGS and PING floods: entries per SETTINGS frame, and ACKs owed
     * to a peer that does not read them. */
    nghttp2_option_set_max_settings(o, 32);
    nghttp2_option_set_max_outbound_ack(o, 1000);
    /* Forget closed streams: no RFC 7540 priority tree to keep. */
    nghttp2_option_set_no_closed_streams(o, 1);
    return 0;
}

int scitt_frontend_new(scitt_frontend_t **out, uv_loop_t *loop, const scitt_frontend_config_t *cfg,
                       const char **out_err_desc)
{
    const char *why = "out of memory";
    scitt_frontend_t *fe = calloc(1, sizeof(*fe));
    if (fe == NULL) {
        *out_err_desc = why;
        return SCITT_ENOMEM;
    }
    fe->loop = loop;
    fe->cfg = *cfg;
    if (fe->cfg.max_streams_total == 0) {
        fe->cfg.max_streams_total = 32768;
    }
    if (fe->cfg.conn_mem == NULL) {
        fe->cfg.conn_mem = scitt_mem_default();
    }
    if (fe->cfg.max_connections_per_address == 0) {
        fe->cfg.max_connections_per_address = fe->cfg.max_connections;
    }
    if (fe->cfg.max_pending_per_address == 0) {
        fe->cfg.max_pending_per_address = SIZE_MAX;
    }
    if (fe->cfg.max_response_bytes == 0) {
        fe->cfg.max_response_bytes = (size_t)128 << 20;
    }
    scitt_h2__list_init(&fe->conns);
    scitt_h2__list_init(&fe->waiting);
    scitt_h2__list_init(&fe->spare_streams);
    scitt_buf_init(&fe->keyset, NULL, 0);
    scitt_buf_init(&fe->tls_out, NULL, 0);
    scitt_buf_init(&fe->key, NULL, 0);
    scitt_buf_init(&fe->vkey, NULL, 0);
    scitt_buf_init(&fe->empty_checkpoint, NULL, 0);
    scitt_h2__metrics_init(&fe->metrics);
    int rc = publish_keys(fe, &why);
    if (rc == 0 && (scitt_h2__session_callbacks(&fe->callbacks) != 0 || make_options(fe) != 0)) {
        rc = SCITT_ENOMEM;
        why = "out of memory";
    }
    if (rc == 0) {
        rc = use_reader(fe, &why);
    }
    if (rc == 0 && fe->cfg.post_rate > 0) {
        uint64_t seed = 0;
        uv_random(NULL, NULL, &seed, sizeof(seed), 0, NULL);
        rc = scitt_rl_new(&fe->rl, fe->cfg.post_rate, fe->cfg.post_burst, SCITT_RL_SLOTS, seed);
        why = rc == SCITT_EINVAL ? "--post-rate and --post-burst take 1..1000000" : "out of memory";
    }
    if (rc == 0 && uv_mutex_init(&fe->q_mutex) != 0) {
        rc = SCITT_ENOMEM;
        why = "cannot create a mutex";
    }
    if (rc == 0 && uv_mutex_init(&fe->j_mutex) != 0) {
        uv_mutex_destroy(&fe->q_mutex);
        rc = SCITT_ENOMEM;
        why = "cannot create a mutex";
    }
    if (rc != 0) {
        scitt_rl_free(fe->rl);
        scitt_log_free(fe->own_log);
        *out_err_desc = why;
        nghttp2_session_callbacks_del(fe->callbacks);
        nghttp2_option_del(fe->options);
        scitt_buf_cleanup(&fe->keyset);
        scitt_buf_cleanup(&fe->key);
        scitt_buf_cleanup(&fe->vkey);
        scitt_buf_cleanup(&fe->empty_checkpoint);
        free(fe);
        return rc;
    }
    /* These cannot fail on a live loop. */
    uv_async_init(loop, &fe->async, scitt_h2__async_cb);
    uv_async_init(loop, &fe->job_async, scitt_h2__job_async_cb);
    uv_timer_init(loop, &fe->sweep);
    uv_timer_init(loop, &fe->reg_timer);
    uv_timer_init(loop, &fe->grace);
    fe->handles_open = 5;
    uv_timer_start(&fe->sweep, on_sweep, 1000, 1000);
    uv_unref((uv_handle_t *)&fe->grace);
    *out = fe;
    return 0;
}

int scitt_frontend_listen(scitt_frontend_t *fe, const char *host, uint16_t port, const char **out_err_desc)
{
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc != 0) {
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    }
    if (rc != 0) {
        *out_err_desc = "--listen needs an IPv4 or IPv6 address";
        return rc;
    }
    rc = uv_tcp_init(fe->loop, &fe->listener);
    if (rc != 0) {
        *out_err_desc = uv_strerror(rc);
        return rc;
    }
    uv_tcp_init(fe->loop, &fe->refuse); /* cannot fail without a socket */
    fe->refuse.data = fe;
    fe->listening = true;
    fe->handles_open += 2;
    rc = uv_tcp_bind(&fe->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&fe->listener, 511, on_connection);
    }
    if (rc != 0) {
        *out_err_desc = uv_strerror(rc);
        return rc;
    }
    scitt_h2__log(fe, SCITT_LOG_INFO, "listening on %s:%u (%s)", host, port, fe->cfg.tls != NULL ? "TLS, h2" : "h2c");
    return 0;
}

static void on_own_close(uv_handle_t *h)
{
    scitt_frontend_t *fe = h->data;
    if (--fe->handles_open == 0 && fe->shutdown_done != NULL) {
        fe->shutdown_done(fe->shutdown_ctx);
    }
}

static void close_own(scitt_frontend_t *fe, uv_handle_t *h)
{
    h->data = fe;
    uv_close(h, on_own_close);
}

void scitt_frontend_stop_accepting(scitt_frontend_t *fe)
{
    fe->draining = true;
    if (fe->listening) {
        fe->listening = false;
        close_own(fe, (uv_handle_t *)&fe->listener);
        if (!uv_is_closing((uv_handle_t *)&fe->refuse)) {
            close_own(fe, (uv_handle_t *)&fe->refuse); /* else on_refused counts it */
        }
    }
}

void scitt_h2__maybe_finish(scitt_frontend_t *fe)
{
    if (!fe->shutting_down || fe->num_conns > 0 || fe->num_jobs > 0 || uv_is_closing((uv_handle_t *)&fe->async)) {
        return;
    }
    scitt_h2__reg_drain(fe); /* nothing waits any more; frees leftovers */
    close_own(fe, (uv_handle_t *)&fe->async);
    close_own(fe, (uv_handle_t *)&fe->job_async);
    close_own(fe, (uv_handle_t *)&fe->sweep);
    close_own(fe, (uv_handle_t *)&fe->reg_timer);
    close_own(fe, (uv_handle_t *)&fe->grace);
}

static void on_grace(uv_timer_t *t)
{
    scitt_frontend_t *fe = scitt_container_of(t, scitt_frontend_t, grace);
    scitt_h2__log(fe, SCITT_LOG_WARN, "shutdown: closing %zu connections still open", fe->num_conns);
    while (!scitt_h2__list_empty(&fe->conns)) {
        scitt_h2__conn_close(scitt_container_of(fe->conns.next, scitt_h2_conn_t, node));
    }
}

void scitt_frontend_shutdown(scitt_frontend_t *fe, void (*done)(void *ctx), void *ctx)
{
    fe->shutdown_done = done;
    fe->shutdown_ctx = ctx;
    scitt_frontend_stop_accepting(fe);
    fe->shutting_down = true;
    scitt_h2__reg_drain(fe);
    for (scitt_h2_link_t *l = fe->conns.next, *next; l != &fe->conns; l = next) {
        next = l->next;
        scitt_h2__conn_goaway(scitt_container_of(l, scitt_h2_conn_t, node));
    }
    uv_ref((uv_handle_t *)&fe->grace);
    uv_timer_start(&fe->grace, on_grace, SCITT_H2_SHUTDOWN_GRACE_MS, 0);
    scitt_h2__maybe_finish(fe);
}

void scitt_frontend_free(scitt_frontend_t *fe)
{
    if (fe == NULL) {
        return;
    }
    /* Completions that arrived after the last drain (none after a clean
     * shutdown): their streams are gone, only the pipeline's ref remains. */
    scitt_h2_reg_t *r = fe->q_head;
    while (r != NULL) {
        scitt_h2_reg_t *next = r->q_next;
        free(r->receipt);
        free(r);
        r = next;
    }
    scitt_h2__stream_spares_free(fe);
    scitt_h2__peers_free(fe);
    scitt_rl_free(fe->rl);
    nghttp2_session_callbacks_del(fe->callbacks);
    nghttp2_option_del(fe->options);
    uv_mutex_destroy(&fe->q_mutex);
    uv_mutex_destroy(&fe->j_mutex);
    scitt_log_free(fe->own_log); /* its pool is idle: every job came back */
    scitt_buf_cleanup(&fe->keyset);
    scitt_buf_cleanup(&fe->key);
    scitt_buf_cleanup(&fe->vkey);
    scitt_buf_cleanup(&fe->empty_checkpoint);
    scitt_buf_cleanup(&fe->tls_out);
    free(fe);
}
