/*
 * witness.c: `scitt witness`: a C2SP tlog-witness (src/witness does the
 * checks and keeps the state) served by the project's front end (HTTP/2
 * h2c or TLS, and HTTP/1.1), and `scitt witness keygen`.
 *
 * The key file is one line with the witness's name, then its Ed25519
 * private key in PEM: the name is part of the key id, so the two travel
 * together.
 */
#include <getopt.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"
#include "scitt/config.h"
#include "scitt/frontend.h"
#include "scitt/tls.h"
#include "scitt/witness.h"

#define MAX_LOGS 64

static const char help[] = "usage: scitt witness keygen --name NAME --out KEYFILE\n"
                           "       scitt witness --key KEYFILE --dir DIR --listen HOST:PORT --log VKEY...\n"
                           "                     [--tls-cert PEM --tls-key PEM]\n\n"
                           "A transparency log witness (C2SP tlog-witness v1.0.0): it cosigns a log's\n"
                           "checkpoints once it has checked that each extends the last one it cosigned,\n"
                           "so clients that demand cosignatures from witnesses they trust (scitt mirror,\n"
                           "monitor and verify --witness) cannot be shown a split view of the log.\n\n"
                           "keygen writes a new Ed25519 witness key to KEYFILE (mode 0600; the first\n"
                           "line is NAME) and prints the witness's vkey line (NAME+<key id>+<key>, type\n"
                           "0x04): give it to the logs (scittd --witness 'VKEY@URL') and to clients.\n\n"
                           "Serving: POST /add-checkpoint, body \"old N\\n\", consistency proof lines,\n"
                           "an empty line and the checkpoint; answers 200 with a cosignature/v1 line,\n"
                           "404 unknown origin, 403 no valid signature by the log's key, 400 malformed\n"
                           "or old size above the checkpoint's, 409 (text/x.tlog.size: the size last\n"
                           "cosigned) when old size is not that size, 422 when the proof fails.\n"
                           "Also GET /metrics and /healthz. Over h2c and HTTP/1.1, or TLS (h2 or\n"
                           "http/1.1 by ALPN) with --tls-cert. Runs until SIGINT or SIGTERM.\n\n"
                           "  --key KEYFILE     the witness key (from keygen)\n"
                           "  --dir DIR         the witness's state (LMDB): the last cosigned size and\n"
                           "                    root per log, checked and updated atomically\n"
                           "  --listen H:P      address to serve on\n"
                           "  --log VKEY        a log's checkpoint vkey line (or a file holding one); its\n"
                           "                    name is the log's origin. Repeatable (several logs, or a\n"
                           "                    log's old and new key during a rotation)\n"
                           "  --tls-cert, --tls-key  PEM certificate chain and key: serve TLS\n";

/* read_key_file splits KEYFILE into the name (first line) and the key. */
static int load_witness_key(const char *path, char name[SCITT_NOTE_MAX_NAME + 1], scitt_key_t **key)
{
    scitt_buf_t text;
    scitt_buf_init(&text, NULL, 1 << 20);
    int status = -1;
    if (cli_read_file(path, &text) != 0) {
        goto done;
    }
    const uint8_t *nl = memchr(text.base, '\n', text.len);
    size_t name_len = nl != NULL ? (size_t)(nl - text.base) : 0;
    if (name_len == 0 || name_len > SCITT_NOTE_MAX_NAME) {
        cli_err("witness: %s: the first line must be the witness's name", path);
        goto done;
    }
    memcpy(name, text.base, name_len);
    name[name_len] = '\0';
    int rc = scitt_key_from_pem(key, nl + 1, text.len - name_len - 1);
    if (rc != 0 || !scitt_key_has_private(*key) || !scitt_key_supports(*key, SCITT_ALG_EDDSA)) {
        cli_err("witness: %s: no Ed25519 private key after the name line", path);
        scitt_key_free(*key);
        *key = NULL;
        goto done;
    }
    status = 0;
done:
    scitt_cleanse(text.base, text.len);
    scitt_buf_cleanup(&text);
    return status;
}

static int keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'}, {"out", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    const char *name = NULL, *out = NULL;
    int ch;
    while ((ch = cli_getopt(argc, argv, opts)) != -1) {
        if (ch == 'n') {
            name = optarg;
        } else if (ch == 'o') {
            out = optarg;
        } else {
            return cli_usage("witness", "unknown option");
        }
    }
    if (name == NULL || out == NULL || optind != argc) {
        return cli_usage("witness", "keygen needs --name NAME and --out KEYFILE");
    }
    scitt_key_t *key = NULL;
    scitt_cosigner_t c;
    scitt_buf_t file, vkey;
    scitt_buf_init(&file, NULL, 0);
    scitt_buf_init(&vkey, NULL, 0);
    int status = CLI_FAIL;
    int rc = scitt_key_generate(&key, SCITT_ALG_EDDSA);
    if (rc == 0 && scitt_cosigner_init(&c, name, key) != 0) {
        scitt_key_free(key);
        scitt_buf_cleanup(&file);
        return cli_usage("witness", "--name must be a note key name: no spaces, '+' or control characters");
    }
    rc = rc != 0 ? rc : scitt_buf_printf(&file, "%s\n", name);
    rc = rc != 0 ? rc : scitt_key_private_pem(key, &file);
    rc = rc != 0 ? rc : scitt_cosigner_vkey(&vkey, &c);
    if (rc != 0) {
        cli_err("witness: keygen: %s", scitt_strerror(rc));
    } else if (cli_write_file(out, scitt_buf_span(&file), 0600) == 0) {
        printf("%.*s\n", (int)vkey.len, (const char *)vkey.base);
        fprintf(stderr, "scitt: wrote the witness key %s\n", out);
        status = CLI_OK;
    }
    scitt_cleanse(file.base, file.len);
    scitt_buf_cleanup(&file);
    scitt_buf_cleanup(&vkey);
    scitt_key_free(key);
    return status;
}

/* The front end's service: POST /add-checkpoint, on a pool thread. */
static void handle(void *ctx, const char *method, const char *path, scitt_span_t body, scitt_frontend_reply_t *r)
{
    scitt_witness_t *w = ctx;
    size_t path_len = strcspn(path, "?");
    if (path_len != 15 || memcmp(path, "/add-checkpoint", 15) != 0) {
        r->status = 404;
        r->title = "Not Found";
        snprintf(r->detail, sizeof(r->detail), "a witness serves POST /add-checkpoint");
        return;
    }
    if (strcmp(method, "POST") != 0) {
        r->status = 405;
        r->title = "Method Not Allowed";
        snprintf(r->detail, sizeof(r->detail), "add-checkpoint takes POST");
        return;
    }
    const char *why = NULL;
    r->status = scitt_witness_add_checkpoint(w, body.base, body.len, (uint64_t)time(NULL), &r->body, &why);
    if (r->status == 200) {
        r->content_type = "text/plain; charset=utf-8";
        return;
    }
    if (r->status == 409) {
        r->content_type = "text/x.tlog.size";
    }
    static const struct {
        int status;
        const char *title;
    } titles[] = {{400, "Bad Request"},
                  {403, "Forbidden"},
                  {404, "Not Found"},
                  {409, "Conflict"},
                  {422, "Unprocessable Content"},
                  {500, "Internal Server Error"}};
    for (size_t i = 0; i < scitt_countof(titles); i++) {
        if (titles[i].status == r->status) {
            r->title = titles[i].title;
        }
    }
    snprintf(r->detail, sizeof(r->detail), "%s", why != NULL ? why : "");
    fprintf(stderr, "scitt: witness: add-checkpoint %d: %s\n", r->status, r->detail);
}

/* read_vkey_arg reads a vkey option's value into `line` (initialised
 * here): the value itself when it holds a '+', else the file it names,
 * without its final newline. 0, or -1 (reported). */
static int read_vkey_arg(const char *arg, scitt_buf_t *line)
{
    scitt_buf_init(line, NULL, 1 << 16);
    int rc = strchr(arg, '+') != NULL ? scitt_buf_append_str(line, arg) : cli_read_file(arg, line);
    while (rc == 0 && line->len > 0 && (line->base[line->len - 1] == '\n' || line->base[line->len - 1] == '\r')) {
        line->len--;
    }
    return rc == 0 ? 0 : -1;
}

/* load_log reads one --log value: a log's vkey line, or a file holding one. */
static int load_log(const char *arg, scitt_note_verifier_t *v)
{
    scitt_buf_t line;
    int rc = read_vkey_arg(arg, &line);
    if (rc == 0 && scitt_note_verifier_parse(v, (const char *)line.base, line.len) != 0) {
        cli_err("witness: --log %s is not a log's vkey line (Ed25519, type 0x01)", arg);
        rc = -1;
    }
    scitt_buf_cleanup(&line);
    return rc;
}

static int serve(const char *key_path, const char *dir, const char *listen, const char **logs, size_t num_logs,
                 const char *tls_cert, const char *tls_key)
{
    char host[256];
    uint16_t port;
    if (scitt_config_parse_host_port(listen, strlen(listen), host, sizeof(host), &port) != 0) {
        return cli_usage("witness", "--listen wants HOST:PORT");
    }
    if ((tls_cert == NULL) != (tls_key == NULL)) {
        return cli_usage("witness", "--tls-cert and --tls-key go together");
    }
    char name[SCITT_NOTE_MAX_NAME + 1];
    scitt_key_t *key = NULL;
    scitt_note_verifier_t verifiers[MAX_LOGS];
    size_t num_parsed = 0;
    scitt_cosigner_t c;
    bool have_c = false;
    scitt_witness_t *w = NULL;
    scitt_tls_ctx_t *tls = NULL;
    scitt_buf_t vkey;
    scitt_buf_init(&vkey, NULL, 0);
    const char *why = NULL;
    int status = CLI_FAIL;
    if (load_witness_key(key_path, name, &key) != 0) {
        goto done;
    }
    if (scitt_cosigner_init(&c, name, key) != 0) {
        cli_err("witness: %s: the name is not a note key name", key_path);
        goto done;
    }
    have_c = true;
    for (; num_parsed < num_logs; num_parsed++) {
        if (load_log(logs[num_parsed], &verifiers[num_parsed]) != 0) {
            goto done;
        }
    }
    if (tls_cert != NULL && scitt_tls_ctx_new(&tls, tls_cert, tls_key, &why) != 0) {
        cli_err("witness: TLS: %s", why);
        goto done;
    }
    scitt_witness_config_t wcfg = {.dir = dir, .cosigner = &c, .logs = verifiers, .num_logs = num_logs};
    int rc = scitt_witness_open(&w, &wcfg, &why);
    if (rc != 0) {
        cli_err("witness: cannot open %s: %s", dir, why);
        goto done;
    }
    if (scitt_cosigner_vkey(&vkey, &c) != 0 || scitt_buf_append_byte(&vkey, 0) != 0) {
        goto done;
    }
    scitt_frontend_service_t svc = {.handle = handle, .ctx = w};
    scitt_frontend_config_t fcfg = {.origin = name,
                                    .vkey_line = (const char *)vkey.base,
                                    .tls = tls,
                                    .service = &svc,
                                    .max_statement_bytes = SCITT_WITNESS_MAX_BODY,
                                    .max_connections = 1000,
                                    .max_header_bytes = 16384,
                                    .max_streams = 100,
                                    .register_wait_ms = 1000,
                                    .idle_timeout_ms = 60000,
                                    .request_timeout_ms = 30000};
    printf("witness: %s serving %zu log key(s) on %s:%u (%s)\n%s\n", name, num_logs, host, port,
           tls != NULL ? "TLS" : "h2c, HTTP/1.1", (const char *)vkey.base);
    fflush(stdout);
    rc = scitt_frontend_serve(&fcfg, host, port, &why);
    if (rc != 0) {
        cli_err("witness: cannot serve on %s: %s (%s)", listen, why != NULL ? why : "", scitt_strerror(rc));
        goto done;
    }
    status = CLI_OK;
done:
    scitt_witness_close(w);
    scitt_tls_ctx_free(tls);
    for (size_t i = 0; i < num_parsed; i++) {
        scitt_note_verifier_cleanup(&verifiers[i]);
    }
    if (have_c) {
        scitt_cosigner_cleanup(&c);
    }
    scitt_key_free(key);
    scitt_buf_cleanup(&vkey);
    return status;
}

static int run(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0) {
        return keygen(argc - 1, argv + 1);
    }
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"listen", required_argument, NULL, 'l'},
                                         {"log", required_argument, NULL, 'g'},
                                         {"tls-cert", required_argument, NULL, 'c'},
                                         {"tls-key", required_argument, NULL, 'K'},
                                         {NULL, 0, NULL, 0}};
    const char *key = NULL, *dir = NULL, *listen = NULL, *tls_cert = NULL, *tls_key = NULL;
    const char *logs[MAX_LOGS];
    size_t num_logs = 0;
    int ch;
    while ((ch = cli_getopt(argc, argv, opts)) != -1) {
        switch (ch) {
        case 'k':
            key = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'g':
            if (num_logs == MAX_LOGS) {
                return cli_usage("witness", "at most %d --log keys", MAX_LOGS);
            }
            logs[num_logs++] = optarg;
            break;
        case 'c':
            tls_cert = optarg;
            break;
        case 'K':
            tls_key = optarg;
            break;
        default:
            return cli_usage("witness", "unknown option");
        }
    }
    if (key == NULL || dir == NULL || listen == NULL || num_logs == 0 || optind != argc) {
        return cli_usage("witness", "--key, --dir, --listen and at least one --log are required");
    }
    return serve(key, dir, listen, logs, num_logs, tls_cert, tls_key);
}

/* -- the witnesses a client demands -- */

int cli_witness_option(cli_witnesses_t *w, int ch, const char *arg, const char *cmd)
{
    if (ch == CLI_O_WITNESS) {
        if (w->num == CLI_MAX_WITNESSES) {
            return cli_usage(cmd, "at most %d --witness keys", CLI_MAX_WITNESSES);
        }
        w->args[w->num++] = arg;
        return 1;
    }
    if (ch == CLI_O_WITNESS_THRESHOLD) {
        if (scitt_parse_u64(arg, strlen(arg), &w->threshold) != 0 || w->threshold == 0 ||
            w->threshold > CLI_MAX_WITNESSES) {
            return cli_usage(cmd, "--witness-threshold wants 1..%d", CLI_MAX_WITNESSES);
        }
        return 1;
    }
    return 0;
}

int cli_witnesses_load(cli_witnesses_t *w, const char *cmd)
{
    if (w->num == 0 && w->threshold > 0) {
        return cli_usage(cmd, "--witness-threshold needs --witness keys");
    }
    if (w->num > 0 && w->threshold == 0) {
        w->threshold = 1;
    }
    if (w->threshold > w->num) {
        return cli_usage(cmd, "--witness-threshold %llu is more than the %zu --witness keys given",
                         (unsigned long long)w->threshold, w->num);
    }
    for (; w->loaded < w->num; w->loaded++) {
        scitt_buf_t line;
        if (read_vkey_arg(w->args[w->loaded], &line) != 0 ||
            scitt_cosigner_parse(&w->list[w->loaded], (const char *)line.base, line.len) != 0) {
            scitt_buf_cleanup(&line);
            cli_err("%s: --witness %s is not a witness's vkey line (cosignature/v1, type 0x04)", cmd,
                    w->args[w->loaded]);
            return CLI_FAIL;
        }
        scitt_buf_cleanup(&line);
        for (size_t i = 0; i < w->loaded; i++) {
            if (strcmp(w->list[i].v.name, w->list[w->loaded].v.name) == 0 &&
                memcmp(w->list[i].v.id, w->list[w->loaded].v.id, 4) == 0) {
                w->loaded++;
                return cli_usage(cmd, "--witness %s is given twice", w->args[w->loaded - 1]);
            }
        }
    }
    return CLI_OK;
}

void cli_witnesses_free(cli_witnesses_t *w)
{
    for (size_t i = 0; i < w->loaded; i++) {
        scitt_cosigner_cleanup(&w->list[i]);
    }
    w->loaded = 0;
}

const cli_cmd_t cli_witness = {"witness", "a log witness: cosign checkpoints that extend the last one (C2SP)", help,
                               run};
