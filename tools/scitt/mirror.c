/*
 * mirror.c: `scitt mirror`: keep a verified copy of a log (src/mirror does
 * the checking and storing, follow.c the rounds; this file is options and
 * --serve). The exit code is the verdict of the last round.
 */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "scitt/config.h"
#include "scitt/frontend.h"
#include "scitt/mirror.h"

static const char help[] = "usage: scitt mirror --url URL --dir DIR [--vkey VKEY] [--follow [--interval S]]\n"
                           "                    [--chunk N] [--serve HOST:PORT]\n"
                           "                    [--witness VKEY... [--witness-threshold K]]\n"
                           "       scitt mirror --dir DIR --serve HOST:PORT\n\n"
                           "Copies the log at URL into DIR (its own LMDB in DIR/db) and verifies it:\n"
                           "  - every checkpoint is signed by the log's key: --vkey (a vkey line or a file\n"
                           "    holding one), else the key pinned in DIR/checkpoint.vkey, else the one the\n"
                           "    log publishes at /checkpoint.vkey on first contact (then pinned);\n"
                           "  - each new checkpoint is consistent with the last one trusted: the log's\n"
                           "    tiles must reproduce both roots (recomputed, not taken from a proof);\n"
                           "  - every entry bundle matches its level-0 tile, every statement fetched\n"
                           "    from /entries/{id}/statement hashes to its entry, and every tile the\n"
                           "    mirror recomputes from the entries equals the one the log serves;\n"
                           "  - every receipt in a statement proves its leaf up to the log's root at the\n"
                           "    receipt's tree size and is signed by a key of /.well-known/scitt-keys.\n"
                           "Entries are committed as they are verified, so an interrupted mirror resumes\n"
                           "where it stopped. URL may be file:///path for a static copy of a log.\n\n"
                           "  --follow       keep going: a round every --interval seconds (default 5)\n"
                           "  --chunk N      entries verified and stored per step (default 1024)\n"
                           "  --cacert, --cert, --key  for https:// URLs: see `scitt help`\n" CLI_WITNESS_HELP
                           "  --serve H:P    after the sync (or without --url, at once), re-serve the\n"
                           "                 verified copy read-only over HTTP/2 (h2c) until SIGINT or\n"
                           "                 SIGTERM: /checkpoint, /checkpoint.vkey, /tile/...,\n"
                           "                 /entries/{id}/statement (the transparent statements the log\n"
                           "                 served), and the log's receipt keys and limits\n"
                           "                 (/.well-known/scitt-keys, /.well-known/transparency-\n"
                           "                 configuration), so another mirror can follow this one. Not with\n"
                           "                 --follow yet.\n\n"
                           "On an inconsistency the mirror stops, stores nothing of the offending data,\n"
                           "prints what differs and keeps the evidence (trusted.checkpoint,\n"
                           "pending.checkpoint, offered.checkpoint, the offending tile or statement,\n"
                           "report.txt) in DIR/evidence/<time>-<kind>/.\n\n"
                           "exit codes:\n"
                           "   0  in sync with a verified checkpoint (with --follow: stopped by SIGINT or\n"
                           "      SIGTERM without seeing an inconsistency; network trouble is retried)\n"
                           "   1  could not finish (network, disk, a resource the log did not serve)\n"
                           "   2  usage error\n"
                           "  10  bad checkpoint: not signed by the pinned key, malformed, another origin,\n"
                           "      or a --vkey that differs from the pinned one\n"
                           "  11  fork: a checkpoint signed by the right key that is inconsistent with\n"
                           "      what the mirror trusts (smaller tree, other root at the same size, or\n"
                           "      tiles that do not reproduce a trusted root)\n"
                           "  12  bad tile: the log's tiles do not reproduce its checkpoint's root, or\n"
                           "      disagree with its entry bundles or with the tiles the entries give\n"
                           "  13  bad statement: a statement that does not hash to its tile entry, is\n"
                           "      not a COSE_Sign1, or is not served at all\n"
                           "  14  rollback: a checkpoint smaller than the one the mirror verified, and the\n"
                           "      log no longer serves the tiles or entries of the verified size (an older\n"
                           "      checkpoint while those are still served, as from a stale cache, is only\n"
                           "      a warning on stderr)\n"
                           "  15  bad receipt: a receipt embedded in a statement (header 394) that does\n"
                           "      not verify with the log's receipt keys (/.well-known/scitt-keys) or\n"
                           "      whose root is not the log's root at the receipt's tree size\n"
                           "  16  unwitnessed: the log's checkpoint lacks valid cosignatures from\n"
                           "      --witness-threshold of the --witness keys (missing, or not verifying);\n"
                           "      the offered checkpoint is kept as evidence and nothing is fetched\n";

/* serve_copy re-serves the verified copy in DIR read-only (a front end
 * with no pipeline and no receipt keys) until SIGINT or SIGTERM. */
static int serve_copy(const char *dir, const char *listen)
{
    char host[256];
    uint16_t port;
    if (scitt_config_parse_host_port(listen, strlen(listen), host, sizeof(host), &port) != 0) {
        return cli_usage("mirror", "--serve wants HOST:PORT");
    }
    char path[4096];
    scitt_buf_t vkey;
    scitt_buf_init(&vkey, NULL, 4096);
    snprintf(path, sizeof(path), "%s/checkpoint.vkey", dir);
    if (cli_read_file(path, &vkey) != 0 || scitt_buf_append_byte(&vkey, 0) != 0) {
        scitt_buf_cleanup(&vkey);
        return CLI_FAIL;
    }
    char *origin = strdup((const char *)vkey.base);
    char *plus = origin != NULL ? strchr(origin, '+') : NULL;
    if (plus == NULL) {
        free(origin);
        scitt_buf_cleanup(&vkey);
        cli_err("%s is not a vkey line", path);
        return CLI_FAIL;
    }
    *plus = '\0';
    scitt_store_t *store = NULL;
    snprintf(path, sizeof(path), "%s/db", dir);
    scitt_store_config_t sc = {.dir = path, .entry_hash = scitt_mirror_entry_hash};
    const char *why = NULL;
    int rc = scitt_store_open(&store, &sc, &why);
    /* What the log publishes, so that mirrors of this copy check the same. */
    size_t max_statement = 0;
    scitt_buf_t keyset;
    scitt_buf_init(&keyset, NULL, 0);
    rc = rc != 0 ? rc : scitt_mirror_published(store, &max_statement, &keyset);
    if (rc == 0) {
        scitt_frontend_config_t fcfg = {.store = store,
                                        .origin = origin,
                                        .vkey_line = (const char *)vkey.base,
                                        .keyset = scitt_buf_span(&keyset),
                                        .max_statement_bytes = max_statement,
                                        .max_connections = 1000,
                                        .max_header_bytes = 16384,
                                        .max_streams = 100,
                                        .register_wait_ms = 1000,
                                        .idle_timeout_ms = 60000,
                                        .request_timeout_ms = 30000};
        printf("mirror: serving %s read-only on %s:%u\n", dir, host, port);
        fflush(stdout);
        rc = scitt_frontend_serve(&fcfg, host, port, &why);
    }
    if (rc != 0) {
        cli_err("mirror: cannot serve %s: %s (%s)", dir, why != NULL ? why : "", scitt_strerror(rc));
    }
    scitt_store_close(store);
    scitt_buf_cleanup(&keyset);
    free(origin);
    scitt_buf_cleanup(&vkey);
    return rc == 0 ? 0 : CLI_FAIL;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"vkey", required_argument, NULL, 'k'},
                                         {"follow", no_argument, NULL, 'f'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"chunk", required_argument, NULL, 'c'},
                                         {"serve", required_argument, NULL, 's'},
                                         CLI_WITNESS_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    static cli_witnesses_t wit;
    const char *url = NULL, *dir = NULL, *vkey = NULL, *serve = NULL;
    bool follow = false;
    uint64_t interval = 5, chunk = 0;
    int ch;
    while ((ch = cli_getopt_url(argc, argv, opts)) != -1) {
        int taken = cli_witness_option(&wit, ch, optarg, "mirror");
        if (taken != 0) {
            if (taken != 1) {
                return taken;
            }
            continue;
        }
        switch (ch) {
        case 'u':
            url = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'k':
            vkey = optarg;
            break;
        case 'f':
            follow = true;
            break;
        case 'i':
            if (scitt_parse_u64(optarg, strlen(optarg), &interval) != 0 || interval == 0 || interval > 86400) {
                return cli_usage("mirror", "--interval wants 1..86400 seconds");
            }
            break;
        case 'c':
            if (scitt_parse_u64(optarg, strlen(optarg), &chunk) != 0 || chunk == 0 || chunk > 65280) {
                return cli_usage("mirror", "--chunk wants 1..65280 entries");
            }
            break;
        case 's':
            serve = optarg;
            break;
        default:
            return cli_usage("mirror", "unknown option");
        }
    }
    if (serve != NULL && follow) {
        return cli_usage("mirror", "--serve does not combine with --follow yet");
    }
    if (dir == NULL || optind != argc || (url == NULL && serve == NULL)) {
        return cli_usage("mirror", "--dir and --url (or --serve) are required");
    }
    /* One process per mirror folder (issue 15 item 7): the lock is held
     * until this process exits. */
    char msg[512];
    int lock_fd;
    if (scitt_dir_lock(dir, &lock_fd, msg, sizeof(msg)) != 0) {
        cli_err("mirror: %s", msg);
        return CLI_FAIL;
    }
    if (url == NULL) {
        return serve_copy(dir, serve);
    }
    int wrc = cli_witnesses_load(&wit, "mirror");
    if (wrc != CLI_OK) {
        cli_witnesses_free(&wit);
        return wrc;
    }
    cli_follow_t f = {.cmd = "mirror",
                      .url = url,
                      .dir = dir,
                      .vkey = vkey,
                      .follow = follow,
                      .interval = interval,
                      .chunk = chunk,
                      .out = stdout,
                      .witnesses = &wit};
    int verdict = cli_follow(&f);
    cli_witnesses_free(&wit);
    if (verdict == SCITT_MIRROR_OK && serve != NULL && !cli_stopping()) {
        return serve_copy(dir, serve);
    }
    return verdict;
}

const cli_cmd_t cli_mirror = {"mirror", "keep a verified copy of a log (checkpoints, tiles, statements)", help, run};
