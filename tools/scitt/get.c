/*
 * get.c: `scitt get`: a receipt (GET /entries/{id}) or a transparent
 * statement (GET /entries/{id}/statement). ID is the 64-hex EntryID, or a
 * statement file whose EntryID is computed here (SHA-256 of the normalised
 * statement), since SCRAPI-11 lets clients derive the Location themselves.
 */
#include <getopt.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_WAIT_MS 300000u

static const char help[] = "usage: scitt get --url URL [--statement] [--wait] [--out FILE] ID|STATEMENT\n\n"
                           "Fetches the receipt of an entry (or with --statement its transparent\n"
                           "statement) and writes it to FILE (default: stdout, refused on a terminal).\n"
                           "ID is the 64-hex EntryID; a statement file may be given instead.\n\n"
                           "  --wait  while the entry is still being registered (204), wait (up to 300 s) as the\n"
                           "          service's Retry-After says (1 s if absent) and ask again\n"
                           "  --cacert, --cert, --key  for https:// URLs: see `scitt help`\n"
                           "\n"
                           "Exit status: 0 found, 1 not found or an error, 3 still registering (204,\n"
                           "without --wait).\n";

static bool is_entry_id(const char *s)
{
    if (strlen(s) != 64) {
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
            return false;
        }
    }
    return true;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"statement", no_argument, NULL, 's'},
                                         {"wait", no_argument, NULL, 'w'},
                                         {"out", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *out = "-";
    bool statement = false, wait = false;
    int ch;
    while ((ch = cli_getopt_url(argc, argv, opts)) != -1) {
        switch (ch) {
        case 'u':
            url = optarg;
            break;
        case 's':
            statement = true;
            break;
        case 'w':
            wait = true;
            break;
        case 'o':
            out = optarg;
            break;
        default:
            return cli_usage("get", "unknown option");
        }
    }
    if (url == NULL || optind + 1 != argc) {
        return cli_usage("get", "--url and one ID are required");
    }
    if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO)) {
        return cli_usage("get", "refusing to write binary to a terminal; use --out FILE or a pipe");
    }
    char id[65];
    if (is_entry_id(argv[optind])) {
        memcpy(id, argv[optind], sizeof(id));
    } else {
        scitt_buf_t stmt;
        scitt_buf_init(&stmt, NULL, 0);
        const char *why = NULL;
        int bad = cli_read_file(argv[optind], &stmt) != 0 || cli_entry_id(id, scitt_buf_span(&stmt), &why) != 0;
        scitt_buf_cleanup(&stmt);
        if (bad) {
            return cli_usage("get", "%s is neither a 64-hex EntryID nor a signed statement%s%s", argv[optind],
                             why != NULL ? ": " : "", why != NULL ? why : "");
        }
    }
    char path[128];
    snprintf(path, sizeof(path), "/entries/%s%s", id, statement ? "/statement" : "");

    scitt_client_t *c = cli_connect(url);
    if (c == NULL) {
        return CLI_FAIL;
    }
    int status = CLI_FAIL;
    scitt_client_req_t req;
    scitt_client_req_init(&req, "GET", path);
    req.accept = "application/cose";
    /* --wait gives up after 300 s, whatever Retry-After says. */
    uint64_t t0 = cli_now_ms();
    for (;;) {
        int rc = scitt_client_fetch(c, &req);
        if (rc != 0) {
            cli_err("GET %s: %s", path, scitt_strerror(rc));
            break;
        }
        if (req.status == 200) {
            status = cli_write_file(out, scitt_buf_span(&req.resp), 0644) == 0 ? CLI_OK : CLI_FAIL;
            break;
        }
        if (req.status != 204) {
            cli_print_problem(path, &req);
            break;
        }
        if (!wait) {
            cli_err("%s is still being registered (204); try again, or use --wait", id);
            status = 3;
            break;
        }
        uint64_t waited_ms = cli_now_ms() - t0;
        if (waited_ms >= MAX_WAIT_MS) {
            cli_err("%s is still being registered after %u s; giving up", id, MAX_WAIT_MS / 1000);
            status = 3;
            break;
        }
        uint64_t delay = req.retry_after >= 0 ? (uint64_t)req.retry_after * 1000 : 1000;
        scitt_client_sleep_ms(c, delay < MAX_WAIT_MS - waited_ms ? delay : MAX_WAIT_MS - waited_ms);
    }
    scitt_client_req_cleanup(&req);
    scitt_client_free(c);
    return status;
}

const cli_cmd_t cli_get = {"get", "fetch a receipt or a transparent statement", help, run};
