/*
 * fuzz_h2_session: arbitrary bytes from a client into one nghttp2 server
 * session with scittd's callbacks (src/frontend), as nghttp2's own
 * fuzz_target does, over an empty log and without a pipeline (POST answers
 * 503), so every route, header and body path runs.
 *
 * The first input byte picks the read size, so frames split across reads
 * at every boundary. Invariants checked after each input:
 *   - nothing was handed to a socket (write_pending stays 0);
 *   - every stream listed on the connection belongs to it;
 *   - freeing the connection returns the global request-body count to 0
 *     (no stream leaks its body accounting), and LeakSanitizer sees no
 *     stream, reg or buffer left behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../src/frontend/internal.h"
#include "../src/store/tuning.h"

static uv_loop_t loop;
static scitt_frontend_t *fe;
static scitt_store_t *store;
static scitt_seq_keys_t keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/fuzz_h2_session.XXXXXX";
    const char *why = NULL;
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    static const struct scitt_store_tuning tu = {.map_size = 1u << 24};
    scitt_store_config_t scfg = {.dir = dir, .tuning = &tu};
    if (scitt_store_open(&store, &scfg, &why) != 0 || scitt_seq_keys_load(&keys, dir, store, &why) != 0 ||
        uv_loop_init(&loop) != 0) {
        fprintf(stderr, "fuzz_h2_session: setup failed: %s\n", why != NULL ? why : "?");
        abort();
    }
    scitt_frontend_config_t cfg = {
        .store = store,
        .seq = NULL,
        .keys = &keys,
        .origin = "localhost/scittd",
        .max_statement_bytes = 4096,
        .max_connections = 16,
        .max_header_bytes = 4096,
        .max_streams = 100,
        .register_wait_ms = 5000,
        .idle_timeout_ms = 60000,
        .request_timeout_ms = 30000,
        .log_level = SCITT_LOG_ERROR,
    };
    if (scitt_frontend_new(&fe, &loop, &cfg, &why) != 0) {
        abort();
    }
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
    if (c->write_pending != 0) {
        abort();
    }
    for (scitt_h2_link_t *l = c->streams.next; l != &c->streams; l = l->next) {
        if (scitt_container_of(l, scitt_h2_stream_t, node)->conn != c) {
            abort();
        }
    }
    scitt_h2__conn_free(c);
    if (fe->body_bytes != 0) {
        abort();
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    return 0;
}
