/*
 * register.c: `scitt register`: POST /entries for one or many statements
 * over one HTTP/2 connection with up to --concurrency streams in flight.
 *
 * Each statement walks POST -> (201 receipt | 202 -> poll GET /entries/{id}
 * until 200). 503 and 429 are retried after Retry-After, or with
 * exponential backoff and jitter when the server gives none (SCRAPI-11
 * section 5.1); a dropped connection is replaced and its requests retried,
 * which is safe because the service registers a repeated statement once.
 * The poll path is computed from the statement (EntryID = SHA-256 of the
 * normalised statement) rather than taken from Location, so a base URL with
 * a prefix works; Location is still checked to name the same entry.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "scitt/receipt.h"
#include "scitt/tls.h"

static const char help[] = "usage: scitt register --url URL [--out RECEIPT] [--transparent OUT]\n"
                           "                      [--concurrency N] [--max-wait S] [--token-file FILE]\n"
                           "                      STATEMENT...\n\n"
                           "Registers each signed statement with the service at URL (SCRAPI-11) over one\n"
                           "HTTP/2 connection, N statements at a time (default 16). Follows 202 by polling\n"
                           "the receipt as Retry-After says; retries 503 and 429 after Retry-After or with\n"
                           "exponential backoff; reconnects if the connection drops. Prints one line per\n"
                           "statement: its file, EntryID, leaf index and tree size. Shows a progress bar\n"
                           "on a terminal when there are several statements.\n\n"
                           "  --out PATH          write the receipt (COSE_Sign1) to PATH\n"
                           "  --transparent PATH  write the transparent statement (receipt under 394)\n"
                           "                      With several statements both name folders, and files\n"
                           "                      are named <statement file>.receipt / .transparent.cose.\n"
                           "  --max-wait S        give up on a statement after S seconds (default 300)\n"
                           "  --token-file FILE   send `Authorization: Bearer TOKEN`, TOKEN being FILE's\n"
                           "                      first line, for a service that wants a token (scittd\n"
                           "                      --tokens); 429 (rate limited) waits as Retry-After says\n"
                           "  --cacert, --cert, --key  for https:// URLs: see `scitt help`\n"
                           "\n"
                           "Exit status 0 when every statement got a receipt.\n";

#define MAX_ATTEMPTS 8

typedef enum { ST_POST, ST_POLL, ST_DONE, ST_FAILED } state_t;

typedef struct job job_t;

typedef struct item {
    job_t *job;
    const char *file;
    scitt_buf_t stmt;
    char id[65];
    char poll_path[96];
    state_t state;
    int attempts;
    bool in_flight;
    uint64_t not_before; /* monotonic ms */
    uint64_t deadline;
    scitt_client_req_t req;
    cli_reg_t *reg; /* cli_register_batch's caller's (NULL for `scitt register`) */
} item_t;

struct job {
    item_t *items;
    size_t num, done, failed;
    size_t in_flight;
    const char *out, *transparent;
    bool many;
    char *authorization; /* "Bearer TOKEN" from --token-file, or NULL */
};

static int run_job(job_t *job, const char *url, const char *token_file, uint64_t concurrency, uint64_t max_wait);

/* backoff_ms is 0.5 s doubling to at most 30 s, with up to 50% jitter so
 * that many clients refused at once do not come back at once. */
static uint64_t backoff_ms(int attempt)
{
    uint64_t base = 500ull << (attempt < 6 ? attempt : 6);
    base = base > 30000 ? 30000 : base;
    uint8_t r;
    scitt_random(&r, 1);
    return base / 2 + base * r / 512;
}

static void fail_item(job_t *job, item_t *it, int outcome, const char *why)
{
    if (it->reg != NULL) {
        it->reg->outcome = outcome;
    }
    cli_progress_end();
    fprintf(stderr, "scitt: %s: %s\n", it->file, why);
    it->state = ST_FAILED;
    job->failed++;
    scitt_buf_cleanup(&it->stmt);
}

/* output_path names an output: the path itself for one statement, else
 * DIR/<basename of the statement><suffix>. */
static void output_path(char *out, size_t cap, const job_t *job, const char *where, const item_t *it,
                        const char *suffix)
{
    if (!job->many) {
        snprintf(out, cap, "%s", where);
        return;
    }
    const char *base = strrchr(it->file, '/');
    snprintf(out, cap, "%s/%s%s", where, base != NULL ? base + 1 : it->file, suffix);
}

/* finish takes the receipt, checks it is one for this statement's entry,
 * and writes the outputs asked for. */
static void finish(job_t *job, item_t *it, scitt_span_t receipt)
{
    scitt_receipt_t *r = scitt_xmalloc(sizeof(*r));
    const char *why = NULL;
    int rc = scitt_receipt_decode(r, receipt.base, receipt.len, &why);
    if (rc != 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "the service answered with a malformed receipt: %s", why != NULL ? why : "");
        fail_item(job, it, CLI_FAIL, msg);
        free(r);
        return;
    }
    char path[4096];
    bool ok = true;
    if (it->reg != NULL) {
        snprintf(path, sizeof(path), "%s", it->reg->transparent);
    }
    if (job->out != NULL) {
        output_path(path, sizeof(path), job, job->out, it, ".receipt");
        ok = cli_write_file(path, receipt, 0644) == 0;
    }
    if (ok && (job->transparent != NULL || it->reg != NULL)) {
        scitt_cose_sign1_t s;
        scitt_buf_t ts;
        scitt_buf_init(&ts, NULL, 0);
        if (it->reg == NULL) {
            output_path(path, sizeof(path), job, job->transparent, it, ".transparent.cose");
        }
        ok = scitt_cose_sign1_decode(&s, it->stmt.base, it->stmt.len, CLI_MAX_STATEMENT, NULL) == 0 &&
             scitt_receipt_transparent(&ts, &s, receipt) == 0 && cli_write_file(path, scitt_buf_span(&ts), 0644) == 0;
        scitt_buf_cleanup(&ts);
    }
    if (ok) {
        cli_progress_end();
        printf("%s %s leaf %llu tree %llu\n", it->file, it->id, (unsigned long long)r->leaf_index,
               (unsigned long long)r->tree_size);
        it->state = ST_DONE;
        job->done++;
        if (it->reg != NULL) {
            it->reg->outcome = CLI_OK;
        }
        scitt_buf_cleanup(&it->stmt);
    } else {
        fail_item(job, it, CLI_FAIL, "cannot write its outputs");
    }
    free(r);
}

/* schedule sets when `it` runs next: after `delay_ms`, but never past its
 * --max-wait deadline, so a huge Retry-After cannot outlast it (the step
 * that runs at the deadline then gives up in handle()). */
static void schedule(item_t *it, uint64_t delay_ms)
{
    uint64_t at = cli_now_ms() + delay_ms;
    it->not_before = at < it->deadline ? at : it->deadline;
}

static uint64_t server_delay_ms(int64_t retry_after, uint64_t fallback_ms)
{
    return retry_after >= 0 ? (uint64_t)retry_after * 1000 : fallback_ms;
}

/* retry schedules the same step again, or gives up after MAX_ATTEMPTS. */
static void retry(job_t *job, item_t *it, int64_t retry_after, const char *why)
{
    if (++it->attempts > MAX_ATTEMPTS) {
        char msg[256];
        snprintf(msg, sizeof(msg), "giving up after %d attempts: %s", MAX_ATTEMPTS, why);
        fail_item(job, it, CLI_UNAVAILABLE, msg);
        return;
    }
    schedule(it, server_delay_ms(retry_after, backoff_ms(it->attempts)));
}

/* handle runs after a response (or a failure) for `it`. */
static void handle(job_t *job, item_t *it)
{
    scitt_client_req_t *req = &it->req;
    int status = req->status;
    if (req->rc != 0 && scitt_tls_refused(req->rc)) {
        fail_item(job, it, CLI_FAIL, scitt_strerror(req->rc)); /* the same certificate again */
    } else if (req->rc != 0) {
        retry(job, it, -1, scitt_strerror(req->rc));
    } else if (status == 429 && req->retry_after >= 0) {
        /* Rate-limited: the service says when to come back, which is no
         * failed attempt (--max-wait still bounds the wait). */
        schedule(it, server_delay_ms(req->retry_after, 1000));
    } else if (status == 503 || status == 429) {
        retry(job, it, req->retry_after, status == 503 ? "service unavailable (503)" : "too many requests (429)");
    } else if (it->state == ST_POST && status == 201) {
        finish(job, it, scitt_buf_span(&req->resp));
    } else if (it->state == ST_POST && status == 202) {
        const char *loc = req->location;
        size_t n = strlen(loc);
        if (n < 64 || strcmp(loc + n - 64, it->id) != 0) {
            cli_progress_end();
            fprintf(stderr, "scitt: %s: warning: Location %s does not name entry %s\n", it->file, loc, it->id);
        }
        it->state = ST_POLL;
        schedule(it, server_delay_ms(req->retry_after, 1000));
    } else if (it->state == ST_POLL && status == 200) {
        finish(job, it, scitt_buf_span(&req->resp));
    } else if (it->state == ST_POLL && status == 204) {
        schedule(it, server_delay_ms(req->retry_after, 1000));
    } else {
        cli_progress_end();
        cli_print_problem(it->file, req);
        if (it->reg != NULL) {
            it->reg->outcome = status >= 400 && status < 500 ? CLI_REJECTED : CLI_FAIL;
        }
        it->state = ST_FAILED;
        job->failed++;
        scitt_buf_cleanup(&it->stmt);
    }
    if ((it->state == ST_POST || it->state == ST_POLL) && cli_now_ms() >= it->deadline) {
        /* Still posting: the service never took it; polling: it did. */
        fail_item(job, it, it->state == ST_POST ? CLI_UNAVAILABLE : CLI_TIMEOUT, "no receipt within --max-wait");
    }
    scitt_client_req_cleanup(req);
}

static void on_response(scitt_client_req_t *req, int rc)
{
    (void)rc; /* also in req->rc, which handle reads */
    item_t *it = req->data;
    it->in_flight = false;
    it->job->in_flight--;
    handle(it->job, it);
}

/* start prepares a statement on first use: reads it and computes its id. */
static bool start(job_t *job, item_t *it)
{
    if (it->stmt.len > 0) {
        return true;
    }
    const char *why = NULL;
    if (it->reg != NULL && scitt_buf_append(&it->stmt, it->reg->stmt.base, it->reg->stmt.len) != 0) {
        fail_item(job, it, CLI_FAIL, "out of memory");
        return false;
    }
    if (it->reg == NULL && cli_read_file(it->file, &it->stmt) != 0) {
        fail_item(job, it, CLI_FAIL, "cannot be read");
        return false;
    }
    int rc = cli_entry_id(it->id, scitt_buf_span(&it->stmt), &why);
    if (rc != 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: %s", rc == SCITT_ETOOBIG ? "too large" : "not a signed statement",
                 why != NULL ? why : "");
        fail_item(job, it, CLI_FAIL, msg);
        return false;
    }
    snprintf(it->poll_path, sizeof(it->poll_path), "/entries/%s", it->id);
    if (it->reg != NULL) {
        memcpy(it->reg->id, it->id, sizeof(it->id));
    }
    return true;
}

static int submit(scitt_client_t *c, item_t *it)
{
    bool post = it->state == ST_POST;
    scitt_client_req_init(&it->req, post ? "POST" : "GET", post ? "/entries" : it->poll_path);
    if (post) {
        it->req.body = scitt_buf_span(&it->stmt);
        it->req.content_type = "application/cose";
    }
    it->req.accept = "application/cose";
    it->req.authorization = it->job->authorization;
    it->req.cb = on_response;
    it->req.data = it;
    return scitt_client_submit(c, &it->req);
}

/* bearer_header reads the token in the first line of `path` (surrounding
 * spaces and the line end dropped) and returns "Bearer TOKEN" (malloc'd),
 * or NULL after saying why. The token is never printed. */
static char *bearer_header(const char *path)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 64 * 1024);
    if (cli_read_file(path, &b) != 0) {
        return NULL;
    }
    const char *p = (const char *)b.base, *end = p + b.len;
    const char *nl = p != NULL ? memchr(p, '\n', b.len) : NULL;
    end = nl != NULL ? nl : end;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
        end--;
    }
    bool ok = p < end;
    for (const char *q = p; ok && q < end; q++) {
        ok = *q > ' ' && *q < 0x7f;
    }
    char *h = NULL;
    if (!ok) {
        cli_err("--token-file %s: the first line must hold the token (printable, no spaces)", path);
    } else {
        h = scitt_xmalloc(7 + (size_t)(end - p) + 1);
        memcpy(h, "Bearer ", 7);
        memcpy(h + 7, p, (size_t)(end - p));
        h[7 + (end - p)] = '\0';
    }
    if (b.base != NULL) {
        scitt_cleanse(b.base, b.len);
    }
    scitt_buf_cleanup(&b);
    return h;
}

static void free_secret(char *s)
{
    if (s != NULL) {
        scitt_cleanse(s, strlen(s));
        free(s);
    }
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"transparent", required_argument, NULL, 't'},
                                         {"concurrency", required_argument, NULL, 'c'},
                                         {"max-wait", required_argument, NULL, 'w'},
                                         {"token-file", required_argument, NULL, 'k'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *token_file = NULL;
    uint64_t concurrency = 16, max_wait = 300;
    job_t job = {0};
    int ch;
    while ((ch = cli_getopt_url(argc, argv, opts)) != -1) {
        switch (ch) {
        case 'u':
            url = optarg;
            break;
        case 'o':
            job.out = optarg;
            break;
        case 't':
            job.transparent = optarg;
            break;
        case 'c':
            if (scitt_parse_u64(optarg, strlen(optarg), &concurrency) != 0 || concurrency == 0 || concurrency > 1000) {
                return cli_usage("register", "--concurrency wants 1..1000");
            }
            break;
        case 'w':
            if (scitt_parse_u64(optarg, strlen(optarg), &max_wait) != 0 || max_wait == 0) {
                return cli_usage("register", "--max-wait wants seconds");
            }
            break;
        case 'k':
            token_file = optarg;
            break;
        default:
            return cli_usage("register", "unknown option");
        }
    }
    if (url == NULL || optind >= argc) {
        return cli_usage("register", "--url and at least one STATEMENT are required");
    }
    job.num = (size_t)(argc - optind);
    job.many = job.num > 1;
    const char *dirs[] = {job.out, job.transparent};
    for (size_t i = 0; job.many && i < 2; i++) {
        if (dirs[i] != NULL && mkdir(dirs[i], 0755) != 0 && errno != EEXIST) {
            cli_err("cannot create %s: %s", dirs[i], strerror(errno));
            return CLI_FAIL;
        }
    }
    job.items = calloc(job.num, sizeof(*job.items));
    if (job.items == NULL) {
        cli_err("out of memory");
        return CLI_FAIL;
    }
    for (size_t i = 0; i < job.num; i++) {
        job.items[i].file = argv[optind + (int)i];
    }
    return run_job(&job, url, token_file, concurrency, max_wait);
}

/* run_job registers the job's items (file and reg set; job->items taken
 * over), sending the bearer token of `token_file` (may be NULL), and
 * reports how many did not make it. */
static int run_job(job_t *job, const char *url, const char *token_file, uint64_t concurrency, uint64_t max_wait)
{
    uint64_t t0 = cli_now_ms();
    for (size_t i = 0; i < job->num; i++) {
        job->items[i].job = job;
        job->items[i].deadline = t0 + max_wait * 1000;
        scitt_buf_init(&job->items[i].stmt, NULL, 0);
    }

    scitt_client_t *c = NULL;
    if (token_file == NULL || (job->authorization = bearer_header(token_file)) != NULL) {
        c = cli_connect(url);
    }
    if (c == NULL) {
        free(job->items);
        return CLI_FAIL;
    }
    size_t next_scan = 0;
    while (job->done + job->failed < job->num) {
        /* A dead connection is replaced once its requests have failed back. */
        if (scitt_client_error(c) != 0 && job->in_flight == 0) {
            scitt_client_free(c);
            c = cli_connect(url);
            if (c == NULL) {
                break;
            }
        }
        uint64_t now = cli_now_ms(), wake = now + 1000;
        for (size_t k = 0; k < job->num && job->in_flight < concurrency; k++) {
            item_t *it = &job->items[(next_scan + k) % job->num];
            if (it->in_flight || it->state == ST_DONE || it->state == ST_FAILED) {
                continue;
            }
            if (it->not_before > now) {
                wake = it->not_before < wake ? it->not_before : wake;
                continue;
            }
            if (!start(job, it)) {
                continue;
            }
            int rc = submit(c, it);
            if (rc != 0) {
                it->req.rc = rc;
                handle(job, it);
                continue;
            }
            it->in_flight = true;
            job->in_flight++;
        }
        next_scan = (next_scan + 1) % job->num;
        if (job->in_flight > 0) {
            scitt_client_wait_any(c);
        } else if (job->done + job->failed < job->num) {
            scitt_client_sleep_ms(c, wake > now ? wake - now : 1);
        }
        if (job->many) {
            cli_progress("register", job->done + job->failed, job->num);
        }
    }
    cli_progress_end();
    for (size_t i = 0; i < job->num; i++) {
        scitt_buf_cleanup(&job->items[i].stmt);
        if (job->items[i].reg != NULL && job->items[i].state != ST_DONE && job->items[i].state != ST_FAILED) {
            job->items[i].reg->outcome = CLI_UNAVAILABLE; /* the connection could not be replaced */
        }
    }
    scitt_client_free(c);
    free(job->items);
    free_secret(job->authorization);
    if (job->failed > 0 || job->done < job->num) {
        cli_err("%zu of %zu statements registered", job->done, job->num);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_register_batch(const char *url, cli_reg_t *regs, size_t num, uint64_t max_wait)
{
    job_t job = {.num = num, .items = calloc(num, sizeof(item_t))};
    if (job.items == NULL) {
        cli_err("out of memory");
        return CLI_FAIL;
    }
    for (size_t i = 0; i < num; i++) {
        regs[i].outcome = CLI_UNAVAILABLE;
        job.items[i].file = regs[i].name;
        job.items[i].reg = &regs[i];
    }
    return run_job(&job, url, NULL, 16, max_wait);
}

const cli_cmd_t cli_register = {"register", "register statements and collect their receipts", help, run};
