/*
 * serve.c: scitt_frontend_serve, a front end on its own loop with no
 * pipeline, until SIGINT or SIGTERM: what `scitt mirror --serve` runs over
 * a mirror's store (read-only: checkpoints, tiles, statements).
 */
#include <signal.h>
#include <uv.h>

#include "internal.h"

typedef struct serve {
    scitt_frontend_t *fe;
    uv_signal_t sigterm, sigint;
    bool stopping;
} serve_t;

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_done(void *ctx)
{
    serve_t *sv = ctx;
    uv_close((uv_handle_t *)&sv->sigterm, on_closed);
    uv_close((uv_handle_t *)&sv->sigint, on_closed);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    serve_t *sv = s->data;
    if (!sv->stopping) {
        sv->stopping = true;
        scitt_frontend_stop_accepting(sv->fe);
        scitt_frontend_shutdown(sv->fe, on_done, sv);
    }
}

int scitt_frontend_serve(const scitt_frontend_config_t *cfg, const char *host, uint16_t port, const char **out_err_desc)
{
    uv_loop_t loop;
    serve_t sv = {0};
    int rc = uv_loop_init(&loop);
    if (rc != 0) {
        *out_err_desc = "cannot start an event loop";
        return rc;
    }
    rc = scitt_frontend_new(&sv.fe, &loop, cfg, out_err_desc);
    if (rc == 0) {
        rc = scitt_frontend_listen(sv.fe, host, port, out_err_desc);
        if (rc != 0) {
            scitt_frontend_shutdown(sv.fe, NULL, NULL);
        }
    }
    if (rc == 0) {
        uv_signal_init(&loop, &sv.sigterm);
        uv_signal_init(&loop, &sv.sigint);
        sv.sigterm.data = sv.sigint.data = &sv;
        uv_signal_start(&sv.sigterm, on_signal, SIGTERM);
        uv_signal_start(&sv.sigint, on_signal, SIGINT);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    scitt_frontend_free(sv.fe);
    uv_loop_close(&loop);
    return rc;
}
