/*
 * source.c: where a mirror reads the log from. The HTTP source keeps one
 * HTTP/2 connection (scitt_client) and sends a whole batch of GETs as
 * concurrent streams, at most SOURCE_WINDOW at a time; when the connection
 * drops it reconnects once per batch and retries the GETs that failed. A
 * server that never answers HTTP/2 but answers HTTP/1.1 (a static web
 * server on a publish folder) is read over HTTP/1.1, one GET at a time. The
 * directory source reads a static copy of the log laid out as URL paths,
 * which is how tests build tampered logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "scitt/client.h"
#include "scitt/mirror.h"
#include "scitt/note.h"
#include "scitt/tls.h"

#define SOURCE_WINDOW 64

/* -- HTTP/2 -- */

typedef struct http_source {
    scitt_client_url_t url;
    scitt_client_config_t cfg; /* its TLS context borrowed */
    scitt_client_t *client;
    bool h2_answered; /* the server answered over HTTP/2 once */
    bool http1;       /* it did not, but it answers HTTP/1.1: a static server */
    int fd;           /* the HTTP/1.1 connection, or -1 */
} http_source_t;

static int http_connect(http_source_t *h)
{
    scitt_client_free(h->client);
    h->client = NULL;
    return scitt_client_new(&h->client, &h->url, &h->cfg);
}

/* http_round sends every GET in `gets` whose rc is -EAGAIN (not yet done)
 * over the current connection, SOURCE_WINDOW at a time. */
static void http_round(http_source_t *h, scitt_mirror_get_t *gets, size_t num, scitt_client_req_t *reqs)
{
    size_t next = 0, open = 0;
    for (;;) {
        while (next < num && scitt_client_in_flight(h->client) < SOURCE_WINDOW) {
            scitt_mirror_get_t *g = &gets[next];
            scitt_client_req_t *r = &reqs[next++];
            if (g->rc != -EAGAIN) {
                continue;
            }
            scitt_client_req_init(r, "GET", g->path);
            r->max_body = g->body.max;
            int rc = scitt_client_submit(h->client, r);
            if (rc != 0) {
                g->rc = rc;
                continue;
            }
            r->data = g;
            open++;
        }
        if (scitt_client_in_flight(h->client) == 0) {
            break;
        }
        scitt_client_wait_any(h->client);
    }
    for (size_t i = 0; i < num && open > 0; i++) {
        scitt_mirror_get_t *g = reqs[i].data;
        if (g == NULL) {
            continue;
        }
        open--;
        g->rc = reqs[i].rc;
        g->status = reqs[i].status;
        if (g->rc == 0) {
            scitt_buf_reset(&g->body);
            g->rc = scitt_buf_append(&g->body, reqs[i].resp.base, reqs[i].resp.len);
        }
        scitt_client_req_cleanup(&reqs[i]);
        reqs[i].data = NULL;
    }
}

/* http1_get answers the GETs one after the other over HTTP/1.1. */
static int http1_get(http_source_t *h, scitt_mirror_get_t *gets, size_t num)
{
    int first = 0;
    for (size_t i = 0; i < num; i++) {
        scitt_mirror_get_t *g = &gets[i];
        g->status = 0;
        g->rc = scitt_http1_get(&h->url, &h->fd, g->path, g->body.max, &g->status, &g->body);
        first = first != 0 ? first : g->rc;
    }
    return first;
}

/* speaks_http1 tells whether the server answers a plain HTTP/1.1 GET. */
static bool speaks_http1(http_source_t *h)
{
    scitt_buf_t b;
    int status = 0;
    scitt_buf_init(&b, NULL, SCITT_NOTE_MAX_LEN);
    bool yes = scitt_http1_get(&h->url, &h->fd, "/checkpoint", SCITT_NOTE_MAX_LEN, &status, &b) == 0;
    scitt_buf_cleanup(&b);
    return yes;
}

static int http2_get(http_source_t *h, scitt_mirror_get_t *gets, size_t num)
{
    scitt_client_req_t *reqs = calloc(num, sizeof(*reqs));
    if (reqs == NULL) {
        return SCITT_ENOMEM;
    }
    for (size_t i = 0; i < num; i++) {
        gets[i].rc = -EAGAIN;
    }
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (h->client == NULL || scitt_client_error(h->client) != 0) {
            rc = http_connect(h);
            if (rc != 0) {
                break;
            }
        }
        http_round(h, gets, num, reqs);
        rc = 0;
        bool retry = false;
        for (size_t i = 0; i < num; i++) {
            if (gets[i].rc != 0 && scitt_client_error(h->client) != 0 &&
                !scitt_tls_refused(scitt_client_error(h->client))) {
                gets[i].rc = -EAGAIN; /* the connection died under it: once more */
                retry = true;
            }
        }
        if (!retry) {
            break;
        }
    }
    for (size_t i = 0; i < num; i++) {
        if (gets[i].rc != 0 && rc == 0) {
            rc = gets[i].rc;
        }
    }
    free(reqs);
    return rc;
}

/* http_get speaks HTTP/2 (prior knowledge); a server that never answered
 * it but answers HTTP/1.1 (a static web server or cache serving a publish
 * folder) is read over HTTP/1.1 from then on. */
static int http_get(void *ud, scitt_mirror_get_t *gets, size_t num)
{
    http_source_t *h = ud;
    if (h->http1) {
        return http1_get(h, gets, num);
    }
    int rc = http2_get(h, gets, num);
    for (size_t i = 0; i < num && !h->h2_answered; i++) {
        h->h2_answered = gets[i].status != 0;
    }
    if (rc != 0 && !h->h2_answered && !h->url.tls && speaks_http1(h)) {
        h->http1 = true;
        scitt_client_free(h->client);
        h->client = NULL;
        return http1_get(h, gets, num);
    }
    return rc;
}

static void http_free(void *ud)
{
    http_source_t *h = ud;
    scitt_client_free(h->client);
    if (h->fd >= 0) {
        close(h->fd);
    }
    free(h);
}

/* -- A directory of files -- */

typedef struct dir_source {
    char root[4096];
} dir_source_t;

static int read_into(const char *path, scitt_buf_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    int rc = 0;
    uint8_t chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && rc == 0) {
        rc = scitt_buf_append(out, chunk, (size_t)n);
    }
    if (n < 0 && rc == 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

static int dir_get(void *ud, scitt_mirror_get_t *gets, size_t num)
{
    dir_source_t *d = ud;
    int first = 0;
    for (size_t i = 0; i < num; i++) {
        scitt_mirror_get_t *g = &gets[i];
        char path[8192];
        snprintf(path, sizeof(path), "%s%s", d->root, g->path);
        scitt_buf_reset(&g->body);
        int rc = read_into(path, &g->body);
        g->rc = rc == -ENOENT || rc == -EISDIR ? 0 : rc;
        g->status = rc == 0 ? 200 : 404;
        if (g->rc != 0 && first == 0) {
            first = g->rc;
        }
    }
    return first;
}

int scitt_mirror_source_open(scitt_mirror_source_t *out, const char *url)
{
    return scitt_mirror_source_open_with(out, url, NULL);
}

int scitt_mirror_source_open_with(scitt_mirror_source_t *out, const char *url, const scitt_client_config_t *cfg)
{
    if (strncmp(url, "file://", 7) == 0) {
        dir_source_t *d = calloc(1, sizeof(*d));
        size_t len = strlen(url + 7);
        if (d == NULL || len == 0 || len >= sizeof(d->root)) {
            free(d);
            return d == NULL ? SCITT_ENOMEM : SCITT_EINVAL;
        }
        memcpy(d->root, url + 7, len);
        while (len > 1 && d->root[len - 1] == '/') {
            d->root[--len] = '\0';
        }
        *out = (scitt_mirror_source_t){.get = dir_get, .free = free, .ud = d};
        return 0;
    }
    http_source_t *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return SCITT_ENOMEM;
    }
    h->fd = -1;
    h->cfg.tls = cfg != NULL ? cfg->tls : NULL;
    int rc = scitt_client_url_parse(&h->url, url, strlen(url));
    rc = rc != 0 ? SCITT_EINVAL : http_connect(h);
    if (rc != 0) {
        free(h);
        return rc;
    }
    *out = (scitt_mirror_source_t){.get = http_get, .free = http_free, .ud = h};
    return 0;
}

void scitt_mirror_source_close(scitt_mirror_source_t *src)
{
    if (src->free != NULL) {
        src->free(src->ud);
    }
    src->free = NULL;
}
