/*
 * transport.c: the libuv side of a client connection: resolve, connect,
 * read into a fixed buffer, write one bounded chunk at a time, tick a timer
 * for request deadlines, and close with destruction deferred to the close
 * callbacks (STYLE.md 2.7).
 *
 * Resolution prefers the first IPv4 address, because "localhost" often
 * resolves to ::1 first while test servers listen on 127.0.0.1; an IPv6
 * literal or an IPv6-only name still works.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define SCITT_CLIENT_VERSION_UA "scitt/0.1"

uint64_t scitt_client__now(scitt_client_t *c)
{
    return c->loop != NULL ? uv_now(c->loop) : 0;
}

/* release frees the client's memory. maybe_release does it once every
 * handle closed and no resolver callback is pending; on its own loop
 * scitt_client_free does it after running the loop to that point. */
static void release(scitt_client_t *c)
{
    scitt_client__engine_cleanup(c);
    scitt_buf_cleanup(&c->out);
    scitt_buf_cleanup(&c->plain);
    scitt_tls_free(c->tls);
    if (c->own_tls_ctx) {
        scitt_tls_ctx_free(c->tls_ctx);
    }
    scitt_mem_free(c->mem, c);
}

static void maybe_release(scitt_client_t *c)
{
    if (c->closing && c->handles_open == 0 && !c->resolving && !c->own_loop) {
        release(c);
    }
}

static void on_close(uv_handle_t *h)
{
    scitt_client_t *c = h->data;
    c->handles_open--;
    maybe_release(c);
}

static void ended(scitt_client_t *c, int rc)
{
    if (c->connected && !uv_is_closing((uv_handle_t *)&c->tcp)) {
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    scitt_client__fail(c, rc);
}

static void on_write(uv_write_t *w, int status)
{
    scitt_client_t *c = w->data;
    c->writing = false;
    if (status < 0) {
        ended(c, status == UV_ECANCELED ? SCITT_ESHUTDOWN : status);
        return;
    }
    scitt_client__kick(c);
}

/* fill_out puts the next bytes to send into c->out: the engine's frames,
 * or over TLS the handshake's records and the frames encrypted (once the
 * handshake is done). */
static int fill_out(scitt_client_t *c)
{
    scitt_buf_reset(&c->out);
    if (c->tls == NULL) {
        return scitt_client__pull(c, &c->out, SCITT_CLIENT__WRITE_MAX);
    }
    if (scitt_tls_ready(c->tls)) {
        scitt_buf_reset(&c->plain);
        int rc = scitt_client__pull(c, &c->plain, SCITT_CLIENT__WRITE_MAX);
        if (rc != 0) {
            return rc;
        }
        if (c->plain.len > 0 && scitt_tls_write(c->tls, c->plain.base, c->plain.len) != 0) {
            scitt_client__fail(c, SCITT_EIO);
            return SCITT_EIO;
        }
    }
    int rc = scitt_tls_take_output(c->tls, &c->out);
    if (rc != 0) {
        scitt_client__fail(c, rc);
    }
    return rc;
}

/* tls_recv decrypts what the socket brought and feeds it to the engine. A
 * failed handshake fails the connection with scitt_tls_verdict's cause. */
static int tls_recv(scitt_client_t *c, const uint8_t *data, size_t len)
{
    uint8_t plain[16384];
    int rc = scitt_tls_feed(c->tls, data, len);
    while (rc == 0) {
        size_t n = 0;
        rc = scitt_tls_read(c->tls, plain, sizeof(plain), &n);
        if (rc == 0 && n == 0) {
            break;
        }
        if (rc == 0) {
            rc = scitt_client__recv(c, plain, n) != 0 ? c->error : 0;
        }
    }
    if (rc == 0 && scitt_tls_ready(c->tls) && !c->tls_checked) {
        rc = scitt_tls_verdict(c->tls); /* no h2 by ALPN */
        c->tls_checked = rc == 0;
    } else if (rc != 0 && rc != c->error && !scitt_tls_ready(c->tls)) {
        rc = scitt_tls_verdict(c->tls);
    }
    if (rc != 0) {
        scitt_client__fail(c, rc);
    }
    return rc;
}

void scitt_client__kick(scitt_client_t *c)
{
    if (c->detached) {
        scitt_client__pull(c, &c->out, SIZE_MAX);
        return;
    }
    if (!c->connected || c->writing || c->closing || c->error != 0) {
        return;
    }
    if (fill_out(c) != 0) {
        return;
    }
    if (c->out.len > 0) {
        uv_buf_t b = uv_buf_init((char *)c->out.base, (unsigned)c->out.len);
        c->write.data = c;
        int rc = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write);
        if (rc != 0) {
            ended(c, rc);
            return;
        }
        c->writing = true;
    } else if (c->tls != NULL && !scitt_tls_ready(c->tls)) {
        /* the handshake waits for the server */
    } else if (!scitt_client__wants_io(c)) {
        /* Both sides sent GOAWAY and nothing is left: the connection is over. */
        ended(c, -ECONNRESET);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    scitt_client_t *c = h->data;
    *buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    scitt_client_t *c = s->data;
    if (nread < 0) {
        ended(c, nread == UV_EOF ? -ECONNRESET : (int)nread);
        return;
    }
    int rc = c->tls != NULL ? tls_recv(c, (const uint8_t *)buf->base, (size_t)nread)
                            : scitt_client__recv(c, (const uint8_t *)buf->base, (size_t)nread);
    if (rc != 0) {
        ended(c, c->error);
        return;
    }
    scitt_client__kick(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    scitt_client_t *c = req->data;
    if (c->closing) {
        return;
    }
    if (status < 0) {
        scitt_client__fail(c, status);
        return;
    }
    c->connected = true;
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc != 0) {
        scitt_client__fail(c, rc);
        return;
    }
    if (c->tls != NULL && tls_recv(c, NULL, 0) != 0) { /* writes the ClientHello */
        ended(c, c->error);
        return;
    }
    scitt_client__kick(c);
}

static void on_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *res)
{
    scitt_client_t *c = r->data;
    c->resolving = false;
    if (c->closing || status < 0) {
        if (!c->closing) {
            scitt_client__fail(c, status);
        }
        uv_freeaddrinfo(res);
        maybe_release(c);
        return;
    }
    struct addrinfo *pick = res;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    }
    c->connect.data = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, pick->ai_addr, on_connect);
    uv_freeaddrinfo(res);
    if (rc != 0) {
        scitt_client__fail(c, rc);
    }
}

static void on_tick(uv_timer_t *t)
{
    scitt_client_t *c = t->data;
    scitt_client__expire(c, uv_now(c->loop));
    if (c->error != 0 && c->connected) {
        ended(c, c->error);
    }
}

int scitt_client__transport_start(scitt_client_t *c)
{
    int rc;
    if (c->loop == NULL) {
        c->loop = scitt_mem_malloc(c->mem, sizeof(uv_loop_t));
        if (c->loop == NULL) {
            return SCITT_ENOMEM;
        }
        rc = uv_loop_init(c->loop);
        if (rc != 0) {
            scitt_mem_free(c->mem, c->loop);
            c->loop = NULL;
            return rc;
        }
        c->own_loop = true;
    }
    uv_tcp_init(c->loop, &c->tcp);
    uv_timer_init(c->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    uv_timer_start(&c->timer, on_tick, SCITT_CLIENT__TICK_MS, SCITT_CLIENT__TICK_MS);
    uv_unref((uv_handle_t *)&c->timer); /* deadlines alone keep no loop alive */

    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)c->url.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->resolve.data = c;
    rc = uv_getaddrinfo(c->loop, &c->resolve, on_resolved, c->url.host, port, &hints);
    if (rc != 0) {
        return rc;
    }
    c->resolving = true;
    return 0;
}

void scitt_client__transport_close(scitt_client_t *c)
{
    c->closing = true;
    if (c->resolving) {
        uv_cancel((uv_req_t *)&c->resolve); /* on_resolved still runs, with UV_EAI_CANCELED */
    }
    uv_close((uv_handle_t *)&c->tcp, on_close);
    uv_close((uv_handle_t *)&c->timer, on_close);
}

/* -- Public entry points that involve the transport -- */

static int tls_start(scitt_client_t *c)
{
    c->tls_ctx = c->cfg.tls;
    if (c->tls_ctx == NULL) {
        int rc = scitt_tls_client_ctx_new(&c->tls_ctx, NULL, NULL, NULL, NULL);
        if (rc != 0) {
            return rc;
        }
        c->own_tls_ctx = true;
    }
    return scitt_tls_client_new(&c->tls, c->tls_ctx, c->url.host);
}

static int client_alloc(scitt_client_t **out, const scitt_client_url_t *url, const scitt_client_config_t *cfg)
{
    const scitt_mem_t *mem = cfg != NULL && cfg->mem != NULL ? cfg->mem : scitt_mem_default();
    scitt_client_t *c = scitt_mem_calloc(mem, 1, sizeof(*c));
    if (c == NULL) {
        return SCITT_ENOMEM;
    }
    c->mem = mem;
    if (cfg != NULL) {
        c->cfg = *cfg;
    }
    c->cfg.mem = mem;
    c->cfg.timeout_ms = c->cfg.timeout_ms != 0 ? c->cfg.timeout_ms : 30000;
    c->cfg.max_body = c->cfg.max_body != 0 ? c->cfg.max_body : (16u << 20);
    c->cfg.max_requests = c->cfg.max_requests != 0 ? c->cfg.max_requests : 1024;
    c->cfg.user_agent = c->cfg.user_agent != NULL ? c->cfg.user_agent : SCITT_CLIENT_VERSION_UA;
    c->url = *url;
    c->loop = c->cfg.loop;
    scitt_buf_init(&c->out, mem, 0);
    scitt_buf_init(&c->plain, mem, 0);
    int rc = scitt_client__engine_init(c);
    if (rc != 0) {
        scitt_mem_free(mem, c);
        return rc;
    }
    if (url->tls) {
        rc = tls_start(c);
        if (rc != 0) {
            release(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

int scitt_client_new(scitt_client_t **out, const scitt_client_url_t *url, const scitt_client_config_t *cfg)
{
    scitt_client_t *c;
    int rc = client_alloc(&c, url, cfg);
    if (rc != 0) {
        return rc;
    }
    rc = scitt_client__transport_start(c);
    if (rc != 0) {
        if (c->handles_open > 0) {
            scitt_client_free(c);
        } else {
            release(c);
        }
        return rc;
    }
    *out = c;
    return 0;
}

int scitt_client_new_detached(scitt_client_t **out, const scitt_client_url_t *url, const scitt_client_config_t *cfg)
{
    scitt_client_config_t copy = cfg != NULL ? *cfg : (scitt_client_config_t){0};
    copy.loop = NULL;
    int rc = client_alloc(out, url, &copy);
    if (rc == 0) {
        (*out)->detached = true;
    }
    return rc;
}

void scitt_client_free(scitt_client_t *c)
{
    if (c == NULL) {
        return;
    }
    scitt_client__fail(c, SCITT_ESHUTDOWN);
    if (c->detached) {
        release(c);
        return;
    }
    uv_loop_t *loop = c->loop;
    const scitt_mem_t *mem = c->mem;
    bool own = c->own_loop;
    scitt_client__transport_close(c);
    if (own) {
        while (c->handles_open > 0 || c->resolving) {
            uv_run(loop, UV_RUN_ONCE);
        }
        release(c);
        uv_loop_close(loop);
        scitt_mem_free(mem, loop);
    }
}

int scitt_client_wait(scitt_client_t *c, scitt_client_req_t *req)
{
    if (!c->own_loop) {
        return SCITT_EINVAL;
    }
    while (!req->_done) {
        uv_run(c->loop, UV_RUN_ONCE);
    }
    return req->rc;
}

int scitt_client_wait_all(scitt_client_t *c)
{
    if (!c->own_loop) {
        return SCITT_EINVAL;
    }
    while (c->num_active > 0 || c->done_head != NULL) {
        uv_run(c->loop, UV_RUN_ONCE);
    }
    return c->error;
}

void scitt_client_wait_any(scitt_client_t *c)
{
    uint64_t seen = c->completions;
    while (c->own_loop && c->num_active > 0 && c->completions == seen) {
        uv_run(c->loop, UV_RUN_ONCE);
    }
}

int scitt_client_fetch(scitt_client_t *c, scitt_client_req_t *req)
{
    int rc = scitt_client_submit(c, req);
    return rc != 0 ? rc : scitt_client_wait(c, req);
}

/* A sleep's timer lives on the sleeping frame: it is waited for until its
 * close callback ran. */
typedef struct sleeper {
    uv_timer_t timer;
    bool fired, closed;
} sleeper_t;

static void on_sleep(uv_timer_t *t)
{
    scitt_container_of(t, sleeper_t, timer)->fired = true;
}

static void on_sleep_close(uv_handle_t *h)
{
    scitt_container_of((uv_timer_t *)h, sleeper_t, timer)->closed = true;
}

void scitt_client_sleep_ms(scitt_client_t *c, uint64_t ms)
{
    if (!c->own_loop) {
        return;
    }
    sleeper_t s = {.fired = false, .closed = false};
    uv_timer_init(c->loop, &s.timer);
    uv_timer_start(&s.timer, on_sleep, ms, 0);
    while (!s.fired) {
        uv_run(c->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&s.timer, on_sleep_close);
    while (!s.closed) {
        uv_run(c->loop, UV_RUN_ONCE);
    }
}

int scitt_client_feed(scitt_client_t *c, const uint8_t *data, size_t len)
{
    int rc = scitt_client__recv(c, data, len);
    if (rc == 0) {
        scitt_client__kick(c);
    }
    return c->error;
}

int scitt_client_take_output(scitt_client_t *c, scitt_buf_t *out)
{
    scitt_client__kick(c);
    int rc = scitt_buf_append(out, c->out.base, c->out.len);
    scitt_buf_reset(&c->out);
    return rc;
}
