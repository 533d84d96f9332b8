/*
 * frontend_fixture.h: the front end the session harnesses (fuzz_h2_session,
 * fuzz_h1_session) feed: an empty log in a temporary folder, keys, no
 * pipeline (POST answers 503), small limits so every limit path runs.
 */
#ifndef SCITT_FUZZ_FRONTEND_FIXTURE_H
#define SCITT_FUZZ_FRONTEND_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../src/frontend/internal.h"
#include "../src/store/tuning.h"

static uv_loop_t loop;
static scitt_frontend_t *fe;
static scitt_store_t *store;
static scitt_seq_keys_t keys;

/* fixture_init sets up `fe` over a store in a folder named after `name`;
 * aborts on failure. */
static void fixture_init(const char *name)
{
    char dir[128];
    const char *why = NULL;
    snprintf(dir, sizeof(dir), "/tmp/%s.XXXXXX", name);
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    static const struct scitt_store_tuning tu = {.map_size = 1u << 24};
    scitt_store_config_t scfg = {.dir = dir, .tuning = &tu};
    if (scitt_store_open(&store, &scfg, &why) != 0 || scitt_seq_keys_load(&keys, dir, store, &why) != 0 ||
        uv_loop_init(&loop) != 0) {
        fprintf(stderr, "%s: setup failed: %s\n", name, why != NULL ? why : "?");
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
}

/* fixture_streams_ok checks that every stream listed on `c` belongs to it. */
static void fixture_streams_ok(scitt_h2_conn_t *c)
{
    for (scitt_h2_link_t *l = c->streams.next; l != &c->streams; l = l->next) {
        if (scitt_container_of(l, scitt_h2_stream_t, node)->conn != c) {
            abort();
        }
    }
}

/* fixture_end frees `c` (nothing may have been handed to a socket) and
 * checks that no request body stayed counted. */
static void fixture_end(scitt_h2_conn_t *c)
{
    if (c->write_pending != 0) {
        abort();
    }
    fixture_streams_ok(c);
    scitt_h2__conn_free(c);
    if (fe->body_bytes != 0) {
        abort();
    }
    uv_run(&loop, UV_RUN_NOWAIT);
}

#endif /* SCITT_FUZZ_FRONTEND_FIXTURE_H */
