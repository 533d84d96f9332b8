/*
 * fuzz_h1_session: arbitrary bytes from a client into one HTTP/1.1
 * connection of scittd's front end (src/frontend/http1.c: libhttp-parser,
 * the smuggling gate, pipelining, the shared streams and routes), over an
 * empty log and without a pipeline (POST answers 503).
 *
 * The first input byte picks the read size, so requests split across reads
 * at every boundary; the second how many reads go by before the answers
 * are written (so pipelined requests pile up to the bound). Invariants:
 *   - every response head built is a whole HTTP/1.1 one ("HTTP/1.1 " ...
 *     CRLF CRLF), never anything a client could take for HTTP/0.9;
 *   - nothing was handed to a socket (write_pending stays 0);
 *   - every stream listed on the connection belongs to it;
 *   - freeing the connection returns the request-body count to 0, and
 *     LeakSanitizer sees nothing left behind.
 */
#include <string.h>

#include "frontend_fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fixture_init("fuzz_h1_session");
    return 0;
}

static void heads_ok(scitt_h2_conn_t *c)
{
    for (scitt_h2_link_t *l = c->streams.next; l != &c->streams; l = l->next) {
        const scitt_buf_t *h = &scitt_container_of(l, scitt_h2_stream_t, node)->head;
        if (h->len > 0 &&
            (h->len < 13 || memcmp(h->base, "HTTP/1.1 ", 9) != 0 || memcmp(h->base + h->len - 4, "\r\n\r\n", 4) != 0)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    size_t chunk = (size_t)data[0] * 3 + 1;
    unsigned flush_every = data[1] % 4 + 1;
    data += 2;
    size -= 2;
    scitt_h2_conn_t *c;
    if (scitt_h2__conn_new(fe, false, &c) != 0) {
        return 0;
    }
    scitt_h2__list_push(&fe->conns, &c->node);
    if (scitt_h1__start(c) != 0) {
        scitt_h2__conn_free(c);
        return 0;
    }
    unsigned reads = 0;
    for (size_t off = 0; off < size && !c->closing; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (scitt_h2__conn_recv(c, data + off, n) != 0) {
            break;
        }
        heads_ok(c);
        if (++reads % flush_every == 0) {
            scitt_h2__conn_flush(c);
        }
    }
    if (!c->closing) {
        heads_ok(c);
        scitt_h2__conn_flush(c);
    }
    fixture_end(c);
    return 0;
}
