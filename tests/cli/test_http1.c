/* The HTTP/1.1 responses of plain-HTTP GETs (src/client/http1.c, on libhttp-parser). */
#include <criterion/criterion.h>
#include <string.h>

#include "scitt/client.h"

static int parse(const char *text, bool eof, scitt_http1_response_t *r, scitt_buf_t *body)
{
    return scitt_http1_response_parse((const uint8_t *)text, strlen(text), eof, r, body);
}

Test(http1, content_length_chunked_and_close)
{
    scitt_http1_response_t r;
    scitt_buf_t body;
    scitt_buf_init(&body, NULL, 64);
    const char *len = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\ncontent-length:  5 \r\n\r\nhelloHTTP/1.1";
    cr_assert_eq(parse(len, false, &r, &body), 0);
    cr_assert_eq(r.status, 200);
    cr_assert(r.close, "HTTP/1.0 closes");
    cr_assert_eq(r.len, strlen(len) - 8);
    cr_assert(scitt_span_eq(scitt_buf_span(&body), scitt_span_str("hello")));
    /* Every prefix of it asks for more bytes, or is truncated at the end. */
    for (size_t n = 0; n + 8 < strlen(len); n++) {
        cr_assert_eq(scitt_http1_response_parse((const uint8_t *)len, n, false, &r, &body), SCITT_EAGAIN);
        int rc = scitt_http1_response_parse((const uint8_t *)len, n, true, &r, &body);
        cr_assert(rc == SCITT_ETRUNCATED || rc == SCITT_EMALFORMED, "prefix %zu: %d", n, rc);
    }
    const char *chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\n\r\n";
    cr_assert_eq(parse(chunked, false, &r, &body), 0);
    cr_assert(!r.close && r.chunked && r.len == strlen(chunked));
    cr_assert(scitt_span_eq(scitt_buf_span(&body), scitt_span_str("helloabc")));
    const char *until_close = "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nmissing";
    cr_assert_eq(parse(until_close, false, &r, &body), SCITT_EAGAIN);
    cr_assert_eq(parse(until_close, true, &r, &body), 0);
    cr_assert(r.status == 404 && r.close);
    cr_assert(scitt_span_eq(scitt_buf_span(&body), scitt_span_str("missing")));
    scitt_buf_cleanup(&body);
}

Test(http1, refused)
{
    scitt_http1_response_t r;
    scitt_buf_t body;
    scitt_buf_init(&body, NULL, 4);
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 600 Odd\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(parse(bad[i], true, &r, &body), SCITT_EMALFORMED, "case %zu", i);
    }
    /* A body over the buffer's maximum. */
    cr_assert_eq(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, &r, &body), SCITT_ETOOBIG);
    scitt_buf_cleanup(&body);
}
