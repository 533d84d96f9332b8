/*
 * sign.c: `scitt sign`: a signed statement (RFC 9943) as a tagged
 * COSE_Sign1 with alg, kid (the key's RFC 9679 thumbprint), CWT claims
 * iss/sub/iat, optional content type and x5chain. With --hash-envelope the
 * payload is SHA-256 of the file (RFC 9995: 258 = -16, the content type
 * under 259, never label 3), so a large artifact never travels.
 */
#include <getopt.h>
#include <time.h>

#include "cli.h"

static const char help[] = "usage: scitt sign --key KEY.pem --iss ISS --sub SUB [--content-type T]\n"
                           "                  [--x5chain CHAIN.pem] [--hash-envelope [--location URI]]\n"
                           "                  [--no-kid] [--out FILE] PAYLOAD\n\n"
                           "Writes a signed statement (tagged COSE_Sign1) over the file PAYLOAD (\"-\" is\n"
                           "stdin) to FILE (default: stdout). The algorithm follows the key (ES256,\n"
                           "ES384, ES512, EdDSA, PS256). The protected header holds alg, kid (the key's\n"
                           "RFC 9679 thumbprint, unless --no-kid or --x5chain), CWT claims {iss, sub,\n"
                           "iat = now}, and the content type if given.\n\n"
                           "  --hash-envelope  sign SHA-256(PAYLOAD) instead of PAYLOAD (RFC 9995): label\n"
                           "                   258 = -16 (SHA-256), --content-type goes to 259 (the\n"
                           "                   preimage's type) and label 3 is never written\n"
                           "  --location URI   label 260: where the preimage can be fetched\n"
                           "  --x5chain PEM    certificates (leaf first) for label 33; iss should then be\n"
                           "                   a URI (e.g. did:x509:...)\n";

/* read_pem_certs decodes every CERTIFICATE block of a PEM text into DER
 * (appended to `der`, boundaries in `spans`). PEM is base64 with line
 * breaks, so lines are joined before the strict decoder sees them. */
static int read_pem_certs(const char *path, scitt_buf_t *der, size_t *offs, size_t max, size_t *out_num)
{
    scitt_buf_t pem, b64;
    scitt_buf_init(&pem, NULL, 1 << 20);
    scitt_buf_init(&b64, NULL, 0);
    int status = -1;
    size_t num = 0;
    if (cli_read_file(path, &pem) != 0 || scitt_buf_append_byte(&pem, 0) != 0) {
        goto done;
    }
    const char *p = (const char *)pem.base;
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    while ((p = strstr(p, begin)) != NULL) {
        const char *q = strstr(p, end);
        if (q == NULL || num == max) {
            cli_err("%s: unterminated certificate or more than %zu certificates", path, max);
            goto done;
        }
        scitt_buf_reset(&b64);
        for (const char *c = p + sizeof(begin) - 1; c < q; c++) {
            if (*c != '\n' && *c != '\r' && scitt_buf_append_byte(&b64, (uint8_t)*c) != 0) {
                goto done;
            }
        }
        size_t n;
        offs[num] = der->len;
        if (scitt_buf_reserve(der, b64.len) != 0 ||
            scitt_base64_decode(der->base + der->len, b64.len, &n, (const char *)b64.base, b64.len, SCITT_B64_STD) !=
                0) {
            cli_err("%s: certificate %zu is not valid base64", path, num + 1);
            goto done;
        }
        der->len += n;
        num++;
        p = q + sizeof(end) - 1;
    }
    if (num == 0) {
        cli_err("%s: no certificate found", path);
        goto done;
    }
    *out_num = num;
    status = 0;
done:
    scitt_buf_cleanup(&pem);
    scitt_buf_cleanup(&b64);
    return status;
}

static int run(int argc, char **argv)
{
    enum { O_KEY = 256, O_ISS, O_SUB, O_CTYPE, O_X5, O_HE, O_LOC, O_NOKID, O_OUT };
    static const struct option opts[] = {
        {"key", required_argument, NULL, O_KEY},      {"iss", required_argument, NULL, O_ISS},
        {"sub", required_argument, NULL, O_SUB},      {"content-type", required_argument, NULL, O_CTYPE},
        {"x5chain", required_argument, NULL, O_X5},   {"hash-envelope", no_argument, NULL, O_HE},
        {"location", required_argument, NULL, O_LOC}, {"no-kid", no_argument, NULL, O_NOKID},
        {"out", required_argument, NULL, O_OUT},      {NULL, 0, NULL, 0}};
    const char *key_path = NULL, *x5_path = NULL, *out = "-";
    bool no_kid = false;
    scitt_cose_statement_params_t sp = {.iat = (int64_t)time(NULL)};
    int ch;
    while ((ch = cli_getopt(argc, argv, opts)) != -1) {
        switch (ch) {
        case O_KEY:
            key_path = optarg;
            break;
        case O_ISS:
            sp.iss = optarg;
            break;
        case O_SUB:
            sp.sub = optarg;
            break;
        case O_CTYPE:
            sp.content_type = optarg;
            break;
        case O_X5:
            x5_path = optarg;
            break;
        case O_HE:
            sp.payload_hash_alg = SCITT_HASH_SHA256;
            break;
        case O_LOC:
            sp.payload_location = optarg;
            break;
        case O_NOKID:
            no_kid = true;
            break;
        case O_OUT:
            out = optarg;
            break;
        default:
            return cli_usage("sign", "unknown option");
        }
    }
    if (key_path == NULL || sp.iss == NULL || sp.sub == NULL || optind + 1 != argc) {
        return cli_usage("sign", "--key, --iss, --sub and one PAYLOAD file are required");
    }
    if (sp.payload_location != NULL && sp.payload_hash_alg == 0) {
        return cli_usage("sign", "--location needs --hash-envelope");
    }

    int status = CLI_FAIL;
    scitt_buf_t payload, prot, stmt, scratch, der;
    scitt_buf_init(&payload, NULL, 0);
    scitt_buf_init(&prot, NULL, 0);
    scitt_buf_init(&stmt, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    scitt_buf_init(&der, NULL, 0);
    size_t offs[SCITT_COSE_MAX_X5CHAIN + 1];
    scitt_span_t certs[SCITT_COSE_MAX_X5CHAIN];
    uint8_t kid[SCITT_SHA256_LEN], digest[SCITT_SHA256_LEN];
    scitt_key_t *key = cli_load_key(key_path);
    if (key == NULL || cli_read_file(argv[optind], &payload) != 0) {
        goto done;
    }
    if (!scitt_key_has_private(key)) {
        cli_err("%s is a public key; sign needs the private key", key_path);
        goto done;
    }
    sp.alg = cli_key_alg(key);
    if (x5_path != NULL) {
        if (read_pem_certs(x5_path, &der, offs, SCITT_COSE_MAX_X5CHAIN, &sp.num_x5chain) != 0) {
            goto done;
        }
        offs[sp.num_x5chain] = der.len;
        for (size_t i = 0; i < sp.num_x5chain; i++) {
            certs[i] = scitt_span(der.base + offs[i], offs[i + 1] - offs[i]);
        }
        sp.x5chain = certs;
    }
    int rc = 0;
    if (x5_path == NULL && !no_kid) {
        rc = scitt_cose_key_thumbprint(NULL, kid, key);
        sp.kid = scitt_span(kid, sizeof(kid));
    }
    scitt_span_t signed_payload = scitt_buf_span(&payload);
    if (sp.payload_hash_alg != 0) {
        scitt_sha256(digest, payload.base, payload.len);
        signed_payload = scitt_span(digest, sizeof(digest));
    }
    rc = rc != 0 ? rc : scitt_cose_statement_protected(&prot, &sp);
    rc = rc != 0 ? rc
                 : scitt_cose_sign1_sign(&stmt, key, sp.alg, scitt_buf_span(&prot), scitt_span(NULL, 0), signed_payload,
                                         false, &scratch);
    if (rc != 0) {
        cli_err("sign: %s", scitt_strerror(rc));
        goto done;
    }
    if (cli_write_file(out, scitt_buf_span(&stmt), 0644) != 0) {
        goto done;
    }
    status = CLI_OK;
done:
    scitt_key_free(key);
    scitt_buf_cleanup(&payload);
    scitt_buf_cleanup(&prot);
    scitt_buf_cleanup(&stmt);
    scitt_buf_cleanup(&scratch);
    scitt_buf_cleanup(&der);
    return status;
}

const cli_cmd_t cli_sign = {"sign", "write a signed statement (optionally a hash envelope)", help, run};
