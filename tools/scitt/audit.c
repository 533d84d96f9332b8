/*
 * audit.c: `scitt audit`: the entries of a log that match filters (GET
 * /entries?..., issue 10), following the service's `next` cursors over one
 * HTTP/2 connection, printed as a table or as JSON lines.
 *
 * Filters are passed through percent-encoded (iss, sub), as hex (artifact)
 * or as unpadded base64url (kid, whichever spelling scitt_kid_parse read);
 * times are checked by the service, which answers a bad value with problem
 * details that are shown as they are.
 */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "scitt/crypto.h"

static const char help[] =
    "usage: scitt audit --url URL [--iss TEXT] [--sub TEXT] [--kid KID]\n"
    "                   [--artifact HEX | --artifact-file FILE] [--since T] [--until T]\n"
    "                   [--limit N] [--page N] [--json]\n\n"
    "Lists the entries of the log at URL that match every filter given, oldest\n"
    "first (GET /entries?...; no filter lists every entry), following the\n"
    "service's pages over one connection. Prints a table: leaf index,\n"
    "registration time (UTC), iss, sub, key id (base64url, shortened), content\n"
    "type and EntryID.\n\n"
    "  --iss TEXT, --sub TEXT  the CWT issuer / subject, exactly\n"
    "  --kid KID               the signing key id (kid, or the SHA-256 thumbprint of\n"
    "                          the x5chain leaf certificate) in unpadded base64url,\n"
    "                          as scitt keygen prints it, or as 64 hex digits\n"
    "  --artifact HEX          the artifact digest (a hash envelope's payload, or\n"
    "                          SHA-256 of an attached payload)\n"
    "  --artifact-file FILE    SHA-256 of FILE as --artifact\n"
    "  --since T, --until T    registered at or after T / before T: unix seconds or\n"
    "                          YYYY-MM-DDTHH:MM:SSZ\n"
    "  --limit N               print at most N entries (default: all)\n"
    "  --page N                entries asked for per request, 1..1000 (default 1000)\n"
    "  --json                  one JSON object per line instead of the table:\n"
    "                          {\"id\", \"index\", \"time\", \"iss\", \"sub\", \"kid\", \"content_type\"}\n\n"
    "Exit status: 0 when at least one entry matched, 3 when none did, 1 on an\n"
    "error (the service's problem details are shown), 2 on a usage error.\n"
    "\n  --cacert, --cert, --key  for https:// URLs: see `scitt help`\n";

#define PAGE_MAX 1000

/* put_pct appends `name`=`value` percent-encoding all but RFC 3986
 * unreserved characters. */
static void put_pct(scitt_buf_t *q, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    scitt_buf_printf(q, "%s%s=", q->len > 0 ? "&" : "", name);
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '~') {
            scitt_buf_append_byte(q, *p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            scitt_buf_append(q, esc, 3);
        }
    }
}

/* put_text prints `s` with control and non-ASCII bytes as \xHH, so a
 * hostile iss or sub cannot drive the terminal. */
static void put_text(FILE *f, scitt_span_t s, int width)
{
    int n = 0;
    for (size_t i = 0; i < s.len; i++) {
        uint8_t b = s.base[i];
        n += b >= 0x20 && b < 0x7f && b != '\\' ? fprintf(f, "%c", b) : fprintf(f, "\\x%02x", b);
    }
    if (s.len == 0 && width > 0) {
        n += fprintf(f, "-");
    }
    fprintf(f, "%*s", n < width ? width - n : 0, "");
}

static void print_row(const scitt_cose_audit_entry_t *e)
{
    char when[32], id[65], kid[20];
    cli_time(when, e->time);
    scitt_hex_encode(id, e->id, sizeof(e->id));
    if (e->key_id.len == 0) {
        snprintf(kid, sizeof(kid), "-");
    } else {
        /* The first 16 characters: base64url of up to 12 bytes. */
        size_t n = scitt_base64_encode(kid, e->key_id.base, e->key_id.len > 12 ? 12 : e->key_id.len, SCITT_B64_URL);
        snprintf(kid + n, sizeof(kid) - n, "%s", e->key_id.len > 12 ? ".." : "");
    }
    printf("%-8llu %-20s ", (unsigned long long)e->index, when);
    put_text(stdout, e->iss, 24);
    printf(" ");
    put_text(stdout, e->sub, 16);
    printf(" %-18s ", kid);
    if (!e->has_content_type) {
        put_text(stdout, scitt_span(NULL, 0), 16);
    } else if (e->content_type.is_text) {
        put_text(stdout, e->content_type.text, 16);
    } else {
        printf("%-16lld", (long long)e->content_type.num);
    }
    printf(" %s\n", id);
}

static void print_json(const scitt_cose_audit_entry_t *e)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    if (scitt_cose_audit_entry_json(&b, e) == 0) {
        printf("%.*s\n", (int)b.len, (const char *)b.base);
    }
    scitt_buf_cleanup(&b);
}

/* print_error shows a failed page as "scitt audit: STATUS TITLE: DETAIL". */
static void print_error(const scitt_client_req_t *req)
{
    scitt_span_t title = {0}, detail = {0};
    if (strstr(req->content_type_resp, "problem") != NULL) {
        scitt_cose_problem_decode(&title, &detail, req->resp.base, req->resp.len);
    }
    /* The server's words, escaped like the table's text: a hostile server
     * cannot drive the terminal either. */
    fprintf(stderr, "scitt audit: %d", req->status);
    if (title.len > 0) {
        fputc(' ', stderr);
        put_text(stderr, title, 0);
    }
    if (detail.len > 0) {
        fputs(": ", stderr);
        put_text(stderr, detail, 0);
    }
    fputc('\n', stderr);
}

/* artifact_of_file writes the hex SHA-256 of `path` into `out`. */
static int artifact_of_file(char out[65], const char *path)
{
    scitt_buf_t data;
    scitt_buf_init(&data, NULL, 0);
    int rc = cli_read_file(path, &data);
    if (rc == 0) {
        uint8_t h[SCITT_SHA256_LEN];
        scitt_sha256(h, data.base, data.len);
        scitt_hex_encode(out, h, sizeof(h));
    }
    scitt_buf_cleanup(&data);
    return rc;
}

typedef struct opts {
    const char *url;
    scitt_buf_t filters; /* the query string without limit and cursor */
    uint64_t limit;      /* 0: all */
    uint64_t page;
    bool json;
} opts_t;

/* cursor_ok: a cursor goes back into the query string as it is, so it may
 * hold only unreserved characters (ours are base64url). */
static bool cursor_ok(scitt_span_t c)
{
    for (size_t i = 0; i < c.len; i++) {
        uint8_t b = c.base[i];
        if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' || b == '_')) {
            return false;
        }
    }
    return true;
}

/* list fetches and prints pages until the end or the limit: CLI_OK with
 * matches, 3 with none, CLI_FAIL on an error. */
static int list(scitt_client_t *c, opts_t *o)
{
    static scitt_cose_audit_entry_t entries[PAGE_MAX];
    uint64_t printed = 0;
    char cursor[64] = "";
    scitt_buf_t path;
    scitt_buf_init(&path, NULL, 0);
    int status = CLI_OK;
    for (;;) {
        uint64_t want = o->page;
        if (o->limit > 0 && o->limit - printed < want) {
            want = o->limit - printed;
        }
        scitt_buf_reset(&path);
        scitt_buf_printf(&path, "/entries?%.*s%slimit=%llu", (int)o->filters.len, (const char *)o->filters.base,
                         o->filters.len > 0 ? "&" : "", (unsigned long long)want);
        if (cursor[0] != '\0') {
            scitt_buf_printf(&path, "&cursor=%s", cursor);
        }
        scitt_buf_append_byte(&path, '\0');
        scitt_client_req_t req;
        scitt_client_req_init(&req, "GET", (const char *)path.base);
        req.accept = "application/cbor";
        int rc = scitt_client_fetch(c, &req);
        size_t num = 0;
        scitt_span_t next = {0};
        const char *why = NULL;
        if (rc != 0) {
            fprintf(stderr, "scitt audit: GET /entries: %s\n", scitt_strerror(rc));
            status = CLI_FAIL;
        } else if (req.status != 200) {
            print_error(&req);
            status = CLI_FAIL;
        } else if (scitt_cose_audit_decode(entries, PAGE_MAX, &num, &next, req.resp.base, req.resp.len, &why) != 0) {
            fprintf(stderr, "scitt audit: the service's answer is not an audit listing: %s\n", why);
            status = CLI_FAIL;
        } else if (next.len >= sizeof(cursor) || (next.len > 0 && !cursor_ok(next))) {
            fprintf(stderr, "scitt audit: the service returned an unusable cursor\n");
            status = CLI_FAIL;
        }
        for (size_t i = 0; status == CLI_OK && i < num && (o->limit == 0 || printed < o->limit); i++, printed++) {
            if (!o->json && printed == 0) {
                printf("%-8s %-20s %-24s %-16s %-18s %-16s %s\n", "INDEX", "TIME", "ISS", "SUB", "KID", "CONTENT-TYPE",
                       "ID");
            }
            if (o->json) {
                print_json(&entries[i]);
            } else {
                print_row(&entries[i]);
            }
        }
        if (status == CLI_OK && next.len > 0) {
            memcpy(cursor, next.base, next.len);
            cursor[next.len] = '\0';
        }
        scitt_client_req_cleanup(&req);
        if (status != CLI_OK || next.len == 0 || (o->limit > 0 && printed >= o->limit)) {
            break;
        }
    }
    scitt_buf_cleanup(&path);
    fflush(stdout);
    return status == CLI_OK && printed == 0 ? 3 : status;
}

static bool is_hex(const char *s, size_t min_bytes, size_t max_bytes)
{
    size_t n = strlen(s);
    uint8_t tmp[64];
    size_t len;
    return n >= 2 * min_bytes && n <= 2 * max_bytes && scitt_hex_decode(tmp, sizeof(tmp), &len, s, n) == 0;
}

/* put_kid appends kid=KID in its printed spelling, whichever spelling
 * `text` used. */
static int put_kid(scitt_buf_t *q, const char *text)
{
    uint8_t kid[64];
    size_t n;
    int rc = scitt_kid_parse(kid, sizeof(kid), &n, text, strlen(text));
    rc = rc != 0 ? rc : scitt_buf_printf(q, "%skid=", q->len > 0 ? "&" : "");
    return rc != 0 ? rc : scitt_kid_append(q, scitt_span(kid, n));
}

static int run(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"url", required_argument, NULL, 'u'},      {"iss", required_argument, NULL, 'i'},
        {"sub", required_argument, NULL, 's'},      {"kid", required_argument, NULL, 'k'},
        {"artifact", required_argument, NULL, 'a'}, {"artifact-file", required_argument, NULL, 'f'},
        {"since", required_argument, NULL, 'S'},    {"until", required_argument, NULL, 'U'},
        {"limit", required_argument, NULL, 'l'},    {"page", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},           {NULL, 0, NULL, 0}};
    opts_t o = {.page = PAGE_MAX};
    const char *artifact = NULL, *artifact_file = NULL;
    char digest[65];
    int ch, status = CLI_USAGE;
    scitt_buf_init(&o.filters, NULL, 0);
    while ((ch = cli_getopt_url(argc, argv, lopts)) != -1) {
        switch (ch) {
        case 'u':
            o.url = optarg;
            break;
        case 'i':
            put_pct(&o.filters, "iss", optarg);
            break;
        case 's':
            put_pct(&o.filters, "sub", optarg);
            break;
        case 'k':
            if (put_kid(&o.filters, optarg) != 0) {
                status = cli_usage("audit", "--kid takes the key id in unpadded base64url (as scitt keygen "
                                            "prints it; 1 to 64 bytes) or 64 hex digits");
                goto done;
            }
            break;
        case 'a':
            artifact = optarg;
            break;
        case 'f':
            artifact_file = optarg;
            break;
        case 'S':
            put_pct(&o.filters, "since", optarg);
            break;
        case 'U':
            put_pct(&o.filters, "until", optarg);
            break;
        case 'l':
        case 'p': {
            uint64_t v;
            if (scitt_parse_u64(optarg, strlen(optarg), &v) != 0 || v == 0 || (ch == 'p' && v > PAGE_MAX)) {
                status = cli_usage("audit", "--%s takes a whole number from 1%s", ch == 'l' ? "limit" : "page",
                                   ch == 'p' ? " to 1000" : "");
                goto done;
            }
            *(ch == 'l' ? &o.limit : &o.page) = v;
            break;
        }
        case 'j':
            o.json = true;
            break;
        default:
            status = cli_usage("audit", "unknown option");
            goto done;
        }
    }
    if (o.url == NULL || optind != argc) {
        status = cli_usage("audit", "--url is required and there are no arguments");
        goto done;
    }
    if (artifact != NULL && artifact_file != NULL) {
        status = cli_usage("audit", "give --artifact or --artifact-file, not both");
        goto done;
    }
    if (artifact_file != NULL) {
        if (artifact_of_file(digest, artifact_file) != 0) {
            status = CLI_FAIL;
            goto done;
        }
        artifact = digest;
    }
    if (artifact != NULL) {
        if (!is_hex(artifact, 16, 64)) {
            status = cli_usage("audit", "--artifact takes the hex of a 16 to 64 byte digest");
            goto done;
        }
        put_pct(&o.filters, "artifact", artifact);
    }
    scitt_buf_append_byte(&o.filters, '\0');
    o.filters.len--;
    scitt_client_t *c = cli_connect(o.url);
    if (c == NULL) {
        status = CLI_FAIL;
        goto done;
    }
    status = list(c, &o);
    scitt_client_free(c);
done:
    scitt_buf_cleanup(&o.filters);
    return status;
}

const cli_cmd_t cli_audit = {"audit", "list the log's entries by issuer, subject, key, artifact or time", help, run};
