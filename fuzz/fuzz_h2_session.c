/*
 * fuzz_h2_session: arbitrary bytes from a client into one nghttp2 server
 * session with scittd's callbacks (src/frontend), as nghttp2's own
 * fuzz_target does, over an empty log and without a pipeline (POST answers
 * 503), so every route, header and body path runs. Input that does not
 * start with the HTTP/2 preface takes the HTTP/1.1 path (fuzz_h1_session
 * fuzzes that one).
 *
 * The first input byte picks the read size, so frames split across reads
 * at every boundary. Invariants checked after each input:
 *   - nothing was handed to a socket (write_pending stays 0);
 *   - every stream listed on the connection belongs to it;
 *   - freeing the connection returns the global request-body count to 0
 *     (no stream leaks its body accounting), and LeakSanitizer sees no
 *     stream, reg or buffer left behind.
 */
#include "frontend_fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fixture_init("fuzz_h2_session");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t chunk = (size_t)data[0] * 7 + 1;
    data++;
    size--;
    scitt_h2_conn_t *c;
    if (scitt_h2__conn_new(fe, false, &c) != 0) {
        return 0;
    }
    scitt_h2__list_push(&fe->conns, &c->node);
    for (size_t off = 0; off < size && !c->closing; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (scitt_h2__conn_recv(c, data + off, n) != 0) {
            break;
        }
        scitt_h2__conn_flush(c);
    }
    fixture_end(c);
    return 0;
}
