/*
 * follow.c: the mirror session that `scitt mirror` and `scitt monitor`
 * share (cli.h): open the mirror in DIR against URL, sync it (src/mirror
 * does every check and keeps the evidence), hand each verified round to the
 * caller, and with --follow go on every interval until SIGINT or SIGTERM.
 * Network trouble in --follow mode is retried; an inconsistency (10-15)
 * always stops.
 */
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

bool cli_stopping(void)
{
    return stop != 0;
}

static void progress(void *ud, uint64_t done, uint64_t target)
{
    cli_progress((const char *)ud, done, target);
}

/* vkey_arg returns the vkey line: a readable file's first line, or the
 * argument itself (vkey names contain '/', so only the file test tells). */
static char *vkey_arg(const char *arg)
{
    if (access(arg, R_OK) != 0) {
        return strdup(arg);
    }
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 4096);
    char *out = NULL;
    if (cli_read_file(arg, &b) == 0) {
        size_t n = 0;
        while (n < b.len && b.base[n] != '\n' && b.base[n] != '\r') {
            n++;
        }
        out = strndup((const char *)b.base, n);
    }
    scitt_buf_cleanup(&b);
    return out;
}

/* rounds runs sync rounds until one fails, the caller stops, or (with
 * follow) a signal arrives. */
static int rounds(const cli_follow_t *f, scitt_mirror_t *m, scitt_buf_t *msg)
{
    int verdict = SCITT_MIRROR_OK;
    while (verdict == SCITT_MIRROR_OK) {
        scitt_mirror_status_t st;
        scitt_buf_reset(msg);
        verdict = scitt_mirror_sync(m, &st, msg);
        cli_progress_end();
        if (verdict == SCITT_MIRROR_OK) {
            if (msg->len > 0) { /* a warning: an older checkpoint of a log that still serves ours */
                cli_err("%s: %.*s", f->cmd, (int)msg->len, (const char *)msg->base);
            }
            fprintf(f->out, "%s: verified checkpoint at tree size %llu\n", f->cmd, (unsigned long long)st.trusted_size);
            fflush(f->out);
            int rc = f->round != NULL ? f->round(f->ud, m, &st) : 0;
            if (rc != 0) {
                return rc;
            }
        } else if (verdict == SCITT_MIRROR_FAILED && f->follow) {
            /* Network trouble is not an inconsistency: say so and try again;
             * a round cut short by SIGINT/SIGTERM is no verdict either, so a
             * stopped follower exits 0 unless it saw an inconsistency. */
            if (!stop) {
                cli_err("%s: %.*s (will retry)", f->cmd, (int)msg->len, (const char *)msg->base);
            }
            verdict = SCITT_MIRROR_OK;
        }
        if (!f->follow || stop || verdict != SCITT_MIRROR_OK) {
            break;
        }
        for (uint64_t s = 0; s < f->interval * 10 && !stop; s++) {
            nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
        }
        if (stop) {
            break;
        }
    }
    if (verdict != SCITT_MIRROR_OK) {
        cli_err("%s: %s: %.*s", f->cmd, scitt_mirror_verdict_name(verdict), (int)msg->len, (const char *)msg->base);
    }
    return verdict;
}

int cli_follow(const cli_follow_t *f)
{
    char *vkey_line = f->vkey != NULL ? vkey_arg(f->vkey) : NULL;
    if (f->vkey != NULL && vkey_line == NULL) {
        return CLI_FAIL;
    }
    const scitt_client_config_t *ccfg = cli_client_config();
    if (ccfg == NULL) {
        free(vkey_line);
        return CLI_USAGE;
    }
    scitt_mirror_source_t src;
    int rc = scitt_mirror_source_open_with(&src, f->url, ccfg);
    if (rc != 0) {
        free(vkey_line);
        cli_err("cannot read the log at %s: %s", f->url, scitt_strerror(rc));
        return rc == SCITT_EINVAL ? CLI_USAGE : CLI_FAIL;
    }
    scitt_buf_t msg;
    scitt_buf_init(&msg, NULL, 0);
    scitt_mirror_t *m = NULL;
    scitt_mirror_config_t cfg = {.dir = f->dir,
                                 .vkey = vkey_line,
                                 .source = &src,
                                 .chunk_entries = f->chunk,
                                 .progress = progress,
                                 .progress_ud = (void *)f->cmd};
    if (f->witnesses != NULL) {
        cfg.witnesses = f->witnesses->list;
        cfg.num_witnesses = f->witnesses->loaded;
        cfg.witness_threshold = f->witnesses->threshold;
    }
    int verdict = scitt_mirror_open(&m, &cfg, &msg);
    if (verdict == SCITT_MIRROR_OK) {
        scitt_mirror_status_t st;
        scitt_mirror_get_status(m, &st);
        if (st.entries > st.trusted_size) {
            fprintf(f->out, "%s: resuming: %llu entries held, %llu under the last verified checkpoint\n", f->cmd,
                    (unsigned long long)st.entries, (unsigned long long)st.trusted_size);
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        rc = f->opened != NULL ? f->opened(f->ud, m) : 0;
        verdict = rc != 0 ? rc : rounds(f, m, &msg);
    } else {
        cli_err("%s: %s: %.*s", f->cmd, scitt_mirror_verdict_name(verdict), (int)msg.len, (const char *)msg.base);
    }
    scitt_mirror_close(m);
    scitt_mirror_source_close(&src);
    scitt_buf_cleanup(&msg);
    free(vkey_line);
    return verdict;
}
