/*
 * http1.c: HTTP/1.1 on the front end's listener (issue 19), parsed by
 * Debian's libhttp-parser (nodejs/http-parser 2.9), into the same streams
 * as HTTP/2: routes.c, register.c and the rest never know which protocol a
 * request came by. session.c picks the protocol (the HTTP/2 preface or
 * not; ALPN over TLS) and owns the socket, the output and backpressure.
 *
 * One request at a time is read into `cur`, a stream like an HTTP/2 one;
 * its fields go through scitt_h2__stream_header under pseudo-header names,
 * so the header limit, the body limit and budget, the routes and the
 * timeouts are the HTTP/2 ones. Answers are written in request order
 * (scitt_h1__produce): a stream waiting on the pipeline or the reader pool
 * holds back the ones behind it. At most H1_PIPELINE requests are read
 * ahead; past that the rest of the input is held and reading stops.
 *
 * What libhttp-parser refuses itself (as Debian builds it, without
 * HTTP_PARSER_STRICT): repeated or malformed Content-Length, Content-Length
 * with Transfer-Encoding, Transfer-Encoding not ending in chunked, bad chunk
 * sizes, CR not followed by LF, NUL and other control bytes in fields, a
 * header section over 80 KiB. What it accepts and we refuse: LF alone as a
 * line end, a line that starts with whitespace (obs-fold, or before the first
 * field), NUL anywhere in the header section (gate below); field names that
 * are not tokens (whitespace before the colon); a Host missing or repeated;
 * Transfer-Encoding repeated or other than chunked, or in HTTP/1.0; versions
 * other than 1.x (HTTP/0.9's bare request line); request targets other than
 * origin or absolute form. Each is answered 400 (501, 505, 431) with
 * Connection: close, and the connection closes. An Upgrade (h2c) request is
 * answered over HTTP/1.1, which RFC 9110 section 7.8 allows.
 */
#include <http_parser.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Requests read ahead of their answers on one connection. */
#define H1_PIPELINE 16
/* Input held past the pipelining bound (one read, and TLS records). */
#define H1_HELD_MAX (256u * 1024)
/* Field names kept for matching (ours are shorter). */
#define H1_NAME_MAX 32
/* Extra fields of a response (routes send a few; HTTP/2's submit has room for as many). */
#define H1_RESP_FIELDS 10

/* The gate's place in the input: before a request line, in a header
 * section, or past it (body, or between the parser and the next request). */
enum { GATE_START, GATE_LINE, GATE_BODY };

struct scitt_h1 {
    http_parser parser;
    scitt_h2_stream_t *cur; /* the request being read, or NULL */
    int32_t next_id;
    size_t queued; /* streams read and not yet written out */
    bool stop;     /* read no new request; close after the last answer */
    bool finished; /* a response with Connection: close went out */
    uint8_t gate;  /* GATE_* */
    bool gate_cr;  /* the last byte was a CR */
    size_t line_len;
    /* The request being read. */
    bool target_done;
    bool headers_done;
    bool in_value;
    char name[H1_NAME_MAX];
    size_t name_len;  /* the whole name's, even when longer than `name` */
    scitt_buf_t text; /* the request target, then each field value */
    size_t raw_bytes; /* of the header section so far */
    unsigned hosts, te_fields;
    bool te_other; /* a transfer coding other than chunked */
    bool expect_continue;
    int bad_status;   /* the request is refused with this status ... */
    const char *bad;  /* ... and this detail */
    scitt_buf_t held; /* input read past the pipelining bound */
};

static scitt_h2_conn_t *conn_of(http_parser *p)
{
    return p->data;
}

static int refuse_with(scitt_h1_t *h, int status, const char *why)
{
    if (h->bad_status == 0) {
        h->bad_status = status;
        h->bad = why;
    }
    return -1;
}

/* refuse answers the request being read (or a new stream when none is)
 * with a problem, Connection: close; nothing more is read. */
static void refuse(scitt_h2_conn_t *c, int status, const char *detail)
{
    scitt_h1_t *h = c->h1;
    scitt_h2_stream_t *s = h->cur;
    h->stop = true;
    h->cur = NULL;
    if (s == NULL) {
        s = scitt_h2__stream_new(c, h->next_id);
        if (s == NULL) {
            scitt_h2__conn_close(c);
            return;
        }
        h->next_id += 2;
        h->queued++;
    }
    s->close_after = true;
    scitt_h2__log(c->fe, SCITT_LOG_DEBUG, "http/1.1: refusing a request (%d): %s", status, detail);
    const char *title = status == 431   ? "Request Header Fields Too Large"
                        : status == 408 ? "Request Timeout"
                        : status == 501 ? "Not Implemented"
                        : status == 505 ? "HTTP Version Not Supported"
                        : status == 503 ? "Service Unavailable"
                                        : "Bad Request";
    scitt_h2_hdr_t ra = {"retry-after", "1"};
    scitt_h2__respond_problem(s, status, title, detail, &ra, status == 503 ? 1 : 0);
}

/* -- parser callbacks ----------------------------------------------------- */

static int on_message_begin(http_parser *p)
{
    scitt_h2_conn_t *c = conn_of(p);
    scitt_h1_t *h = c->h1;
    scitt_h2_stream_t *s = scitt_h2__stream_new(c, h->next_id);
    if (s == NULL) {
        return refuse_with(h, 503, "out of memory; retry later");
    }
    h->next_id += 2;
    h->queued++;
    h->cur = s;
    h->target_done = h->headers_done = h->in_value = false;
    h->name_len = h->raw_bytes = 0;
    h->hosts = h->te_fields = 0;
    h->te_other = h->expect_continue = false;
    scitt_buf_reset(&h->text);
    c->last_progress = uv_now(c->fe->loop);
    /* Streams across all connections are bounded as for HTTP/2. */
    if (c->fe->num_streams > c->fe->cfg.max_streams_total) {
        return refuse_with(h, 503, "too many requests in progress; retry later");
    }
    return 0;
}

/* count adds header section bytes: far over the limit, the section is
 * not read further (431). */
static int count(scitt_h1_t *h, scitt_frontend_t *fe, size_t len)
{
    h->raw_bytes += len;
    if (h->raw_bytes > SCITT_H2_HEADER_HARD_FACTOR * fe->cfg.max_header_bytes) {
        return refuse_with(h, 431, "the request header section exceeds the server's limit");
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    scitt_h2_conn_t *c = conn_of(p);
    scitt_h1_t *h = c->h1;
    if (count(h, c->fe, len) != 0) {
        return -1;
    }
    return scitt_buf_append(&h->text, at, len) == 0 ? 0 : refuse_with(h, 503, "out of memory");
}

/* field takes one complete field (name, value) or pseudo-header into the stream. */
static int field(scitt_h1_t *h, const char *name, size_t name_len, const uint8_t *value, size_t value_len)
{
    if (scitt_h2__stream_header(h->cur, (const uint8_t *)name, name_len, value != NULL ? value : (const uint8_t *)"",
                                value_len) != 0) {
        return refuse_with(h, 431, "the request header section exceeds the server's limit");
    }
    return 0;
}

/* finish_target takes the request target: origin form as it is, absolute
 * form (RFC 9112 section 3.2.2) as its path and query. */
static int finish_target(scitt_h1_t *h)
{
    h->target_done = true;
    const char *t = (const char *)h->text.base;
    size_t len = h->text.len;
    if (len > 0 && t[0] == '/') {
        return field(h, ":path", 5, h->text.base, len);
    }
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (len == 0 || len > UINT16_MAX || http_parser_parse_url(t, len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_SCHEMA))) {
        return refuse_with(h, 400, "the request target is neither a path nor an absolute URL");
    }
    char path[sizeof(h->cur->path) + 1];
    size_t n = 0;
    uint16_t off = u.field_data[UF_PATH].off, plen = u.field_data[UF_PATH].len;
    uint16_t qoff = u.field_data[UF_QUERY].off, qlen = u.field_data[UF_QUERY].len;
    if (!(u.field_set & (1 << UF_PATH))) {
        path[n++] = '/';
    } else if (plen < sizeof(path)) {
        memcpy(path, t + off, plen);
        n = plen;
    }
    if ((u.field_set & (1 << UF_QUERY)) && n + 1 + qlen < sizeof(path)) {
        path[n++] = '?';
        memcpy(path + n, t + qoff, qlen);
        n += qlen;
    }
    /* A target cut short above is longer than a path may be: 414. */
    size_t want = plen + (u.field_set & (1 << UF_QUERY) ? 1u + qlen : 0u);
    return field(h, ":path", 5, (const uint8_t *)path, n < want ? sizeof(path) : n);
}

static bool is_name(const char *name, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

/* trim drops the optional whitespace around a field value. */
static scitt_span_t trim(const scitt_buf_t *b)
{
    const uint8_t *v = b->base != NULL ? b->base : (const uint8_t *)"";
    size_t n = b->len;
    while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
        n--;
    }
    return scitt_span(v, n);
}

/* finish_field takes the field just read: the few that decide framing and
 * routing are checked here, the rest are only counted. */
static int finish_field(scitt_h1_t *h)
{
    h->in_value = false;
    size_t kept = h->name_len < H1_NAME_MAX ? h->name_len : H1_NAME_MAX;
    for (size_t i = 0; i < kept; i++) {
        h->name[i] = (char)(h->name[i] >= 'A' && h->name[i] <= 'Z' ? h->name[i] + 32 : h->name[i]);
    }
    scitt_span_t v = trim(&h->text);
    const char *n = h->name;
    if (h->name_len > kept) {
        kept = 0; /* no field of ours; counted below */
        h->cur->header_bytes += h->name_len;
    }
    if (is_name(n, kept, "host")) {
        h->hosts++;
    } else if (is_name(n, kept, "transfer-encoding")) {
        h->te_fields++;
        h->te_other |= !(v.len == 7 && strncasecmp((const char *)v.base, "chunked", 7) == 0);
    } else if (is_name(n, kept, "expect")) {
        h->expect_continue = v.len == 12 && strncasecmp((const char *)v.base, "100-continue", 12) == 0;
    } else if (kept > 0 && n[0] == ':') {
        kept = 0; /* never a pseudo-header from the client */
    }
    int rc = field(h, kept > 0 ? n : "x", kept > 0 ? kept : 1, v.base, v.len);
    h->name_len = 0;
    scitt_buf_reset(&h->text);
    return rc;
}

/* is_tchar: a byte of a token (RFC 9110 section 5.6.2). */
static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* field_piece counts `len` bytes of a field name or value: 1 when they are
 * to be ignored (no request being read, or a trailer field: counted only),
 * -1 when refused, 0 to take them. */
static int field_piece(http_parser *p, size_t len)
{
    scitt_h2_conn_t *c = conn_of(p);
    scitt_h1_t *h = c->h1;
    if (h->cur == NULL) {
        return 1;
    }
    if (count(h, c->fe, len) != 0) {
        return -1;
    }
    return h->headers_done ? 1 : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    scitt_h1_t *h = conn_of(p)->h1;
    int rc = field_piece(p, len);
    if (rc != 0) {
        return rc < 0 ? -1 : 0;
    }
    if ((!h->target_done && finish_target(h) != 0) || (h->in_value && finish_field(h) != 0)) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_tchar((unsigned char)at[i])) {
            return refuse_with(h, 400, "a field name is not a token (whitespace before the colon?)");
        }
        if (h->name_len + i < H1_NAME_MAX) {
            h->name[h->name_len + i] = at[i];
        }
    }
    h->name_len += len;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    scitt_h1_t *h = conn_of(p)->h1;
    int rc = field_piece(p, len);
    if (rc != 0) {
        return rc < 0 ? -1 : 0;
    }
    h->in_value = true;
    return scitt_buf_append(&h->text, at, len) == 0 ? 0 : refuse_with(h, 503, "out of memory");
}

/* check_framing refuses what the parser let through (see the top). */
static int check_framing(scitt_h1_t *h, const http_parser *p)
{
    if (p->http_major != 1) {
        return refuse_with(h, p->http_major == 0 ? 400 : 505,
                           p->http_major == 0 ? "a request line needs an HTTP/1.x version"
                                              : "this port speaks HTTP/1.1 and, with the client preface, HTTP/2");
    }
    if (h->hosts != 1) {
        return refuse_with(h, 400, "a request needs exactly one Host field");
    }
    if (h->te_fields > 1 || (h->te_fields > 0 && p->http_minor == 0)) {
        return refuse_with(h, 400, "Transfer-Encoding repeated, or in an HTTP/1.0 request");
    }
    if (h->te_other && !(p->flags & F_CHUNKED)) {
        return refuse_with(h, 400, "chunked is not the final transfer coding");
    }
    if (h->te_other) {
        return refuse_with(h, 501, "the only transfer coding served is chunked");
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    scitt_h2_conn_t *c = conn_of(p);
    scitt_h1_t *h = c->h1;
    scitt_h2_stream_t *s = h->cur;
    if (s == NULL) {
        return 0;
    }
    if ((!h->target_done && finish_target(h) != 0) || (h->in_value && finish_field(h) != 0) ||
        check_framing(h, p) != 0) {
        return -1;
    }
    const char *m = http_method_str((enum http_method)p->method);
    if (field(h, ":method", 7, (const uint8_t *)m, strlen(m)) != 0) {
        return -1;
    }
    h->headers_done = true;
    /* Upgrade (h2c) is not taken: the request is answered over HTTP/1.1. */
    p->upgrade = 0;
    if (!http_should_keep_alive(p)) {
        s->close_after = true;
        h->stop = true;
    }
    scitt_h2__stream_headers_done(s);
    bool has_body = (p->flags & F_CHUNKED) || (p->content_length > 0 && p->content_length != UINT64_MAX);
    /* curl asks before sending a body over 1 KiB; only the oldest request
     * may be told to go on, or the interim answer would jump the queue. */
    if (h->expect_continue && has_body && !s->responded && p->http_minor >= 1 && c->streams.next == &s->node) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (scitt_h2__conn_put(c, (const uint8_t *)cont, sizeof(cont) - 1, false) != 0) {
            return refuse_with(h, 503, "out of memory");
        }
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    scitt_h2_conn_t *c = conn_of(p);
    scitt_h1_t *h = c->h1;
    if (h->cur == NULL) {
        return 0;
    }
    c->last_progress = uv_now(c->fe->loop);
    return scitt_h2__stream_data(h->cur, (const uint8_t *)at, len) == 0 ? 0 : refuse_with(h, 503, "out of memory");
}

static int on_message_complete(http_parser *p)
{
    scitt_h2_conn_t *c = conn_of(p);
    scitt_h1_t *h = c->h1;
    scitt_h2_stream_t *s = h->cur;
    h->cur = NULL;
    h->gate = GATE_START;
    /* Back to the feed loop after each request: the gate starts over. */
    http_parser_pause(p, 1);
    if (s != NULL) {
        c->last_progress = uv_now(c->fe->loop);
        scitt_h2__stream_request_done(s);
    }
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* -- input ------------------------------------------------------------------ */

/* gate checks a header section for what libhttp-parser accepts but RFC
 * 9112 forbids, where a request could be framed one way here and another
 * way by a proxy: LF without CR as a line end (section 2.2 allows a
 * recipient to accept it; we do not), CR without LF, NUL, and a line that
 * starts with whitespace (obs-fold, section 5.2, or whitespace before the
 * first field name, section 2.2). It reads no structure but line ends: NULL
 * and `*upto` the bytes up to the end of the header section (all of them
 * when it has not ended), or why the input is refused. */
static const char *gate(scitt_h1_t *h, const uint8_t *d, size_t len, size_t *upto)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = d[i];
        if (h->gate_cr) {
            if (ch != '\n') {
                return "a CR not followed by LF";
            }
            h->gate_cr = false;
            if (h->gate == GATE_LINE && h->line_len == 0) {
                h->gate = GATE_BODY;
                *upto = i + 1;
                return NULL;
            }
            h->line_len = 0;
        } else if (ch == '\r') {
            h->gate_cr = true;
        } else if (ch == '\n') {
            return "a line ends in LF without CR";
        } else if (ch == '\0') {
            return "a NUL byte in the header section";
        } else if (h->line_len == 0 && (ch == ' ' || ch == '\t')) {
            return "a line starts with whitespace (obs-fold)";
        } else {
            h->gate = GATE_LINE;
            h->line_len++;
        }
    }
    *upto = len;
    return NULL;
}

/* hold keeps input past the pipelining bound until answers go out. */
static void hold(scitt_h2_conn_t *c, const uint8_t *data, size_t len)
{
    scitt_h1_t *h = c->h1;
    if (h->held.len + len > H1_HELD_MAX || scitt_buf_append(&h->held, data, len) != 0) {
        scitt_h2__conn_close(c);
    }
}

/* feed parses input, one request at a time (the parser pauses after each). */
static void feed(scitt_h2_conn_t *c, const uint8_t *data, size_t len)
{
    scitt_h1_t *h = c->h1;
    while (len > 0 && !c->closing) {
        if (h->cur == NULL && (h->stop || h->finished)) {
            return; /* no request is read after a Connection: close */
        }
        if (h->cur == NULL && h->queued >= H1_PIPELINE) {
            hold(c, data, len);
            return;
        }
        size_t upto = len;
        if (h->gate != GATE_BODY) {
            const char *why = gate(h, data, len, &upto);
            if (why != NULL) {
                refuse(c, 400, why);
                return;
            }
        }
        size_t n = http_parser_execute(&h->parser, &settings, (const char *)data, upto);
        enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
        if (h->bad_status != 0) {
            refuse(c, h->bad_status, h->bad);
            return;
        }
        if (e == HPE_PAUSED) {
            http_parser_pause(&h->parser, 0);
        } else if (e != HPE_OK || n != upto) {
            refuse(c, e == HPE_HEADER_OVERFLOW ? 431 : 400, http_errno_description(e));
            return;
        }
        data += n;
        len -= n;
    }
}

void scitt_h1__recv(scitt_h2_conn_t *c, const uint8_t *data, size_t len)
{
    if (c->h1->held.len > 0) {
        hold(c, data, len); /* after what is held, in order */
        return;
    }
    feed(c, data, len);
}

/* -- output ----------------------------------------------------------------- */

void scitt_h1__respond_head(scitt_h2_stream_t *s, int status, const char *content_type, const scitt_h2_hdr_t *hdrs,
                            size_t num_hdrs)
{
    scitt_h2_conn_t *c = s->conn;
    /* An answer before the whole request was read ends the connection: the
     * rest of its body is not read. */
    if (!s->request_done || c->fe->draining) {
        s->close_after = true;
    }
    if (s->close_after) {
        c->h1->stop = true;
    }
    /* Strings only, no printf (its cost showed in the keep-alive GET
     * profile), into one reservation. */
    scitt_buf_t *b = &s->head;
    char status_text[21], length_text[21];
    status_text[scitt_format_u64(status_text, (uint64_t)status, 1)] = '\0';
    length_text[scitt_format_u64(length_text, s->resp.len, 1)] = '\0';
    bool bodiless = status == 204 || status == 304;
    const char *parts[8 + 4 * H1_RESP_FIELDS];
    size_t n = 0;
    parts[n++] = "HTTP/1.1 ";
    parts[n++] = status_text;
    parts[n++] = " ";
    parts[n++] = http_status_str((enum http_status)status);
    parts[n++] = "\r\ndate: ";
    parts[n++] = scitt_h2__date(c->fe);
    if (content_type != NULL) {
        parts[n++] = "\r\ncontent-type: ";
        parts[n++] = content_type;
    }
    if (!bodiless) {
        parts[n++] = "\r\ncontent-length: ";
        parts[n++] = length_text;
    }
    for (size_t i = 0; i < num_hdrs && i < H1_RESP_FIELDS; i++) {
        parts[n++] = "\r\n";
        parts[n++] = hdrs[i].name;
        parts[n++] = ": ";
        parts[n++] = hdrs[i].value;
    }
    parts[n++] = s->close_after ? "\r\nconnection: close\r\n\r\n" : "\r\n\r\n";
    size_t lens[scitt_countof(parts)], total = 0;
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(parts[i]);
        total += lens[i];
    }
    int rc = scitt_buf_reserve(b, total);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = scitt_buf_append(b, parts[i], lens[i]);
    }
    if (rc != 0) {
        scitt_buf_reset(b); /* produce closes the connection */
    }
    /* A HEAD response has the GET's header section and no body. */
    if (bodiless || strcmp(s->method, "HEAD") == 0) {
        s->resp_off = s->resp.len;
    }
}

void scitt_h1__produce(scitt_h2_conn_t *c)
{
    scitt_h1_t *h = c->h1;
    for (;;) {
        while (!c->closing && !h->finished && c->write_pending < SCITT_H2_WRITE_SOFT &&
               !scitt_h2__list_empty(&c->streams)) {
            scitt_h2_stream_t *s = scitt_container_of(c->streams.next, scitt_h2_stream_t, node);
            if (!s->responded) {
                break; /* the oldest request is not answered yet */
            }
            if (!s->head_sent) {
                if (s->head.len == 0 || scitt_h2__conn_put(c, s->head.base, s->head.len, false) != 0) {
                    scitt_h2__conn_close(c);
                    return;
                }
                s->head_sent = true;
            }
            while (s->resp_off < s->resp.len && !c->closing && c->write_pending < SCITT_H2_WRITE_SOFT) {
                size_t n = s->resp.len - s->resp_off;
                n = n < SCITT_H2_WRITE_CHUNK ? n : SCITT_H2_WRITE_CHUNK;
                if (scitt_h2__conn_put(c, scitt_h2__stream_take_data(s, n), n, true) != 0) {
                    scitt_h2__conn_close(c);
                    return;
                }
            }
            if (s->resp_off < s->resp.len || c->closing) {
                break; /* the rest once the socket took some */
            }
            c->last_progress = uv_now(c->fe->loop);
            h->finished = s->close_after;
            if (h->cur == s) {
                h->cur = NULL; /* answered early: its body is not read */
            }
            h->queued--;
            scitt_h2__stream_free(s); /* a body still being written stays with the connection */
        }
        /* Room again in the pipeline: parse what was held back. */
        if (c->closing || h->finished || h->stop || h->held.len == 0 || h->queued >= H1_PIPELINE) {
            return;
        }
        scitt_buf_t in = h->held;
        scitt_buf_init(&h->held, NULL, 0);
        feed(c, in.base, in.len);
        scitt_buf_cleanup(&in);
    }
}

bool scitt_h1__want_read(const scitt_h2_conn_t *c)
{
    const scitt_h1_t *h = c->h1;
    if (h->finished || h->held.len > 0) {
        return false;
    }
    return h->cur != NULL || (!h->stop && h->queued < H1_PIPELINE);
}

bool scitt_h1__done(const scitt_h2_conn_t *c)
{
    const scitt_h1_t *h = c->h1;
    return h->finished || (h->stop && h->cur == NULL && scitt_h2__list_empty(&c->streams));
}

void scitt_h1__goaway(scitt_h2_conn_t *c)
{
    c->h1->stop = true;
}

void scitt_h1__sweep(scitt_h2_conn_t *c, uint64_t now)
{
    scitt_frontend_t *fe = c->fe;
    if (scitt_h2__list_empty(&c->streams) && now - c->last_progress >= fe->cfg.idle_timeout_ms) {
        scitt_h2__log(fe, SCITT_LOG_DEBUG, "http/1.1: closing idle connection");
        scitt_h2__conn_close(c);
        return;
    }
    /* Slow clients: a request not read within request_timeout is answered
     * 408 (then the connection closes); an answer not taken within it
     * closes the connection. */
    for (scitt_h2_link_t *l = c->streams.next; l != &c->streams; l = l->next) {
        scitt_h2_stream_t *s = scitt_container_of(l, scitt_h2_stream_t, node);
        if (s->reg != NULL || s->job != NULL || now < s->deadline) {
            continue;
        }
        s->deadline = UINT64_MAX;
        if (s->responded) {
            scitt_h2__log(fe, SCITT_LOG_DEBUG, "http/1.1: closing a connection that does not take its answer");
            scitt_h2__conn_close(c);
            return;
        }
        if (s == c->h1->cur) {
            refuse(c, 408, "the request did not arrive within --request-timeout-ms");
        }
    }
    scitt_h2__conn_flush(c);
}

/* -- lifetime --------------------------------------------------------------- */

int scitt_h1__start(scitt_h2_conn_t *c)
{
    scitt_h1_t *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return SCITT_ENOMEM;
    }
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = c;
    h->next_id = 1;
    scitt_buf_init(&h->text, NULL, 0);
    scitt_buf_init(&h->held, NULL, 0);
    nghttp2_session_del(c->session);
    c->session = NULL;
    c->h1 = h;
    c->proto = SCITT_PROTO_H1;
    return 0;
}

void scitt_h1__free(scitt_h1_t *h)
{
    if (h == NULL) {
        return;
    }
    scitt_buf_cleanup(&h->text);
    scitt_buf_cleanup(&h->held);
    free(h);
}
