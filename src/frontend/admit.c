/*
 * admit.c: who may register, and how often (issue 19). Decided where a
 * request's route is, from the client address and the request headers only,
 * so HTTP/2 and HTTP/1.1 requests meet the same rules.
 *
 * Credentials (only when --tokens or --client-ca is set; reads stay public):
 *   a Bearer token whose SHA-256 is in --tokens (auth.c), or a TLS client
 *   certificate that chains to --client-ca; either one suffices.
 *   none given:         401 + WWW-Authenticate: Bearer (with --tokens), or
 *                       403 with --client-ca alone (a certificate has no
 *                       HTTP challenge a 401 could carry)
 *   a token not known:  401 + WWW-Authenticate: Bearer error="invalid_token"
 *                       (RFC 6750 section 3.1)
 *   a certificate that does not chain, and no good token: 403
 *
 * Rate (--post-rate, --post-burst; ratelimit.c): requests without a valid
 * credential take one token per POST /entries and one per poll of a pending
 * entry (GET /entries/{id} that would answer 204) from their address's
 * buckets; an empty bucket answers 429 + Retry-After (whole seconds until a
 * token). Authenticated requests are not rate-limited: the operator gave
 * them a credential, and --max-pending-per-address still bounds their share
 * of the pipeline.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "scitt/auth.h"
#include "scitt/tls.h"

enum { CRED_NONE, CRED_OK, CRED_BAD_TOKEN, CRED_BAD_CERT };

static int credential(const scitt_h2_stream_t *s)
{
    const scitt_frontend_config_t *cfg = &s->conn->fe->cfg;
    int cert = cfg->client_ca && s->conn->tls != NULL ? scitt_tls_peer(s->conn->tls) : SCITT_TLS_PEER_NONE;
    if (s->bearer == SCITT_AUTH_OK || cert == SCITT_TLS_PEER_TRUSTED) {
        return CRED_OK;
    }
    if (s->bearer == SCITT_AUTH_INVALID) {
        return CRED_BAD_TOKEN;
    }
    return cert == SCITT_TLS_PEER_UNTRUSTED ? CRED_BAD_CERT : CRED_NONE;
}

static bool auth_required(const scitt_frontend_t *fe)
{
    return fe->cfg.tokens != NULL || fe->cfg.client_ca;
}

/* refuse answers a request without an acceptable credential. */
static void refuse(scitt_h2_stream_t *s, int cred)
{
    scitt_frontend_t *fe = s->conn->fe;
    bool tokens = fe->cfg.tokens != NULL;
    fe->metrics.auth_refused[cred == CRED_NONE ? 0 : 1]++;
    if (cred == CRED_BAD_TOKEN) {
        scitt_h2_hdr_t h = {"www-authenticate", "Bearer realm=\"scitt\", error=\"invalid_token\""};
        scitt_h2__respond_problem(s, 401, "Unauthorized", "the bearer token is not one of this service's", &h, 1);
    } else if (cred == CRED_NONE && tokens) {
        scitt_h2_hdr_t h = {"www-authenticate", "Bearer realm=\"scitt\""};
        scitt_h2__respond_problem(s, 401, "Unauthorized",
                                  fe->cfg.client_ca
                                      ? "registration needs a bearer token or a client certificate of this service"
                                      : "registration needs a bearer token (Authorization: Bearer)",
                                  &h, 1);
    } else {
        scitt_h2__respond_problem(s, 403, "Forbidden",
                                  cred == CRED_BAD_CERT
                                      ? "the client certificate does not chain to this service's client CA"
                                      : "registration needs a TLS client certificate of this service",
                                  NULL, 0);
    }
}

/* limited takes a token of `kind` for an unauthenticated request: true when
 * it answered 429 instead. */
static bool limited(scitt_h2_stream_t *s, int kind)
{
    scitt_frontend_t *fe = s->conn->fe;
    if (fe->rl == NULL || !s->conn->has_peer || credential(s) == CRED_OK) {
        return false;
    }
    uint64_t wait_ms = scitt_rl_take(fe->rl, s->conn->peer, kind, uv_now(fe->loop));
    if (wait_ms == 0) {
        return false;
    }
    fe->metrics.rate_limited[kind]++;
    char secs[24], detail[160];
    secs[scitt_format_u64(secs, (wait_ms + 999) / 1000, 1)] = '\0';
    snprintf(detail, sizeof(detail), "more than %u %s per second from this address (burst %u); retry after %s s",
             fe->cfg.post_rate, kind == SCITT_RL_POST ? "registrations" : "polls of pending entries",
             fe->cfg.post_burst, secs);
    scitt_h2_hdr_t h = {"retry-after", secs};
    scitt_h2__respond_problem(s, 429, "Too Many Requests", detail, &h, 1);
    return true;
}

bool scitt_h2__admit_post(scitt_h2_stream_t *s)
{
    if (s->admitted) {
        return true;
    }
    int cred = auth_required(s->conn->fe) ? credential(s) : CRED_OK;
    if (cred != CRED_OK) {
        refuse(s, cred);
        return false;
    }
    if (limited(s, SCITT_RL_POST)) {
        return false;
    }
    s->admitted = true;
    return true;
}

bool scitt_h2__admit_pending(scitt_h2_stream_t *s)
{
    return !limited(s, SCITT_RL_PENDING);
}

int scitt_h2__admit_metrics(const scitt_frontend_t *fe, scitt_buf_t *b)
{
    const scitt_h2_metrics_t *m = &fe->metrics;
    return scitt_buf_printf(
        b,
        "# HELP scittd_rate_limited_total Requests answered 429 by the per-address rate limit, by route.\n"
        "# TYPE scittd_rate_limited_total counter\n"
        "scittd_rate_limited_total{route=\"register\"} %llu\nscittd_rate_limited_total{route=\"pending\"} %llu\n"
        "# HELP scittd_rate_limit_addresses Client addresses the rate limit tracks now.\n"
        "# TYPE scittd_rate_limit_addresses gauge\nscittd_rate_limit_addresses %zu\n"
        "# HELP scittd_auth_refused_total Registrations refused for their credentials (401/403).\n"
        "# TYPE scittd_auth_refused_total counter\n"
        "scittd_auth_refused_total{reason=\"missing\"} %llu\nscittd_auth_refused_total{reason=\"invalid\"} %llu\n",
        (unsigned long long)m->rate_limited[SCITT_RL_POST], (unsigned long long)m->rate_limited[SCITT_RL_PENDING],
        fe->rl != NULL ? scitt_rl_tracked(fe->rl) : 0, (unsigned long long)m->auth_refused[0],
        (unsigned long long)m->auth_refused[1]);
}
