/* util.c: helpers shared by the subcommands (see cli.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "scitt/tls.h"

void cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("scitt: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "scitt %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see `scitt help %s`)\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_getopt(int argc, char **argv, const struct option *opts)
{
    int ch = getopt_long(argc, argv, "", opts, NULL);
    /* optarg is the next argument itself (not the text after `=`). */
    if (ch != -1 && ch != '?' && optarg != NULL && optind >= 2 && optarg == argv[optind - 1] &&
        strncmp(optarg, "--", 2) == 0) {
        fprintf(stderr, "scitt %s: option '%s' needs a value, not '%s' (write %s=VALUE for one starting with --)\n",
                argv[0], argv[optind - 2], optarg, argv[optind - 2]);
        return '?';
    }
    return ch;
}

uint64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cli_read_file(const char *path, scitt_buf_t *out)
{
    int rc = strcmp(path, "-") == 0 ? scitt_read_stream(stdin, out) : scitt_read_file(path, out);
    if (rc != 0) {
        cli_err("cannot read %s: %s", path, scitt_strerror(rc));
        return -1;
    }
    return 0;
}

int cli_write_file(const char *path, scitt_span_t data, int mode)
{
    if (strcmp(path, "-") == 0) {
        if (fwrite(data.base, 1, data.len, stdout) != data.len || fflush(stdout) != 0) {
            cli_err("cannot write to stdout: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
        cli_err("path too long: %s", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        cli_err("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    size_t off = 0;
    while (off < data.len) {
        ssize_t n = write(fd, data.base + off, data.len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    int err = off == data.len && fsync(fd) == 0 ? 0 : errno;
    close(fd);
    if (err == 0 && rename(tmp, path) != 0) {
        err = errno;
    }
    if (err != 0) {
        unlink(tmp);
        cli_err("cannot write %s: %s", path, strerror(err));
        return -1;
    }
    return 0;
}

scitt_key_t *cli_load_key(const char *path)
{
    scitt_buf_t pem;
    scitt_buf_init(&pem, NULL, 1 << 20);
    scitt_key_t *key = NULL;
    if (cli_read_file(path, &pem) == 0) {
        int rc = scitt_key_from_pem(&key, pem.base, pem.len);
        if (rc != 0) {
            cli_err("%s: not a supported PEM key: %s", path, scitt_strerror(rc));
            key = NULL;
        }
    }
    scitt_cleanse(pem.base, pem.len);
    scitt_buf_cleanup(&pem);
    return key;
}

int cli_key_alg(const scitt_key_t *key)
{
    static const int algs[] = {SCITT_ALG_ES256, SCITT_ALG_ES384, SCITT_ALG_ES512, SCITT_ALG_EDDSA, SCITT_ALG_PS256};
    for (size_t i = 0; i < scitt_countof(algs); i++) {
        if (scitt_key_supports(key, algs[i])) {
            return algs[i];
        }
    }
    return 0;
}

/* The TLS options, as given (one set per process: the CLI runs one
 * subcommand). */
static const char *tls_files[3]; /* --cacert, --cert, --key */

int cli_getopt_url(int argc, char **argv, const struct option *opts)
{
    enum { OPT_CACERT = 0x7100, OPT_CERT, OPT_KEY, MAX_OPTS = 64 }; /* values no subcommand uses */
    static const struct option tls_opts[] = {{"cacert", required_argument, NULL, OPT_CACERT},
                                             {"cert", required_argument, NULL, OPT_CERT},
                                             {"key", required_argument, NULL, OPT_KEY},
                                             {NULL, 0, NULL, 0}};
    static struct option all[MAX_OPTS];
    size_t n = 0;
    while (opts[n].name != NULL && n < MAX_OPTS - scitt_countof(tls_opts)) {
        all[n] = opts[n];
        n++;
    }
    memcpy(&all[n], tls_opts, sizeof(tls_opts));
    int ch;
    while ((ch = cli_getopt(argc, argv, all)) >= OPT_CACERT && ch <= OPT_KEY) {
        tls_files[ch - OPT_CACERT] = optarg;
    }
    return ch;
}

const scitt_client_config_t *cli_client_config(void)
{
    static scitt_client_config_t cfg;
    static bool made;
    if (!made && (tls_files[0] != NULL || tls_files[1] != NULL || tls_files[2] != NULL)) {
        const char *why = NULL;
        if (scitt_tls_client_ctx_new(&cfg.tls, tls_files[0], tls_files[1], tls_files[2], &why) != 0) {
            cli_err("%s", why != NULL ? why : "cannot set up TLS");
            return NULL;
        }
    }
    made = true;
    return &cfg; /* the context lives as long as the process */
}

scitt_client_t *cli_connect(const char *url)
{
    scitt_client_url_t u;
    if (scitt_client_url_parse(&u, url, strlen(url)) != 0) {
        cli_err("not a URL this client understands: %s (want http[s]://host[:port][/prefix])", url);
        return NULL;
    }
    const scitt_client_config_t *cfg = cli_client_config();
    if (cfg == NULL) {
        return NULL;
    }
    scitt_client_t *c;
    int rc = scitt_client_new(&c, &u, cfg);
    if (rc != 0) {
        cli_err("cannot connect to %s: %s", url, scitt_strerror(rc));
        return NULL;
    }
    return c;
}

void cli_print_problem(const char *what, const scitt_client_req_t *req)
{
    fprintf(stderr, "scitt: %s: HTTP %d", what, req->status);
    scitt_buf_t text;
    scitt_buf_init(&text, NULL, 0);
    if (strstr(req->content_type_resp, "problem") != NULL &&
        scitt_cose_diag(&text, req->resp.base, req->resp.len, NULL) == 0) {
        fprintf(stderr, " %.*s", (int)text.len, (const char *)text.base);
    } else {
        fputc('\n', stderr);
    }
    scitt_buf_cleanup(&text);
}

int cli_entry_id(char out[65], scitt_span_t stmt, const char **why)
{
    if (stmt.len > CLI_MAX_STATEMENT) {
        if (why != NULL) {
            *why = "over 64 MiB, more than scitt sends";
        }
        return SCITT_ETOOBIG;
    }
    scitt_cose_sign1_t s;
    int rc = scitt_cose_sign1_decode(&s, stmt.base, stmt.len, CLI_MAX_STATEMENT, why);
    if (rc == 0) {
        uint8_t entry[SCITT_SHA256_LEN];
        scitt_cose_entry(&s, entry);
        scitt_hex_encode(out, entry, sizeof(entry));
    }
    return rc;
}

void cli_time(char out[32], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, 32, "%lld", (long long)t);
    }
}

char *cli_kid_text(scitt_span_t kid)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    if (scitt_kid_append(&b, kid) != 0 || scitt_buf_append_byte(&b, '\0') != 0) {
        abort(); /* out of memory, as scitt_xmalloc */
    }
    char *out = scitt_xmalloc(b.len);
    memcpy(out, b.base, b.len);
    scitt_buf_cleanup(&b);
    return out;
}

static bool progress_shown;

void cli_progress(const char *label, uint64_t done, uint64_t total)
{
    if (!isatty(STDERR_FILENO) || total == 0) {
        return;
    }
    char bar[31];
    size_t fill = (size_t)(done >= total ? 30 : done * 30 / total);
    memset(bar, '#', fill);
    memset(bar + fill, ' ', 30 - fill);
    bar[30] = '\0';
    fprintf(stderr, "\r%s [%s] %llu/%llu", label, bar, (unsigned long long)done, (unsigned long long)total);
    progress_shown = true;
}

void cli_progress_end(void)
{
    if (progress_shown) {
        fputc('\n', stderr);
        progress_shown = false;
    }
}
