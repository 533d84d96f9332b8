/*
 * verify.c: `scitt verify`: offline verification of receipts. The log's
 * keys come from a COSE_KeySet file, a PEM public key (the IETF vectors'
 * log-key.pub), or a service URL (its /.well-known/scitt-keys, the one
 * network step). The statement is a transparent statement (receipts under
 * 394) or a plain one with a separate RECEIPT file. Each receipt must prove
 * the statement's entry (SHA-256 of the normalised statement) under a
 * signature by a key whose kid it names (or, with no kid, any given key).
 */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "scitt/mirror.h"
#include "scitt/receipt.h"

static const char help[] = "usage: scitt verify --keys KEYSET|PEM|URL [--issuer-key PEM] [--artifact FILE]\n"
                           "                    [--iss ISS | --iss-prefix P] [--sub SUB | --sub-prefix P]\n"
                           "                    [--witness VKEY... [--witness-threshold K] [--url URL]]\n"
                           "                    STATEMENT [RECEIPT]\n\n"
                           "Verifies that each receipt proves STATEMENT's inclusion in the log and is\n"
                           "signed by one of the log's keys; prints the leaf index, tree size, the\n"
                           "registration time (the receipt's iat) when the receipt carries one and the\n"
                           "log's kid, and the statement's own key id (its kid, or the x5chain leaf's\n"
                           "SHA-256). Key ids are printed in unpadded base64url, as `scitt keygen`\n"
                           "prints them and `scitt audit --kid` and watch files take them.\n\n"
                           "  --keys FILE|URL   a COSE_KeySet (CBOR), a PEM public key, or the service's\n"
                           "                    base URL (fetches /.well-known/scitt-keys)\n"
                           "  --issuer-key PEM  also check the statement's own signature with this key\n"
                           "  STATEMENT         a transparent statement (receipts in header 394), or a\n"
                           "                    signed statement together with RECEIPT\n"
                           "  --cacert, --cert, --key  for https:// URLs: see `scitt help`\n\n"
                           "  --artifact FILE   the file about to be used must be the one the statement\n"
                           "                    signs: its digest under the hash envelope's algorithm\n"
                           "                    (RFC 9995, header 258) equals the payload, or, for a\n"
                           "                    statement that is not a hash envelope, the file equals\n"
                           "                    the attached payload\n"
                           "  --iss ISS         the statement's CWT iss must be exactly ISS\n"
                           "  --iss-prefix P    ... or start with P\n"
                           "  --sub SUB         the statement's CWT sub must be exactly SUB\n"
                           "  --sub-prefix P    ... or start with P (e.g. a repository's commits:\n"
                           "                    --sub-prefix https://github.com/org/repo@)\n\n"
                           "With --witness, each receipt's signed root must also be in the log's current\n"
                           "checkpoint, which K listed witnesses cosigned: verify fetches /checkpoint\n"
                           "from the log (--url, default the --keys URL), checks its cosignatures and\n"
                           "proves the receipt's root consistent with it from the log's tiles.\n" CLI_WITNESS_HELP
                           "  --url URL         the log to fetch the checkpoint and tiles from\n\n"
                           "Every check prints one line. With a key set FILE nothing touches the network.\n\n"
                           "exit codes: 0 every receipt (and each check asked for) verifies; 1 a receipt\n"
                           "or the issuer signature fails, or a file cannot be read; 2 usage error;\n"
                           "3 the artifact is not the one signed (receipts verified); 4 iss or sub is not\n"
                           "the one expected (receipts and artifact verified); 11 a receipt's root is not\n"
                           "in the history of the cosigned checkpoint (a fork); 16 the checkpoint lacks\n"
                           "the cosignatures --witness-threshold asks for. The lowest failing check\n"
                           "decides: receipts first (11 and 16 count as receipt failures), then the\n"
                           "artifact, then the claims.\n";

#define MAX_KEYS 16

typedef struct keyring {
    size_t num;
    scitt_key_t *keys[MAX_KEYS];
    uint8_t kids[MAX_KEYS][64];
    size_t kid_lens[MAX_KEYS];
} keyring_t;

static void keyring_free(keyring_t *kr)
{
    for (size_t i = 0; i < kr->num; i++) {
        scitt_key_free(kr->keys[i]);
    }
}

static int keyring_from_keyset(keyring_t *kr, scitt_span_t data, const char *where)
{
    scitt_cose_key_t parsed[MAX_KEYS];
    size_t num;
    const char *why = NULL;
    int rc = scitt_cose_keyset_parse(parsed, MAX_KEYS, &num, data.base, data.len, &why);
    if (rc != 0) {
        /* A single COSE_Key is accepted too (/.well-known/scitt-keys/{kid}). */
        rc = scitt_cose_key_parse(&parsed[0], data.base, data.len, &why);
        num = 1;
    }
    if (rc != 0) {
        cli_err("%s: not a COSE_KeySet, COSE_Key or PEM key: %s", where, why != NULL ? why : scitt_strerror(rc));
        return -1;
    }
    for (size_t i = 0; i < num; i++) {
        if (scitt_cose_key_load(&kr->keys[kr->num], &parsed[i]) != 0) {
            cli_err("%s: key %zu is not usable", where, i + 1);
            return -1;
        }
        size_t n = parsed[i].kid.len < 64 ? parsed[i].kid.len : 64;
        memcpy(kr->kids[kr->num], parsed[i].kid.base, n);
        kr->kid_lens[kr->num++] = n;
    }
    return 0;
}

static int keyring_load(keyring_t *kr, const char *arg)
{
    scitt_buf_t data;
    scitt_buf_init(&data, NULL, 1 << 20);
    int status = -1;
    if (strncmp(arg, "http://", 7) == 0 || strncmp(arg, "https://", 8) == 0) {
        scitt_client_t *c = cli_connect(arg);
        if (c == NULL) {
            goto done;
        }
        scitt_client_req_t req;
        scitt_client_req_init(&req, "GET", "/.well-known/scitt-keys");
        req.accept = "application/cbor";
        int rc = scitt_client_fetch(c, &req);
        if (rc != 0) {
            cli_err("%s: %s", arg, scitt_strerror(rc));
        } else if (req.status != 200) {
            cli_print_problem("GET /.well-known/scitt-keys", &req);
        } else {
            status = keyring_from_keyset(kr, scitt_buf_span(&req.resp), arg);
        }
        scitt_client_req_cleanup(&req);
        scitt_client_free(c);
        goto done;
    }
    if (cli_read_file(arg, &data) != 0) {
        goto done;
    }
    if (data.len > 10 && memcmp(data.base, "-----BEGIN", 10) == 0) {
        int rc = scitt_key_from_pem(&kr->keys[0], data.base, data.len);
        if (rc != 0) {
            cli_err("%s: %s", arg, scitt_strerror(rc));
            goto done;
        }
        kr->kid_lens[0] = 0; /* a bare key: matches receipts with any kid */
        kr->num = 1;
        status = 0;
    } else {
        status = keyring_from_keyset(kr, scitt_buf_span(&data), arg);
    }
done:
    scitt_buf_cleanup(&data);
    return status;
}

/* print_kid prints `label` and `kid` as it is typed elsewhere, when the
 * kid is not empty. */
static void print_kid(const char *label, scitt_span_t kid)
{
    if (kid.len > 0) {
        char *text = cli_kid_text(kid);
        printf("%s%s", label, text);
        free(text);
    }
}

/* verify_one checks one receipt against the entry with the keys whose kid
 * matches the receipt's (a key without kid matches anything). */
static int verify_one(const keyring_t *kr, scitt_span_t receipt, const uint8_t entry[32], int n, uint64_t *out_size,
                      uint8_t out_root[32])
{
    scitt_receipt_t *r = scitt_xmalloc(sizeof(*r));
    scitt_buf_t scratch;
    scitt_buf_init(&scratch, NULL, 0);
    const char *why = NULL;
    int rc = scitt_receipt_decode(r, receipt.base, receipt.len, &why);
    scitt_span_t kid =
        rc == 0 && (r->sign1.prot.present & SCITT_COSE_HAS_KID) ? r->sign1.prot.kid : scitt_span(NULL, 0);
    if (rc == 0) {
        rc = SCITT_ENOKEY;
        why = "no key given matches the receipt's kid";
        for (size_t i = 0; i < kr->num && rc != 0; i++) {
            if (kr->kid_lens[i] != 0 && kid.len != 0 && !scitt_span_eq(kid, scitt_span(kr->kids[i], kr->kid_lens[i]))) {
                continue;
            }
            why = NULL;
            rc = scitt_receipt_verify(r, entry, kr->keys[i], out_root, &scratch, &why);
        }
    }
    *out_size = rc == 0 ? r->tree_size : 0;
    if (rc == 0) {
        printf("receipt %d: OK: leaf %llu of tree size %llu", n, (unsigned long long)r->leaf_index,
               (unsigned long long)r->tree_size);
        if (r->iat != 0) {
            char when[32];
            cli_time(when, r->iat);
            printf(", registered %s", when);
        }
    } else {
        printf("receipt %d: FAILED: %s (%s)", n, why != NULL ? why : scitt_strerror(rc), scitt_err_name(rc));
    }
    print_kid(", log kid ", kid);
    printf("\n");
    scitt_buf_cleanup(&scratch);
    free(r);
    return rc;
}

/* check_witnessed asks the log (its current checkpoint, cosigned by the
 * witnesses, and its tiles) whether the root a receipt signed at `size` is
 * in the witnessed history: CLI_OK, 16, 11 or CLI_FAIL. */
static int check_witnessed(scitt_mirror_source_t *src, const cli_witnesses_t *wit, uint64_t size,
                           const uint8_t root[32], int n)
{
    scitt_mirror_config_t cfg = {
        .source = src, .witnesses = wit->list, .num_witnesses = wit->loaded, .witness_threshold = wit->threshold};
    scitt_buf_t msg;
    scitt_buf_init(&msg, NULL, 0);
    uint64_t cp_size = 0;
    int verdict = scitt_mirror_check_root(&cfg, size, root, &cp_size, &msg);
    if (verdict == SCITT_MIRROR_OK) {
        printf("receipt %d: witnessed: tree size %llu is in the checkpoint of size %llu cosigned by at least %llu of "
               "the %zu witnesses given\n",
               n, (unsigned long long)size, (unsigned long long)cp_size, (unsigned long long)wit->threshold,
               wit->loaded);
    } else {
        printf("receipt %d: NOT WITNESSED (%s): %.*s\n", n, scitt_mirror_verdict_name(verdict), (int)msg.len,
               (const char *)msg.base);
    }
    scitt_buf_cleanup(&msg);
    return verdict == SCITT_MIRROR_OK || verdict == SCITT_MIRROR_UNWITNESSED || verdict == SCITT_MIRROR_FORK ? verdict
                                                                                                             : CLI_FAIL;
}

static int check_issuer(const char *path, const scitt_cose_sign1_t *s)
{
    scitt_key_t *key = cli_load_key(path);
    if (key == NULL) {
        return -1;
    }
    scitt_buf_t scratch;
    scitt_buf_init(&scratch, NULL, 0);
    const char *why = NULL;
    int rc = scitt_cose_sign1_verify(s, key, scitt_span(NULL, 0), &scratch, &why);
    if (rc == 0) {
        printf("statement signature: OK\n");
    } else {
        printf("statement signature: FAILED: %s (%s)\n", why != NULL ? why : scitt_strerror(rc), scitt_err_name(rc));
    }
    scitt_buf_cleanup(&scratch);
    scitt_key_free(key);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"keys", required_argument, NULL, 'k'},
                                         {"issuer-key", required_argument, NULL, 'i'},
                                         {"artifact", required_argument, NULL, 'a'},
                                         {"iss", required_argument, NULL, 'I'},
                                         {"iss-prefix", required_argument, NULL, 'J'},
                                         {"sub", required_argument, NULL, 'S'},
                                         {"sub-prefix", required_argument, NULL, 'T'},
                                         {"url", required_argument, NULL, 'u'},
                                         CLI_WITNESS_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    const char *keys = NULL, *issuer = NULL, *artifact = NULL, *url = NULL;
    static cli_witnesses_t wit;
    cli_claims_want_t want = {0};
    int ch;
    while ((ch = cli_getopt_url(argc, argv, opts)) != -1) {
        int taken = cli_witness_option(&wit, ch, optarg, "verify");
        if (taken == CLI_USAGE) {
            return CLI_USAGE;
        }
        if (taken == 1) {
            continue;
        } else if (ch == 'u') {
            url = optarg;
        } else if (ch == 'k') {
            keys = optarg;
        } else if (ch == 'i') {
            issuer = optarg;
        } else if (ch == 'a') {
            artifact = optarg;
        } else if (ch == 'I' || ch == 'J') {
            *(ch == 'I' ? &want.iss : &want.iss_prefix) = optarg;
        } else if (ch == 'S' || ch == 'T') {
            *(ch == 'S' ? &want.sub : &want.sub_prefix) = optarg;
        } else {
            return cli_usage("verify", "unknown option");
        }
    }
    if (keys == NULL || optind >= argc || argc - optind > 2) {
        return cli_usage("verify", "--keys and a STATEMENT (and optionally a RECEIPT) are required");
    }
    const char *stmt_path = argv[optind], *receipt_path = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (url == NULL && (strncmp(keys, "http://", 7) == 0 || strncmp(keys, "https://", 8) == 0)) {
        url = keys;
    }
    int wrc = cli_witnesses_load(&wit, "verify");
    if (wrc == CLI_OK && wit.threshold > 0 && url == NULL) {
        wrc = cli_usage("verify", "--witness needs the log's URL: --url, or --keys URL");
    }
    scitt_mirror_source_t src = {0};
    if (wrc == CLI_OK && wit.threshold > 0) {
        const scitt_client_config_t *ccfg = cli_client_config();
        int rc = ccfg == NULL ? SCITT_EINVAL : scitt_mirror_source_open_with(&src, url, ccfg);
        if (rc != 0) {
            cli_err("cannot read the log at %s: %s", url, scitt_strerror(rc));
            wrc = CLI_FAIL;
        }
    }
    if (wrc != CLI_OK) {
        cli_witnesses_free(&wit);
        return wrc;
    }

    int status = CLI_FAIL;
    keyring_t kr = {0};
    scitt_buf_t stmt, rbuf;
    scitt_buf_init(&stmt, NULL, 0);
    scitt_buf_init(&rbuf, NULL, 0);
    if (keyring_load(&kr, keys) != 0 || cli_read_file(stmt_path, &stmt) != 0 ||
        (receipt_path != NULL && cli_read_file(receipt_path, &rbuf) != 0)) {
        goto done;
    }
    scitt_cose_sign1_t s;
    const char *why = NULL;
    int rc = scitt_cose_sign1_decode(&s, stmt.base, stmt.len, CLI_MAX_STATEMENT, &why);
    if (rc != 0) {
        cli_err("%s: not a COSE_Sign1: %s", stmt_path, why != NULL ? why : scitt_strerror(rc));
        goto done;
    }
    uint8_t entry[32];
    const scitt_span_t *receipts;
    size_t num;
    rc = scitt_receipt_split(&s, entry, &receipts, &num);
    if (rc != 0) {
        cli_err("%s: %s", stmt_path, scitt_strerror(rc));
        goto done;
    }
    scitt_span_t one = scitt_buf_span(&rbuf);
    if (receipt_path != NULL) {
        receipts = &one;
        num = 1;
    } else if (num == 0) {
        cli_err("%s carries no receipt (header 394); give the RECEIPT file too", stmt_path);
        goto done;
    }
    char id[65];
    scitt_hex_encode(id, entry, sizeof(entry));
    printf("entry: %s\n", id);
    scitt_cose_fields_t fields;
    scitt_cose_fields(&s, &fields);
    if (fields.key_id.len > 0) {
        print_kid("statement key id: ", fields.key_id);
        printf("\n");
    }
    int failures = 0, witnessed = CLI_OK;
    for (size_t i = 0; i < num; i++) {
        uint64_t size;
        uint8_t root[32];
        int one = verify_one(&kr, receipts[i], entry, (int)i + 1, &size, root);
        failures += one != 0;
        if (one == 0 && wit.threshold > 0) {
            int w = check_witnessed(&src, &wit, size, root, (int)i + 1);
            witnessed = witnessed == CLI_OK || (w != CLI_OK && w < witnessed) ? w : witnessed;
        }
    }
    if (issuer != NULL) {
        failures += check_issuer(issuer, &s) != 0;
    }
    status = failures == 0 ? witnessed : CLI_FAIL;
    /* The checks run and print even after a failure, so the log of a
     * failed deploy shows everything; the first failure gives the code. */
    int art = artifact != NULL ? cli_check_artifact(&s, artifact) : CLI_OK;
    int claims = cli_check_claims(&s, &want);
    status = status != CLI_OK ? status : art != CLI_OK ? art : claims;
done:
    if (src.free != NULL) {
        scitt_mirror_source_close(&src);
    }
    cli_witnesses_free(&wit);
    keyring_free(&kr);
    scitt_buf_cleanup(&stmt);
    scitt_buf_cleanup(&rbuf);
    return status;
}

const cli_cmd_t cli_verify = {"verify", "verify receipts or a transparent statement offline", help, run};
