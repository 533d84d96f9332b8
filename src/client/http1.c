/*
 * http1.c: plain HTTP/1.1 GETs, for static web servers, HTTP caches and CDNs
 * serving a log's publish folder (scittd --publish-dir), which rarely speak
 * cleartext HTTP/2. Blocking sockets: the mirror is a synchronous client.
 *
 * The response parser works on the bytes received so far (no socket), so
 * it is fuzzed on its own (fuzz/fuzz_http1_response.c). It accepts a status
 * line `HTTP/1.x NNN ...`, header lines up to SCITT_HTTP1_MAX_HEAD bytes in
 * all, and a body framed by Transfer-Encoding: chunked, Content-Length, or
 * the end of the connection; anything else is SCITT_EMALFORMED.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "scitt/client.h"

/* find_crlf returns the offset of the next "\r\n" at or after `from`, or
 * SIZE_MAX. */
static size_t find_crlf(const uint8_t *buf, size_t len, size_t from)
{
    for (size_t i = from; i + 1 < len; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n') {
            return i;
        }
    }
    return SIZE_MAX;
}

/* header_is tells whether header line [p, p + n) is `name:` and points
 * `*value` (trimmed) at its value. */
static bool header_is(const char *p, size_t n, const char *name, scitt_span_t *value)
{
    size_t k = strlen(name);
    if (n <= k || p[k] != ':' || strncasecmp(p, name, k) != 0) {
        return false;
    }
    size_t a = k + 1, b = n;
    while (a < b && (p[a] == ' ' || p[a] == '\t')) {
        a++;
    }
    while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t')) {
        b--;
    }
    *value = scitt_span((const uint8_t *)p + a, b - a);
    return true;
}

/* parse_head reads the status line and headers of `buf` (ending at `end`,
 * the offset of the blank line's "\r\n"). */
static int parse_head(const uint8_t *buf, size_t end, scitt_http1_response_t *out)
{
    const char *s = (const char *)buf;
    size_t line = find_crlf(buf, end + 2, 0);
    if (line < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ' || s[9] < '1' ||
        s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' || (line > 12 && s[12] != ' ')) {
        return SCITT_EMALFORMED;
    }
    out->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    out->close = s[7] == '0';
    out->chunked = false;
    out->content_length = -1;
    for (size_t at = line + 2; at < end;) {
        size_t next = find_crlf(buf, end + 2, at);
        scitt_span_t v;
        if (header_is(s + at, next - at, "content-length", &v)) {
            uint64_t n;
            if (out->content_length >= 0 || scitt_parse_u64((const char *)v.base, v.len, &n) != 0 ||
                n > SCITT_HTTP1_MAX_BODY) {
                return SCITT_EMALFORMED;
            }
            out->content_length = (int64_t)n;
        } else if (header_is(s + at, next - at, "transfer-encoding", &v)) {
            if (v.len != 7 || strncasecmp((const char *)v.base, "chunked", 7) != 0) {
                return SCITT_EMALFORMED; /* we asked for no other coding */
            }
            out->chunked = true;
        } else if (header_is(s + at, next - at, "connection", &v)) {
            out->close = v.len == 5 && strncasecmp((const char *)v.base, "close", 5) == 0;
        }
        at = next + 2;
    }
    return out->chunked && out->content_length >= 0 ? SCITT_EMALFORMED : 0;
}

/* parse_chunked decodes the chunked body at buf[0, len) into `body`:
 * 0 complete (`*used` bytes taken), SCITT_EAGAIN incomplete, or an error. */
static int parse_chunked(const uint8_t *buf, size_t len, scitt_buf_t *body, size_t *used)
{
    size_t at = 0;
    for (;;) {
        size_t eol = find_crlf(buf, len, at);
        if (eol == SIZE_MAX) {
            return len - at > 64 ? SCITT_EMALFORMED : SCITT_EAGAIN;
        }
        uint64_t n = 0;
        size_t digits = 0;
        while (at + digits < eol && digits < 16) {
            uint8_t c = buf[at + digits];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) {
                break;
            }
            n = n * 16 + (uint64_t)d;
            digits++;
        }
        if (digits == 0 || (at + digits < eol && buf[at + digits] != ';') || n > SCITT_HTTP1_MAX_BODY) {
            return SCITT_EMALFORMED;
        }
        at = eol + 2;
        if (n == 0) {
            /* No trailers are expected: the last chunk ends with a blank line. */
            if (len - at < 2) {
                return SCITT_EAGAIN;
            }
            if (buf[at] != '\r' || buf[at + 1] != '\n') {
                return SCITT_EMALFORMED;
            }
            *used = at + 2;
            return 0;
        }
        if (len - at < n + 2) {
            return SCITT_EAGAIN;
        }
        if (buf[at + n] != '\r' || buf[at + n + 1] != '\n') {
            return SCITT_EMALFORMED;
        }
        int rc = scitt_buf_append(body, buf + at, (size_t)n);
        if (rc != 0) {
            return rc;
        }
        at += (size_t)n + 2;
    }
}

int scitt_http1_response_parse(const uint8_t *buf, size_t len, bool eof, scitt_http1_response_t *out, scitt_buf_t *body)
{
    size_t end = SIZE_MAX;
    for (size_t i = 0; i + 3 < len && i < SCITT_HTTP1_MAX_HEAD; i++) {
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            end = i + 2;
            break;
        }
    }
    if (end == SIZE_MAX) {
        return len >= SCITT_HTTP1_MAX_HEAD || eof ? SCITT_EMALFORMED : SCITT_EAGAIN;
    }
    int rc = parse_head(buf, end, out);
    if (rc != 0) {
        return rc;
    }
    size_t at = end + 2;
    scitt_buf_reset(body);
    if (out->chunked) {
        size_t used = 0;
        rc = parse_chunked(buf + at, len - at, body, &used);
        out->len = at + used;
        return rc == SCITT_EAGAIN && eof ? SCITT_ETRUNCATED : rc;
    }
    if (out->content_length >= 0) {
        if (len - at < (uint64_t)out->content_length) {
            return eof ? SCITT_ETRUNCATED : SCITT_EAGAIN;
        }
        out->len = at + (size_t)out->content_length;
        return scitt_buf_append(body, buf + at, (size_t)out->content_length);
    }
    if (!eof) {
        return SCITT_EAGAIN; /* the body ends with the connection */
    }
    out->close = true;
    out->len = len;
    return scitt_buf_append(body, buf + at, len - at);
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
