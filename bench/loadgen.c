/*
 * loadgen.c: the HTTP/2 load generator for scittd (and, for baselines, any
 * h2c server), on the project's client module: K connections x M concurrent
 * streams on one libuv loop.
 *
 *   loadgen --url http://127.0.0.1:PORT [--mode post|entry|tile|path] ...
 *   loadgen --issuer DIR --alg ES256 --keys-only     # make the issuer key
 *   loadgen ... --issuer DIR --x5chain   # sign as bench/x5pki DIR's CI identity
 *
 * Modes: `post` registers pre-signed distinct statements (bench/stmtpool.c,
 * signed before the clock starts); `entry` GETs /entries/{id} for the ids a
 * post run wrote with --ids-out; `tile` GETs the full level-0 tiles of the
 * current checkpoint; `path` GETs one fixed path (a static file on nghttpd,
 * for the ratios).
 *
 * Closed loop (no --rate): every stream sends its next request as soon as
 * its answer arrives; the figure is the maximum throughput. Open loop
 * (--rate R): request i is due at t0 + i/R whatever happened before, and
 * its latency runs from that intended time, not from when a stream was free
 * to send it, so queueing inside the generator counts (no coordinated
 * omission). Requests still unsent when the schedule ends are counted as
 * `unsent` and enter the percentiles with their waiting time so far (a lower
 * bound).
 *
 * Bounded: loopback addresses only, at most --duration seconds of schedule
 * plus --timeout-ms of drain, then every connection is freed.
 *
 * Output: a human summary, one `LOADGEN key=value ...` line for scripts, and
 * a row appended to --csv. Exit status 1 when every connection failed
 * (the cause on stderr, e.g. "TLS: unknown CA: ..." over https).
 */
#include <signal.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "bench.h"
#include "latency.h"
#include "scitt/client.h"
#include "scitt/merkle.h"
#include "scitt/tls.h"
#include "stmtpool.h"

enum { MODE_POST, MODE_ENTRY, MODE_TILE, MODE_PATH };
static const char *const mode_names[] = {"post", "entry", "tile", "path"};

#define MAX_ERR_KINDS 8
#define TICK_MS       1

typedef struct opts {
    const char *url, *issuer, *ids_in, *ids_out, *csv, *label, *path, *cacert, *cert;
    int mode, alg;
    unsigned connections, streams, sign_threads;
    double rate, duration, warmup;
    size_t count, payload_len, issuers;
    uint64_t timeout_ms;
    bool keys_only, x5chain;
    long server_pid;
} opts_t;

typedef struct conn {
    scitt_client_t *client;
    size_t in_flight;
} conn_t;

typedef struct lg lg_t;

typedef struct slot {
    scitt_client_req_t req;
    lg_t *lg;
    conn_t *conn;
    uint64_t start_ns; /* intended send time (open loop) or actual (closed) */
    char path[192];
} slot_t;

struct lg {
    const opts_t *o;
    uv_loop_t loop;
    uv_timer_t tick;
    conn_t *conns;
    slot_t *slots;
    slot_t **free_slots;
    size_t num_free, rr;

    bench_pool_t pool;  /* post */
    char (*ids)[65];    /* entry */
    size_t num_ids;     /* entry */
    uint64_t num_tiles; /* tile */
    FILE *ids_out;

    uint64_t next, limit; /* requests issued so far, and at most */
    uint64_t t0, t_measure, t_end, t_hard;
    uint64_t t_exhausted; /* when the last request was issued before t_end, else 0 */
    bool issuing_over, closed;
    bool all_failed; /* every connection failed: exit 1 */

    uint64_t ok, completed, unsent, in_window;
    uint64_t by_status[600];
    int err_code[MAX_ERR_KINDS];
    uint64_t err_count[MAX_ERR_KINDS];
    bench_lat_t lat;
    double cpu_self, cpu_server, cpu_wall; /* seconds over the load phase */
};

/* cpu_seconds returns user + system CPU time of this process (pid 0) or of
 * process `pid` (from /proc, in clock ticks), or -1. */
static double cpu_seconds(long pid)
{
    if (pid == 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long utime, stime;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
        return -1;
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, why);
    exit(1);
}

static void count_error(lg_t *lg, int rc)
{
    for (int i = 0; i < MAX_ERR_KINDS; i++) {
        if (lg->err_count[i] == 0 || lg->err_code[i] == rc) {
            lg->err_code[i] = rc;
            lg->err_count[i]++;
            return;
        }
    }
    lg->err_count[MAX_ERR_KINDS - 1]++;
}

/* fill_request prepares `s` for request number `i` of the mode. */
static void fill_request(lg_t *lg, slot_t *s, uint64_t i)
{
    const opts_t *o = lg->o;
    scitt_client_req_cleanup(&s->req);
    switch (o->mode) {
    case MODE_POST:
        snprintf(s->path, sizeof(s->path), "/entries");
        scitt_client_req_init(&s->req, "POST", s->path);
        s->req.content_type = "application/cose";
        s->req.body = scitt_buf_span(&lg->pool.stmts[i]);
        break;
    case MODE_ENTRY:
        snprintf(s->path, sizeof(s->path), "/entries/%s", lg->ids[i % lg->num_ids]);
        scitt_client_req_init(&s->req, "GET", s->path);
        break;
    case MODE_TILE: {
        scitt_tile_path_t tp = {.index = i % lg->num_tiles};
        size_t n;
        s->path[0] = '/';
        scitt_merkle_tile_path_encode(s->path + 1, sizeof(s->path) - 1, &n, &tp);
        scitt_client_req_init(&s->req, "GET", s->path);
        break;
    }
    default:
        snprintf(s->path, sizeof(s->path), "%s", o->path);
        scitt_client_req_init(&s->req, "GET", s->path);
        break;
    }
    s->req.timeout_ms = o->timeout_ms;
}

static void on_done(scitt_client_req_t *req, int rc);

/* issue sends request number lg->next on a free stream, starting its clock
 * at `start_ns`. Returns false when no stream is free. */
static bool issue(lg_t *lg, uint64_t start_ns)
{
    size_t n = lg->o->connections;
    for (size_t k = 0; k < n && lg->num_free > 0; k++) {
        conn_t *c = &lg->conns[(lg->rr + k) % n];
        if (c->in_flight >= lg->o->streams || scitt_client_error(c->client) != 0) {
            continue;
        }
        lg->rr = (lg->rr + k + 1) % n;
        slot_t *s = lg->free_slots[--lg->num_free];
        fill_request(lg, s, lg->next);
        s->req.cb = on_done;
        s->req.data = s;
        s->conn = c;
        s->start_ns = start_ns;
        int rc = scitt_client_submit(c->client, &s->req);
        if (rc != 0) {
            lg->free_slots[lg->num_free++] = s;
            count_error(lg, rc);
            lg->next++; /* counted as failed; do not retry the same request */
            return true;
        }
        c->in_flight++;
        lg->next++;
        return true;
    }
    return false;
}

/* pump issues whatever is due: everything up to the limit in a closed loop,
 * the requests whose intended time has come in an open loop. */
static void pump(lg_t *lg)
{
    if (lg->issuing_over) {
        return;
    }
    uint64_t now = uv_hrtime();
    uint64_t due = lg->limit;
    if (lg->o->rate > 0) {
        due = (uint64_t)((double)(now - lg->t0) * lg->o->rate / 1e9) + 1;
        due = due < lg->limit ? due : lg->limit;
    }
    while (lg->next < due) {
        uint64_t start = lg->o->rate > 0 ? lg->t0 + (uint64_t)((double)lg->next * 1e9 / lg->o->rate) : uv_hrtime();
        if (!issue(lg, start)) {
            break;
        }
    }
    if (now < lg->t_end && lg->next < lg->limit) {
        return;
    }
    lg->issuing_over = true;
    lg->t_exhausted = now < lg->t_end ? now : 0;
    /* Open loop: due but never sent, because every stream was busy; they
     * waited at least until now. */
    for (uint64_t i = lg->next; lg->o->rate > 0 && i < due; i++) {
        uint64_t intended = lg->t0 + (uint64_t)((double)i * 1e9 / lg->o->rate);
        lg->unsent++;
        if (intended >= lg->t_measure) {
            bench_lat_add(&lg->lat, (double)(now - intended) / 1e6);
        }
    }
}

static void on_done(scitt_client_req_t *req, int rc)
{
    slot_t *s = req->data;
    lg_t *lg = s->lg;
    uint64_t now = uv_hrtime();
    s->conn->in_flight--;
    lg->completed++;
    bool ok = false;
    if (rc != 0) {
        count_error(lg, rc);
    } else {
        lg->by_status[req->status >= 0 && req->status < 600 ? req->status : 0]++;
        ok = lg->o->mode == MODE_POST ? req->status == 201 : req->status == 200;
        if (lg->ids_out != NULL && (req->status == 201 || req->status == 202) &&
            strncmp(req->location, "/entries/", 9) == 0) {
            fprintf(lg->ids_out, "%s\n", req->location + 9);
        }
    }
    if (ok) {
        lg->ok++;
        if (now >= lg->t_measure && now <= lg->t_end && (lg->t_exhausted == 0 || now <= lg->t_exhausted)) {
            lg->in_window++;
        }
    }
    if (s->start_ns >= lg->t_measure) {
        bench_lat_add(&lg->lat, (double)(now - s->start_ns) / 1e6);
    }
    lg->free_slots[lg->num_free++] = s;
    pump(lg);
}

static size_t total_in_flight(const lg_t *lg)
{
    size_t n = 0;
    for (unsigned k = 0; k < lg->o->connections; k++) {
        n += lg->conns[k].in_flight;
    }
    return n;
}

/* on_tick drives the open-loop schedule and ends the run: clients are freed
 * here, never from a request callback (client.h). */
static void on_tick(uv_timer_t *t)
{
    lg_t *lg = t->data;
    pump(lg);
    bool dead = true;
    for (unsigned k = 0; k < lg->o->connections; k++) {
        dead = dead && scitt_client_error(lg->conns[k].client) != 0;
    }
    if (dead && !lg->issuing_over) {
        int rc = scitt_client_error(lg->conns[0].client);
        fprintf(stderr, "loadgen: every connection failed (%s: %s)\n", scitt_err_name(rc), scitt_strerror(rc));
        lg->issuing_over = true;
        lg->all_failed = true;
    }
    if ((lg->issuing_over && total_in_flight(lg) == 0) || uv_hrtime() >= lg->t_hard) {
        for (unsigned k = 0; k < lg->o->connections; k++) {
            scitt_client_free(lg->conns[k].client); /* fails what is left with SCITT_ESHUTDOWN */
            lg->conns[k].client = NULL;
        }
        uv_close((uv_handle_t *)&lg->tick, NULL);
        lg->closed = true;
    }
}

/* load_ids reads one 64-hex-digit id per line. */
static void load_ids(lg_t *lg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        die(path, "cannot open");
    }
    char line[128];
    size_t cap = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strlen(line) < 64) {
            continue;
        }
        if (lg->num_ids == cap) {
            cap = cap != 0 ? 2 * cap : 1024;
            lg->ids = realloc(lg->ids, cap * sizeof(*lg->ids));
            if (lg->ids == NULL) {
                die("ids", "out of memory");
            }
        }
        memcpy(lg->ids[lg->num_ids], line, 64);
        lg->ids[lg->num_ids++][64] = '\0';
    }
    fclose(f);
    if (lg->num_ids == 0) {
        die(path, "no ids");
    }
}

/* tree_size asks the server's /checkpoint for the current size. */
static uint64_t tree_size(const scitt_client_url_t *url, const scitt_client_config_t *cfg)
{
    scitt_client_t *c;
    scitt_client_req_t req;
    uint64_t size = 0;
    if (scitt_client_new(&c, url, cfg) != 0) {
        die("checkpoint", "cannot connect");
    }
    scitt_client_req_init(&req, "GET", "/checkpoint");
    if (scitt_client_fetch(c, &req) != 0 || req.status != 200 || memchr(req.resp.base, '\n', req.resp.len) == NULL) {
        die("checkpoint", "no checkpoint");
    }
    const char *nl = memchr(req.resp.base, '\n', req.resp.len);
    size = strtoull(nl + 1, NULL, 10);
    scitt_client_req_cleanup(&req);
    scitt_client_free(c);
    return size;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --url http[s]://127.0.0.1:PORT [options]\n"
                    "       loadgen --issuer DIR [--alg ALG] --keys-only\n"
                    "  --mode post|entry|tile|path  what to send (default post)\n"
                    "  --connections K --streams M  K connections x M concurrent streams (default 4 x 32)\n"
                    "  --rate R                     open loop at R requests/s (default: closed loop)\n"
                    "  --duration S --warmup S      measured seconds, and unmeasured seconds before (default 10, 1)\n"
                    "  --count N                    post: statements to sign (default: rate x time, or 100000)\n"
                    "  --alg ES256|EdDSA|PS256      post: signature algorithm (default ES256)\n"
                    "  --issuer DIR                 post: issuer keys, DIR/keys is for scittd --issuer-keys\n"
                    "  --payload-bytes N            post: payload size (default 100, at most 4 MiB)\n"
                    "  --issuers N                  post: N distinct issuer keys in DIR, taking turns (default 1)\n"
                    "  --x5chain                    post: sign as the CI identity of bench/x5pki DIR (ES256; the\n"
                    "                               leaf and intermediate in x5chain, no kid)\n"
                    "  --sign-threads N             post: signing threads (default: CPUs)\n"
                    "  --ids-out FILE --ids FILE    post writes registered ids; entry reads them\n"
                    "  --path P                     path mode: the path to GET\n"
                    "  --timeout-ms MS              per request (default 60000)\n"
                    "  --server-pid PID             also report that process's CPU use during the load\n"
                    "  --csv FILE --label L         append a result row\n"
                    "  --cacert FILE                https: trust these PEM CAs (default: the system's)\n"
                    "  --cert FILE                  https: a PEM client certificate chain and its key, in one file\n");
    exit(2);
}

static void parse_opts(opts_t *o, int argc, char **argv)
{
    static const struct option longs[] = {{"url", 1, 0, 'u'},           {"mode", 1, 0, 'm'},
                                          {"connections", 1, 0, 'c'},   {"streams", 1, 0, 's'},
                                          {"rate", 1, 0, 'r'},          {"duration", 1, 0, 'd'},
                                          {"warmup", 1, 0, 'w'},        {"count", 1, 0, 'n'},
                                          {"alg", 1, 0, 'a'},           {"issuer", 1, 0, 'i'},
                                          {"payload-bytes", 1, 0, 'p'}, {"sign-threads", 1, 0, 't'},
                                          {"ids-out", 1, 0, 'O'},       {"ids", 1, 0, 'I'},
                                          {"path", 1, 0, 'P'},          {"timeout-ms", 1, 0, 'T'},
                                          {"server-pid", 1, 0, 'S'},    {"csv", 1, 0, 'C'},
                                          {"label", 1, 0, 'L'},         {"keys-only", 0, 0, 'K'},
                                          {"help", 0, 0, 'h'},          {"cacert", 1, 0, 'A'},
                                          {"cert", 1, 0, 'E'},          {"issuers", 1, 0, 'N'},
                                          {"x5chain", 0, 0, 'X'},       {0, 0, 0, 0}};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (opts_t){.mode = MODE_POST,
                  .alg = SCITT_ALG_ES256,
                  .connections = 4,
                  .streams = 32,
                  .duration = 10,
                  .warmup = 1,
                  .payload_len = 100,
                  .issuers = 1,
                  .sign_threads = cpus > 0 ? (unsigned)cpus : 1,
                  .timeout_ms = 60000,
                  .label = "",
                  .path = "/"};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'u':
            o->url = optarg;
            break;
        case 'm':
            o->mode = -1;
            for (int i = 0; i < (int)scitt_countof(mode_names); i++) {
                o->mode = strcmp(optarg, mode_names[i]) == 0 ? i : o->mode;
            }
            if (o->mode < 0) {
                usage();
            }
            break;
        case 'c':
            o->connections = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            o->streams = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            o->rate = strtod(optarg, NULL);
            break;
        case 'd':
            o->duration = strtod(optarg, NULL);
            break;
        case 'w':
            o->warmup = strtod(optarg, NULL);
            break;
        case 'n':
            o->count = strtoull(optarg, NULL, 10);
            break;
        case 'a':
            if (scitt_alg_from_name(optarg, &o->alg) != 0) {
                die("--alg", optarg);
            }
            break;
        case 'i':
            o->issuer = optarg;
            break;
        case 'p':
            o->payload_len = strtoull(optarg, NULL, 10);
            break;
        case 't':
            o->sign_threads = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'O':
            o->ids_out = optarg;
            break;
        case 'I':
            o->ids_in = optarg;
            break;
        case 'P':
            o->path = optarg;
            break;
        case 'T':
            o->timeout_ms = strtoull(optarg, NULL, 10);
            break;
        case 'C':
            o->csv = optarg;
            break;
        case 'L':
            o->label = optarg;
            break;
        case 'S':
            o->server_pid = strtol(optarg, NULL, 10);
            break;
        case 'K':
            o->keys_only = true;
            break;
        case 'A':
            o->cacert = optarg;
            break;
        case 'E':
            o->cert = optarg;
            break;
        case 'N':
            o->issuers = strtoull(optarg, NULL, 10);
            break;
        case 'X':
            o->x5chain = true;
            break;
        default:
            usage();
        }
    }
    if (optind != argc || (o->url == NULL && !o->keys_only) || o->connections == 0 || o->connections > 1000 ||
        o->streams == 0 || o->streams > 1000 || o->duration <= 0 || o->duration > 600 || o->warmup < 0 ||
        o->warmup > 60 || o->rate < 0 || o->rate > 1e6 || o->count > 20000000 || o->timeout_ms == 0 ||
        o->payload_len > ((size_t)4 << 20) || o->issuers == 0 || o->issuers > 100000) {
        usage();
    }
    if ((o->mode == MODE_POST || o->keys_only) && o->issuer == NULL) {
        die("post mode", "needs --issuer DIR");
    }
    if (o->x5chain && o->alg != SCITT_ALG_ES256) {
        die("--x5chain", "signs with ES256 (the P-256 leaf of bench/x5pki)");
    }
    if (o->mode == MODE_ENTRY && o->ids_in == NULL) {
        die("entry mode", "needs --ids FILE");
    }
}

static void report(lg_t *lg, double window_s)
{
    const opts_t *o = lg->o;
    bench_lat_summary_t sum;
    bench_lat_summarise(&lg->lat, &sum);
    double rate = window_s > 0 ? (double)lg->in_window / window_s : 0;
    uint64_t errors = lg->unsent;
    char errs[512] = "";
    size_t used = 0;
    for (int st = 0; st < 600; st++) {
        bool ok = o->mode == MODE_POST ? st == 201 : st == 200;
        if (lg->by_status[st] != 0 && !ok) {
            errors += lg->by_status[st];
            used += (size_t)snprintf(errs + used, sizeof(errs) - used, " %d:%" PRIu64, st, lg->by_status[st]);
        }
    }
    for (int i = 0; i < MAX_ERR_KINDS && used < sizeof(errs); i++) {
        if (lg->err_count[i] != 0) {
            errors += lg->err_count[i];
            used += (size_t)snprintf(errs + used, sizeof(errs) - used, " %s:%" PRIu64, scitt_err_name(lg->err_code[i]),
                                     lg->err_count[i]);
        }
    }
    if (lg->unsent != 0 && used < sizeof(errs)) {
        snprintf(errs + used, sizeof(errs) - used, " unsent:%" PRIu64, lg->unsent);
    }
    printf("loadgen %s: %s, %u connections x %u streams, %s", o->label, mode_names[o->mode], o->connections, o->streams,
           o->rate > 0 ? "open loop" : "closed loop");
    if (o->rate > 0) {
        printf(" at %.0f/s", o->rate);
    }
    printf(", %.1f s measured after %.1f s warm-up\n", window_s, o->warmup);
    printf("  issued %" PRIu64 ", completed %" PRIu64 ", ok %" PRIu64 ", not ok%s%s\n", lg->next, lg->completed, lg->ok,
           errs[0] != '\0' ? errs : " 0", "");
    printf("  throughput %.0f/s; latency ms (%zu samples): p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", rate,
           sum.num, sum.p50, sum.p90, sum.p99, sum.p999, sum.max);
    double cores_self = lg->cpu_self / lg->cpu_wall, cores_server = lg->cpu_server / lg->cpu_wall;
    printf("  CPU over the %.1f s of load: load generator %.2f cores", lg->cpu_wall, cores_self);
    if (lg->cpu_server >= 0) {
        printf(", server %.2f cores", cores_server);
    }
    printf("\n");
    printf("LOADGEN label=%s mode=%s offered=%.0f rate=%.0f ok=%" PRIu64 " errors=%" PRIu64
           " p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f client_cores=%.2f server_cores=%.2f\n",
           o->label[0] != '\0' ? o->label : "-", mode_names[o->mode], o->rate, rate, lg->ok, errors, sum.p50, sum.p90,
           sum.p99, sum.p999, sum.max, cores_self, lg->cpu_server >= 0 ? cores_server : 0);
    if (o->csv != NULL) {
        bool fresh = access(o->csv, F_OK) != 0;
        FILE *f = fopen(o->csv, "a");
        if (f == NULL) {
            die(o->csv, "cannot open");
        }
        if (fresh) {
            fprintf(f, "label,mode,alg,connections,streams,offered_rps,achieved_rps,issued,ok,errors,"
                       "p50_ms,p90_ms,p99_ms,p999_ms,max_ms\n");
        }
        fprintf(f, "%s,%s,%s,%u,%u,%.0f,%.0f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f,%.3f,%.3f\n", o->label,
                mode_names[o->mode], o->mode == MODE_POST ? scitt_alg_name(o->alg) : "-", o->connections, o->streams,
                o->rate, rate, lg->next, lg->ok, errors, sum.p50, sum.p90, sum.p99, sum.p999, sum.max);
        fclose(f);
    }
}

static void check_loopback(const scitt_client_url_t *url)
{
    if (strcmp(url->host, "127.0.0.1") != 0 && strcmp(url->host, "localhost") != 0 && strcmp(url->host, "::1") != 0) {
        die(url->host, "load tests run against loopback only (127.0.0.1, ::1, localhost)");
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* a killed server gives EPIPE, not death */
    opts_t o;
    parse_opts(&o, argc, argv);
    lg_t *lg = calloc(1, sizeof(*lg));
    if (lg == NULL) {
        die("start", "out of memory");
    }
    lg->o = &o;
    double total_s = o.warmup + o.duration;

    scitt_key_t **keys = NULL;
    if (o.mode == MODE_POST || o.keys_only) {
        const char *what;
        if (o.x5chain) {
            o.issuers = 1; /* one CI identity: the leaf's key */
        }
        keys = scitt_xmalloc(o.issuers * sizeof(*keys));
        int rc = o.x5chain && !o.keys_only ? bench_x5chain_load(&lg->pool, &keys[0], o.issuer, &what)
                                           : bench_issuer_keys(keys, o.issuers, o.issuer, o.alg, &what);
        if (rc != 0) {
            die(what, scitt_strerror(rc));
        }
        if (o.keys_only) {
            printf("loadgen: %zu issuer key(s) %s/%s*.key, public keys in %s/keys\n", o.issuers, o.issuer,
                   scitt_alg_name(o.alg), o.issuer);
            bench_issuer_keys_free(keys, o.issuers);
            free(keys);
            free(lg);
            return 0;
        }
    }
    scitt_client_url_t url;
    if (scitt_client_url_parse(&url, o.url, strlen(o.url)) != 0) {
        die(o.url, "not an http:// or https:// URL");
    }
    /* One TLS context for every connection (the process's lifetime). */
    scitt_client_config_t cfg = {.loop = &lg->loop, .max_requests = o.streams, .timeout_ms = o.timeout_ms};
    const char *why = NULL;
    if (url.tls && scitt_tls_client_ctx_new(&cfg.tls, o.cacert, o.cert, o.cert, &why) != 0) {
        die("tls", why);
    }
    check_loopback(&url);

    lg->limit = UINT64_MAX;
    if (o.mode == MODE_POST) {
        size_t n = o.count != 0 ? o.count : o.rate > 0 ? (size_t)(o.rate * total_s) + 1 : 100000;
        double t = bench_now();
        bench_pool_init(&lg->pool, keys, o.issuers, o.alg, n, o.payload_len, o.sign_threads);
        printf("loadgen: signed %zu %s statements%s (%zu bytes each, %zu issuers) in %.1f s\n", n,
               scitt_alg_name(o.alg), o.x5chain ? " with an x5chain" : "", lg->pool.stmts[0].len, o.issuers,
               bench_now() - t);
        lg->limit = n;
    } else if (o.mode == MODE_ENTRY) {
        load_ids(lg, o.ids_in);
    } else if (o.mode == MODE_TILE) {
        scitt_client_config_t own = {.tls = cfg.tls}; /* on the client's own loop */
        lg->num_tiles = tree_size(&url, &own) / 256;
        if (lg->num_tiles == 0) {
            die("tile mode", "the log has no full tile yet");
        }
    }
    if (o.rate > 0) {
        uint64_t n = (uint64_t)(o.rate * total_s) + 1;
        lg->limit = n < lg->limit ? n : lg->limit;
    }
    if (o.ids_out != NULL && (lg->ids_out = fopen(o.ids_out, "w")) == NULL) {
        die(o.ids_out, "cannot write");
    }

    if (uv_loop_init(&lg->loop) != 0) {
        die("loop", "cannot start");
    }
    size_t num_slots = (size_t)o.connections * o.streams;
    lg->conns = scitt_xmalloc(o.connections * sizeof(conn_t));
    lg->slots = scitt_xmalloc(num_slots * sizeof(slot_t));
    lg->free_slots = scitt_xmalloc(num_slots * sizeof(slot_t *));
    for (size_t i = 0; i < num_slots; i++) {
        scitt_client_req_init(&lg->slots[i].req, "GET", "/");
        lg->slots[i].lg = lg;
        lg->free_slots[lg->num_free++] = &lg->slots[i];
    }
    for (unsigned k = 0; k < o.connections; k++) {
        lg->conns[k].in_flight = 0;
        int rc = scitt_client_new(&lg->conns[k].client, &url, &cfg);
        if (rc != 0) {
            die("connect", scitt_strerror(rc));
        }
    }
    /* Samples: one per request at most (closed loops get room for a rate
     * far above anything this machine serves). */
    size_t cap = lg->limit != UINT64_MAX ? (size_t)lg->limit : (size_t)(total_s * 400000);
    bench_lat_init(&lg->lat, cap);

    lg->t0 = uv_hrtime();
    lg->t_measure = lg->t0 + (uint64_t)(o.warmup * 1e9);
    lg->t_end = lg->t0 + (uint64_t)(total_s * 1e9);
    lg->t_hard = lg->t_end + o.timeout_ms * 1000000u + 1000000000u;
    uv_timer_init(&lg->loop, &lg->tick);
    lg->tick.data = lg;
    uv_timer_start(&lg->tick, on_tick, TICK_MS, TICK_MS);
    double self0 = cpu_seconds(0), server0 = o.server_pid != 0 ? cpu_seconds(o.server_pid) : -1;
    pump(lg);
    uv_run(&lg->loop, UV_RUN_DEFAULT);
    lg->cpu_wall = (double)(uv_hrtime() - lg->t0) / 1e9;
    lg->cpu_self = cpu_seconds(0) - self0;
    lg->cpu_server = server0 >= 0 ? cpu_seconds(o.server_pid) - server0 : -1;

    /* The window ends at the end of the schedule, or when the pool ran out
     * (completions after that count no more: the streams run dry). */
    uint64_t end = lg->t_exhausted != 0 ? lg->t_exhausted : lg->t_end;
    double window_s = end > lg->t_measure ? (double)(end - lg->t_measure) / 1e9 : 0;
    report(lg, window_s);

    uv_loop_close(&lg->loop);
    for (size_t i = 0; i < num_slots; i++) {
        scitt_client_req_cleanup(&lg->slots[i].req);
    }
    if (lg->ids_out != NULL) {
        fclose(lg->ids_out);
    }
    bench_lat_cleanup(&lg->lat);
    bench_pool_cleanup(&lg->pool);
    if (keys != NULL) {
        bench_issuer_keys_free(keys, o.issuers);
        free(keys);
    }
    free(lg->ids);
    free(lg->free_slots);
    free(lg->slots);
    free(lg->conns);
    bool failed = lg->all_failed;
    free(lg);
    return failed ? 1 : 0;
}
