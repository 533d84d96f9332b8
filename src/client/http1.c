/*
 * http1.c: plain HTTP/1.1 GETs, for static web servers, HTTP caches and CDNs
 * serving a log's publish folder (scittd --publish-dir), which rarely speak
 * cleartext HTTP/2. Blocking sockets: the mirror is a synchronous client.
 *
 * Responses are parsed by libhttp-parser (Debian's, as issue 19 asks: no
 * hand-written HTTP/1.1 parser), from the bytes received so far, so the
 * wrapper is fuzzed on its own (fuzz/fuzz_http1_response.c): bodies framed
 * by Transfer-Encoding: chunked, Content-Length, or the end of the
 * connection; anything it refuses is SCITT_EMALFORMED.
 */
#include <errno.h>
#include <http_parser.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "scitt/client.h"

/* What the parser's callbacks fill in. */
typedef struct parse_ctx {
    scitt_http1_response_t *out;
    scitt_buf_t *body;
    int rc;    /* the body buffer's error */
    bool done; /* the message ended */
} parse_ctx_t;

static int on_headers(http_parser *hp)
{
    parse_ctx_t *c = hp->data;
    c->out->status = hp->status_code;
    c->out->chunked = (hp->flags & F_CHUNKED) != 0;
    c->out->close = !http_should_keep_alive(hp);
    c->out->content_length = (hp->flags & F_CONTENTLENGTH) != 0 ? (int64_t)hp->content_length : -1;
    return hp->status_code < 100 || hp->status_code > 599 ? -1 : 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    parse_ctx_t *c = hp->data;
    c->rc = scitt_buf_append(c->body, at, len);
    return c->rc != 0 ? -1 : 0;
}

static int on_done(http_parser *hp)
{
    parse_ctx_t *c = hp->data;
    c->done = true;
    http_parser_pause(hp, 1); /* one response: what follows is the next one's */
    return 0;
}

int scitt_http1_response_parse(const uint8_t *buf, size_t len, bool eof, scitt_http1_response_t *out, scitt_buf_t *body)
{
    static const http_parser_settings settings = {
        .on_headers_complete = on_headers, .on_body = on_body, .on_message_complete = on_done};
    parse_ctx_t c = {.out = out, .body = body};
    http_parser hp;
    http_parser_init(&hp, HTTP_RESPONSE);
    hp.data = &c;
    scitt_buf_reset(body);
    /* The whole response so far, from the start (a body is at most a few
     * MiB); at the end of the connection, the parser is told so. */
    size_t used = http_parser_execute(&hp, &settings, (const char *)buf, len);
    if (!c.done && eof && HTTP_PARSER_ERRNO(&hp) == HPE_OK) {
        (void)http_parser_execute(&hp, &settings, NULL, 0);
    }
    enum http_errno e = HTTP_PARSER_ERRNO(&hp);
    if (c.rc != 0) {
        return c.rc;
    }
    if (e != HPE_OK && e != HPE_PAUSED) {
        return SCITT_EMALFORMED;
    }
    if (!c.done) {
        return eof ? SCITT_ETRUNCATED : SCITT_EAGAIN;
    }
    out->len = used;
    out->close = out->close || eof;
    return 0;
}

/* -- Blocking GETs -- */

static int dial(const scitt_client_url_t *url)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", url->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(url->host, port, &hints, &res) != 0) {
        return SCITT_EUNAVAIL;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        struct timeval tv = {.tv_sec = 30};
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
                        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
                        connect(fd, a->ai_addr, a->ai_addrlen) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd >= 0 ? fd : SCITT_EUNAVAIL;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return SCITT_EUNAVAIL;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* get_once sends one GET on `*fd` (dialled when -1) and reads its answer. */
static int get_once(const scitt_client_url_t *url, int *fd, const char *path, scitt_buf_t *raw, int *status,
                    scitt_buf_t *body)
{
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: scitt\r\nAccept-Encoding: identity\r\n\r\n",
                     url->prefix, path, url->authority);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        return SCITT_EINVAL;
    }
    if (*fd < 0 && (*fd = dial(url)) < 0) {
        int rc = *fd;
        *fd = -1;
        return rc;
    }
    int rc = send_all(*fd, req, (size_t)n);
    scitt_http1_response_t resp;
    scitt_buf_reset(raw);
    for (bool eof = false; rc == 0;) {
        rc = scitt_http1_response_parse(raw->base, raw->len, eof, &resp, body);
        if (rc != SCITT_EAGAIN) {
            break;
        }
        rc = scitt_buf_reserve(raw, 65536);
        ssize_t got = rc != 0 ? 0 : recv(*fd, raw->base + raw->len, 65536, 0);
        if (rc == 0 && got < 0) {
            rc = errno == EINTR ? 0 : SCITT_EUNAVAIL;
        } else if (rc == 0) {
            raw->len += (size_t)got;
            eof = got == 0;
        }
    }
    if (rc != 0 || resp.close || resp.len != raw->len) {
        close(*fd);
        *fd = -1;
    }
    if (rc == 0) {
        *status = resp.status;
    }
    return rc;
}

int scitt_http1_get(const scitt_client_url_t *url, int *fd, const char *path, size_t max_body, int *status,
                    scitt_buf_t *body)
{
    scitt_buf_t raw;
    size_t cap = max_body < (size_t)SCITT_HTTP1_MAX_BODY ? max_body : (size_t)SCITT_HTTP1_MAX_BODY;
    scitt_buf_init(&raw, NULL, cap + SCITT_HTTP1_MAX_HEAD + 65536); /* and the chunks' framing */
    bool fresh = *fd < 0;
    int rc = get_once(url, fd, path, &raw, status, body);
    if (rc == SCITT_EUNAVAIL && !fresh) {
        rc = get_once(url, fd, path, &raw, status, body); /* the kept connection was closed: once more */
    }
    scitt_buf_cleanup(&raw);
    return rc;
}
