/*
 * config.c: scittd's options (see include/scitt/config.h).
 *
 * One table lists every option with its type, its field and its help text,
 * so the command line, the config file and --help cannot drift apart.
 * Command-line values win over the file: the file is applied first, then
 * every argument, whatever the order in which --config appears.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scitt/config.h"
#include "scitt/core.h"

/* OPT_BYTES: a size where 0 means "off" (caches); OPT_SIZE: a size > 0. */
typedef enum opt_type {
    OPT_STR,
    OPT_FLAG,
    OPT_UINT,
    OPT_SIZE,
    OPT_BYTES,
    OPT_U64,
    OPT_U32,
    OPT_LISTEN,
    OPT_LOG,
    OPT_LIST /* repeatable: each value is added (scitt_config_list_t) */
} opt_type_t;

typedef struct opt {
    const char *name; /* without dashes */
    opt_type_t type;
    size_t offset;
    const char *arg; /* shown in --help */
    const char *help;
} opt_t;

#define F(field) offsetof(scitt_config_t, field)

static const opt_t opts[] = {
    {"data", OPT_STR, F(data_dir), "DIR", "LMDB log and service keys (default ./scitt-data)"},
    {"database", OPT_STR, F(database), "URI",
     "keep the log in PostgreSQL instead of --data: a libpq URI or connection string (postgresql://user@host/db); "
     "several scittd may serve one database (with the same --keys): one sequences at a time, under a lease"},
    {"lease-ms", OPT_U64, F(lease_ms), "MS",
     "with --database: the sequencer lease; another scittd takes over within about this long after the one "
     "sequencing stops answering (default 3000, 500..5000)"},
    {"database-wait", OPT_UINT, F(database_wait_s), "SECONDS",
     "wait this long for an unreachable --database at start, retrying, then exit 1 (default 30, 0 = try once)"},
    {"keys", OPT_STR, F(keys_dir), "DIR",
     "service signing keys (default the --data folder); created when absent, only read once present"},
    {"publish-dir", OPT_STR, F(publish_dir), "DIR",
     "also write the committed log into DIR as static files laid out as this server's URLs (tiles, entry "
     "bundles, statements, checkpoint last), for any static web server or CDN to serve mirrors; refuses a "
     "database behind DIR/checkpoint"},
    {"check", OPT_FLAG, F(check), NULL,
     "verify the whole store offline (entries, tiles, tree heads, signed checkpoints) and exit: 0 when sound, "
     "1 naming the first damage"},
    {"listen", OPT_LISTEN, 0, "HOST:PORT", "address to serve HTTP/2 on (default 127.0.0.1:8000)"},
    {"origin", OPT_STR, F(origin), "NAME", "checkpoint origin and receipt issuer (default localhost/scittd)"},
    {"tls-cert", OPT_STR, F(tls_cert), "FILE", "PEM certificate chain; with --tls-key serves TLS 1.3/1.2 + ALPN h2"},
    {"tls-key", OPT_STR, F(tls_key), "FILE", "PEM private key of --tls-cert (without both: cleartext h2c)"},
    {"issuer-keys", OPT_STR, F(issuer_keys), "DIR",
     "every PEM public key in DIR is a trusted issuer (kid = its RFC 9679 thumbprint)"},
    {"trust-roots", OPT_STR, F(trust_roots), "FILE", "PEM bundle of root certificates for x5chain issuers"},
    {"x5chain-cache", OPT_BYTES, F(x5chain_cache), "N",
     "validated x5chain certificate chains kept, so a chain seen again is not validated again until a "
     "certificate's validity ends (default 4096; 0 = off)"},
    {"allow-unknown-issuers", OPT_FLAG, F(allow_unknown_issuers), NULL,
     "DEVELOPMENT ONLY: accept statements whose own x5chain or key verifies, without a trusted root"},
    {"workers", OPT_UINT, F(workers), "N", "verify threads (default 0 = number of CPUs)"},
    {"batch-max", OPT_SIZE, F(batch_max), "N", "entries per commit batch (default 16384)"},
    {"max-pending", OPT_SIZE, F(max_pending), "N",
     "statements accepted but not yet answered; above it POST answers 503 (default 100000)"},
    {"max-pending-bytes", OPT_SIZE, F(max_pending_bytes), "N",
     "bytes of those statements held at once; above it POST answers 503 (default 67108864)"},
    {"tile-cache-bytes", OPT_BYTES, F(tile_cache_bytes), "N",
     "memory for hashed full Merkle tiles, so receipts of old entries need no re-hashing (default 33554432; 0 = "
     "off)"},
    {"receipt-cache-bytes", OPT_BYTES, F(receipt_cache_bytes), "N",
     "memory for the receipts of the latest entries as they were issued, so reading them back is a copy "
     "(default 33554432; 0 = off)"},
    {"read-workers", OPT_UINT, F(read_workers), "N",
     "threads that read the store for GETs the io loop does not answer from memory (default 4)"},
    {"reads-in-pool", OPT_FLAG, F(reads_in_pool), NULL,
     "TESTS: send every store read to the read workers, as with a database server, even with LMDB"},
    {"commit-linger-us", OPT_BYTES, F(commit_linger_us), "US",
     "under sustained load, how long the sequencer waits for a fuller batch before committing (default 2000; 0 = "
     "off)"},
    {"register-wait-ms", OPT_U64, F(register_wait_ms), "MS",
     "how long POST waits for the commit before answering 202 (default 5000)"},
    {"max-statement-bytes", OPT_SIZE, F(max_statement_bytes), "N",
     "largest POST body; larger answers 413 (default 1048576)"},
    {"max-connections", OPT_SIZE, F(max_connections), "N", "concurrent client connections (default 10000)"},
    {"max-connections-per-address", OPT_SIZE, F(max_conns_per_addr), "N",
     "concurrent connections from one client address (IPv4, or IPv6 /64); more are closed at accept (default "
     "1000)"},
    {"max-pending-per-address", OPT_SIZE, F(max_pending_per_addr), "N",
     "registrations from one client address waiting in the pipeline; above it POST answers 503 (default 25000)"},
    {"max-response-bytes", OPT_SIZE, F(max_response_bytes), "N",
     "response bytes queued for all clients; above it stalled connections are closed and large responses "
     "answer 503 (default 134217728)"},
    {"max-streams-total", OPT_SIZE, F(max_streams_total), "N",
     "open streams across all connections; more are refused with REFUSED_STREAM (default 32768)"},
    {"max-concurrent-streams", OPT_U32, F(max_streams), "N",
     "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection (default 100)"},
    {"max-header-bytes", OPT_SIZE, F(max_header_bytes), "N",
     "largest request header list; larger answers 431 (default 16384)"},
    {"idle-timeout-ms", OPT_U64, F(idle_timeout_ms), "MS",
     "close a connection that makes no progress for this long, zero-window stalls included (default 60000)"},
    {"request-timeout-ms", OPT_U64, F(request_timeout_ms), "MS",
     "a request's headers and body must arrive within this (slow clients; default 30000)"},
    {"post-rate", OPT_BYTES, F(post_rate), "N",
     "registrations (POST /entries) per second from one client address (IPv4, or IPv6 /64) without "
     "credentials, and as many polls of pending entries; past it 429 + Retry-After (default 100; 0 = off)"},
    {"post-burst", OPT_SIZE, F(post_burst), "N",
     "how many of those one address may send at once before --post-rate applies (default 1000)"},
    {"tokens", OPT_STR, F(tokens), "FILE",
     "POST /entries needs `Authorization: Bearer TOKEN` with SHA-256(TOKEN) one of FILE's lines (64 hex "
     "digits); read at start. Reads stay public; authenticated clients are not rate-limited"},
    {"client-ca", OPT_STR, F(client_ca), "FILE",
     "with TLS, POST /entries needs a client certificate chaining to FILE's PEM certificates (asked for, not "
     "required, so reads need none); with --tokens either credential suffices"},
    {"checkpoint-interval-ms", OPT_U64, F(checkpoint_interval_ms), "MS",
     "with --witness: publish the latest checkpoint (and ask the witnesses to cosign it) at most once per MS, at "
     "once when the previous one is older (default 1000)"},
    {"witness", OPT_LIST, F(witnesses), "VKEY@URL",
     "a C2SP witness: its cosignature vkey line, '@', the URL prefix of its add-checkpoint (repeatable); "
     "/checkpoint then serves the published checkpoint with the cosignatures collected for it"},
    {"witness-threshold", OPT_UINT, F(witness_threshold), "K",
     "cosignatures a published checkpoint should carry; one short of K is still served, and "
     "scittd_checkpoint_short says so (default every --witness)"},
    {"witness-timeout-ms", OPT_U64, F(witness_timeout_ms), "MS",
     "bound of each add-checkpoint call to a witness (default 5000)"},
    {"log-level", OPT_LOG, F(log_level), "LEVEL", "error, warn, info (default) or debug"},
};

#undef F

static void fail(char *err, size_t err_cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t err_cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_cap, fmt, ap);
    va_end(ap);
}

static char *dup_str(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

int scitt_config_init(scitt_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->data_dir = dup_str("./scitt-data", 12);
    cfg->listen_host = dup_str("127.0.0.1", 9);
    cfg->origin = dup_str("localhost/scittd", 16);
    if (cfg->data_dir == NULL || cfg->listen_host == NULL || cfg->origin == NULL) {
        scitt_config_cleanup(cfg);
        return SCITT_ENOMEM;
    }
    cfg->listen_port = 8000;
    cfg->database_wait_s = 30;
    cfg->batch_max = 16384;
    cfg->max_pending = 100000;
    cfg->max_pending_bytes = (size_t)64 << 20;
    cfg->tile_cache_bytes = (size_t)32 << 20;
    cfg->receipt_cache_bytes = (size_t)32 << 20;
    cfg->x5chain_cache = 4096;
    cfg->read_workers = 4;
    cfg->commit_linger_us = 2000;
    cfg->register_wait_ms = 5000;
    cfg->lease_ms = 3000;
    cfg->max_statement_bytes = 1u << 20;
    cfg->max_connections = 10000;
    cfg->max_conns_per_addr = 1000;
    cfg->max_pending_per_addr = 25000;
    cfg->max_response_bytes = (size_t)128 << 20;
    cfg->max_streams = 100;
    cfg->max_streams_total = 32768;
    cfg->max_header_bytes = 16384;
    cfg->idle_timeout_ms = 60000;
    cfg->request_timeout_ms = 30000;
    cfg->log_level = SCITT_LOG_INFO;
    cfg->post_rate = 100;
    cfg->post_burst = 1000;
    cfg->checkpoint_interval_ms = 1000;
    cfg->witness_timeout_ms = 5000;
    return 0;
}

void scitt_config_cleanup(scitt_config_t *cfg)
{
    char **strs[] = {&cfg->data_dir,    &cfg->listen_host, &cfg->origin,   &cfg->tls_cert, &cfg->tls_key,
                     &cfg->issuer_keys, &cfg->trust_roots, &cfg->database, &cfg->keys_dir, &cfg->publish_dir};
    for (size_t i = 0; i < scitt_countof(strs); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    free(cfg->tokens);
    free(cfg->client_ca);
    cfg->tokens = cfg->client_ca = NULL;
    for (size_t i = 0; i < cfg->witnesses.n; i++) {
        free(cfg->witnesses.v[i]);
    }
    free(cfg->witnesses.v);
    cfg->witnesses = (scitt_config_list_t){0};
}

static const opt_t *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < scitt_countof(opts); i++) {
        if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0) {
            return &opts[i];
        }
    }
    return NULL;
}

int scitt_config_parse_host_port(const char *v, size_t len, char *host, size_t host_cap, uint16_t *out_port)
{
    /* HOST:PORT, with [v6]:PORT for IPv6 literals. */
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--) {
        if (v[i - 1] == ':') {
            colon = v + i - 1;
            break;
        }
    }
    uint64_t port;
    if (colon == NULL || colon == v || scitt_parse_u64(colon + 1, (size_t)(v + len - colon - 1), &port) != 0 ||
        port == 0 || port > 65535) {
        return SCITT_EINVAL;
    }
    const char *h = v;
    size_t host_len = (size_t)(colon - v);
    if (host_len >= 2 && h[0] == '[' && h[host_len - 1] == ']') {
        h++;
        host_len -= 2;
    }
    if (host_len >= host_cap) {
        return SCITT_ETOOBIG;
    }
    memcpy(host, h, host_len);
    host[host_len] = '\0';
    *out_port = (uint16_t)port;
    return 0;
}

static int parse_listen(scitt_config_t *cfg, const char *v, size_t len)
{
    char host[256];
    uint16_t port;
    int rc = scitt_config_parse_host_port(v, len, host, sizeof(host), &port);
    if (rc != 0) {
        return rc == SCITT_ETOOBIG ? SCITT_EINVAL : rc;
    }
    char *h = dup_str(host, strlen(host));
    if (h == NULL) {
        return SCITT_ENOMEM;
    }
    free(cfg->listen_host);
    cfg->listen_host = h;
    cfg->listen_port = port;
    return 0;
}

/* apply sets one option from text `v` (`len` bytes, not NUL-terminated). */
static int apply(scitt_config_t *cfg, const opt_t *o, const char *v, size_t len)
{
    void *field = (char *)cfg + o->offset;
    uint64_t n = 0;
    switch (o->type) {
    case OPT_STR: {
        char *s = dup_str(v, len);
        if (s == NULL) {
            return SCITT_ENOMEM;
        }
        free(*(char **)field);
        *(char **)field = s;
        return 0;
    }
    case OPT_FLAG:
        if (len == 4 && memcmp(v, "true", 4) == 0) {
            *(bool *)field = true;
        } else if (len == 5 && memcmp(v, "false", 5) == 0) {
            *(bool *)field = false;
        } else {
            return SCITT_EINVAL;
        }
        return 0;
    case OPT_LISTEN:
        return parse_listen(cfg, v, len);
    case OPT_LIST: {
        scitt_config_list_t *l = field;
        char *d = dup_str(v, len);
        char **grown = d != NULL ? realloc(l->v, (l->n + 1) * sizeof(*l->v)) : NULL;
        if (grown == NULL) {
            free(d);
            return SCITT_ENOMEM;
        }
        l->v = grown;
        l->v[l->n++] = d;
        return 0;
    }
    case OPT_LOG: {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        for (size_t i = 0; i < scitt_countof(names); i++) {
            if (strlen(names[i]) == len && memcmp(names[i], v, len) == 0) {
                *(int *)field = (int)i;
                return 0;
            }
        }
        return SCITT_EINVAL;
    }
    default:
        break;
    }
    if (scitt_parse_u64(v, len, &n) != 0) {
        return SCITT_EINVAL;
    }
    switch (o->type) {
    case OPT_UINT:
        if (n > 4096) {
            return SCITT_EINVAL;
        }
        *(unsigned *)field = (unsigned)n;
        return 0;
    case OPT_U32:
        if (n == 0 || n > UINT32_MAX) {
            return SCITT_EINVAL;
        }
        *(uint32_t *)field = (uint32_t)n;
        return 0;
    case OPT_SIZE:
    case OPT_BYTES:
        if ((n == 0 && o->type == OPT_SIZE) || n > SIZE_MAX / 2) {
            return SCITT_EINVAL;
        }
        *(size_t *)field = (size_t)n;
        return 0;
    case OPT_U64:
        if (n == 0 || n > (uint64_t)1 << 40) {
            return SCITT_EINVAL;
        }
        *(uint64_t *)field = n;
        return 0;
    default:
        return SCITT_EINVAL;
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((*s)[*len - 1])) {
        (*len)--;
    }
}

int scitt_config_parse_file(scitt_config_t *cfg, const char *text, size_t len, const char *origin, char *err,
                            size_t err_cap)
{
    size_t line_no = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl : end;
        const char *line = p;
        size_t line_len = (size_t)(line_end - p);
        p = nl != NULL ? nl + 1 : end;
        line_no++;
        const char *hash = memchr(line, '#', line_len);
        if (hash != NULL) {
            line_len = (size_t)(hash - line);
        }
        trim(&line, &line_len);
        if (line_len == 0) {
            continue;
        }
        const char *eq = memchr(line, '=', line_len);
        if (eq == NULL) {
            fail(err, err_cap, "%s:%zu: expected `key = value`", origin, line_no);
            return SCITT_EINVAL;
        }
        const char *key = line, *val = eq + 1;
        size_t key_len = (size_t)(eq - line), val_len = (size_t)(line + line_len - val);
        trim(&key, &key_len);
        trim(&val, &val_len);
        const opt_t *o = find_opt(key, key_len);
        if (o == NULL) {
            fail(err, err_cap, "%s:%zu: unknown option `%.*s`", origin, line_no, (int)key_len, key);
            return SCITT_EINVAL;
        }
        int rc = apply(cfg, o, val, val_len);
        if (rc != 0) {
            fail(err, err_cap, "%s:%zu: bad value for %s: `%.*s`", origin, line_no, o->name, (int)val_len, val);
            return rc;
        }
    }
    return 0;
}

static int load_file(scitt_config_t *cfg, const char *path, char *err, size_t err_cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        fail(err, err_cap, "--config %s: %s", path, strerror(errno));
        return rc;
    }
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 1u << 20);
    int rc = 0;
    for (;;) {
        rc = scitt_buf_reserve(&buf, 4096);
        if (rc != 0) {
            fail(err, err_cap, "--config %s: file too large", path);
            break;
        }
        ssize_t n = read(fd, buf.base + buf.len, 4096);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            fail(err, err_cap, "--config %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0) {
            rc = scitt_config_parse_file(cfg, (const char *)buf.base, buf.len, path, err, err_cap);
            break;
        }
        buf.len += (size_t)n;
    }
    close(fd);
    scitt_buf_cleanup(&buf);
    return rc;
}

/* split_arg reads argv[*i] as `--name`, `--name=value` or `--name value`;
 * a separate value may not start with `--`. */
static int split_arg(int argc, char **argv, int *i, const opt_t **out_opt, const char **out_val, bool *is_config,
                     char *err, size_t err_cap)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0) {
        fail(err, err_cap, "unexpected argument `%s` (see --help)", a);
        return SCITT_EINVAL;
    }
    a += 2;
    const char *eq = strchr(a, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - a) : strlen(a);
    *is_config = name_len == 6 && memcmp(a, "config", 6) == 0;
    *out_opt = *is_config ? NULL : find_opt(a, name_len);
    if (!*is_config && *out_opt == NULL) {
        fail(err, err_cap, "unknown option `--%.*s` (see --help)", (int)name_len, a);
        return SCITT_EINVAL;
    }
    if (eq != NULL) {
        *out_val = eq + 1;
    } else if (!*is_config && (*out_opt)->type == OPT_FLAG) {
        *out_val = "true";
    } else if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
        *out_val = argv[++*i];
    } else if (*i + 1 < argc) {
        /* `--data --listen ...` forgot the value: never take the next
         * option as it (`--name=--value` when one starts so). */
        fail(err, err_cap, "option `--%.*s` needs a value, not `%s` (write --%.*s=VALUE for one starting with --)",
             (int)name_len, a, argv[*i + 1], (int)name_len, a);
        return SCITT_EINVAL;
    } else {
        fail(err, err_cap, "option `--%.*s` needs a value", (int)name_len, a);
        return SCITT_EINVAL;
    }
    return 0;
}

int scitt_config_parse_args(scitt_config_t *cfg, int argc, char **argv, char *err, size_t err_cap)
{
    /* Pass 1: --help and --config. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cfg->help = true;
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        const opt_t *o;
        const char *v;
        bool is_config;
        int rc = split_arg(argc, argv, &i, &o, &v, &is_config, err, err_cap);
        if (rc != 0) {
            return rc;
        }
        if (is_config) {
            rc = load_file(cfg, v, err, err_cap);
            if (rc != 0) {
                return rc;
            }
        }
    }
    /* Pass 2: everything else, so the command line wins. */
    for (int i = 1; i < argc; i++) {
        const opt_t *o;
        const char *v;
        bool is_config;
        int rc = split_arg(argc, argv, &i, &o, &v, &is_config, err, err_cap);
        if (rc != 0) {
            return rc;
        }
        if (is_config) {
            continue;
        }
        rc = apply(cfg, o, v, strlen(v));
        if (rc != 0) {
            fail(err, err_cap, "bad value for --%s: `%s`", o->name, v);
            return rc;
        }
    }
    if (cfg->lease_ms < 500 || cfg->lease_ms > 5000) {
        fail(err, err_cap, "--lease-ms must be between 500 and 5000 (%llu)", (unsigned long long)cfg->lease_ms);
        return SCITT_EINVAL;
    }
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        fail(err, err_cap, "--tls-cert and --tls-key go together");
        return SCITT_EINVAL;
    }
    if (cfg->client_ca != NULL && cfg->tls_cert == NULL) {
        fail(err, err_cap, "--client-ca needs TLS (--tls-cert and --tls-key)");
        return SCITT_EINVAL;
    }
    if (cfg->post_rate > 1000000 || cfg->post_burst > 1000000) {
        fail(err, err_cap, "--post-rate and --post-burst take at most 1000000");
        return SCITT_EINVAL;
    }
    return 0;
}

void scitt_config_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [options]\n"
            "       %s keys rotate --keys DIR [--receipt] [--checkpoint] [--checkpoint-transition SECONDS]\n"
            "\n"
            "scittd: a SCITT transparency service (SCRAPI-11 over HTTP/2, C2SP tiles and checkpoints).\n"
            "\n"
            "Options (each also readable from --config FILE as `name = value`, without the dashes;\n"
            "the command line wins):\n"
            "  --config FILE                 read options from FILE\n",
            prog, prog);
    for (size_t i = 0; i < scitt_countof(opts); i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", opts[i].name, opts[i].arg != NULL ? " " : "",
                 opts[i].arg != NULL ? opts[i].arg : "");
        fprintf(out, "  %-29s %s\n", left, opts[i].help);
    }
    fprintf(out, "  %-29s %s\n", "--help", "show this text");
    fprintf(out, "  %-29s %s\n", "--version", "print the version (git describe of the build) and exit");
}

/* A label part: printable ASCII only, at most 64 bytes, so a label never
 * carries control characters or a whole string into a message. */
static void label_part(char *out, size_t cap, const char *v, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < cap && n < 64; i++) {
        out[n++] = v[i] > ' ' && v[i] < 0x7f ? v[i] : '?';
    }
    out[n] = '\0';
    if (n == 0 && cap > 7) {
        memcpy(out, "default", 8);
    }
}

/* conninfo_value finds `key=value` (value bare or 'quoted') in a key=value
 * connection string or a URI's query; sets `*v` and `*len` when present. */
static void conninfo_value(const char *s, size_t s_len, const char *key, bool uri, const char **v, size_t *len)
{
    size_t key_len = strlen(key);
    const char *end = s + s_len;
    for (const char *p = s; p < end;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '&')) {
            p++;
        }
        const char *k = p;
        while (p < end && *p != '=' && *p != ' ' && *p != '&') {
            p++;
        }
        size_t k_len = (size_t)(p - k);
        while (p < end && *p == ' ') {
            p++;
        }
        if (p == end || *p != '=') {
            continue;
        }
        p++;
        while (!uri && p < end && *p == ' ') {
            p++;
        }
        const char *val = p;
        if (!uri && p < end && *p == '\'') {
            val = ++p;
            while (p < end && *p != '\'') {
                p += *p == '\\' && p + 1 < end ? 2 : 1;
            }
        } else {
            while (p < end && *p != (uri ? '&' : ' ')) {
                p++;
            }
        }
        if (k_len == key_len && memcmp(k, key, key_len) == 0) {
            *v = val;
            *len = (size_t)(p - val);
        }
        p += p < end ? 1 : 0;
    }
}

void scitt_config_database_label(const char *conninfo, char *out, size_t cap)
{
    const char *db = NULL, *host = NULL, *port = NULL, *query = conninfo;
    size_t db_len = 0, host_len = 0, port_len = 0, query_len = strlen(conninfo);
    bool uri = strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0;
    if (uri) {
        /* scheme://[user[:password]@]host[:port][,...][/dbname][?param=value&...] */
        const char *p = strstr(conninfo, "://") + 3;
        size_t auth_len = strcspn(p, "/?");
        const char *at = NULL;
        for (size_t i = 0; i < auth_len; i++) {
            at = p[i] == '@' ? p + i : at;
        }
        host = at != NULL ? at + 1 : p;
        host_len = (size_t)(p + auth_len - host);
        const char *colon = NULL; /* the last ':' outside an [IPv6] literal */
        bool in_brackets = false;
        for (size_t i = 0; i < host_len; i++) {
            in_brackets = host[i] == '[' ? true : host[i] == ']' ? false : in_brackets;
            colon = host[i] == ':' && !in_brackets ? host + i : colon;
        }
        if (colon != NULL) {
            port = colon + 1;
            port_len = (size_t)(host + host_len - port);
            host_len = (size_t)(colon - host);
        }
        p += auth_len;
        if (*p == '/') {
            db = ++p;
            db_len = strcspn(p, "?");
            p += db_len;
        }
        query = *p == '?' ? p + 1 : p;
        query_len = strlen(query);
    }
    conninfo_value(query, query_len, "dbname", uri, &db, &db_len);
    conninfo_value(query, query_len, "host", uri, &host, &host_len);
    conninfo_value(query, query_len, "port", uri, &port, &port_len);
    char d[72], h[72], pt[72];
    label_part(d, sizeof(d), db, db != NULL ? db_len : 0);
    label_part(h, sizeof(h), host, host != NULL ? host_len : 0);
    label_part(pt, sizeof(pt), port, port != NULL ? port_len : 0);
    snprintf(out, cap, "database %s on %s:%s", d, h, pt);
}
