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

static const char help[] = "usage: scitt sign (--key KEY.pem | --key-env VAR | --signer CMD --pub PEM)\n"
                           "                  --iss ISS --sub SUB [--content-type T]\n"
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
                           "  --location URI   label 260: where the preimage can be fetched\n" CLI_SIGNER_HELP;

static int run(int argc, char **argv)
{
    enum { O_HE = 256, O_LOC, O_NOKID, O_OUT };
    static const struct option opts[] = {CLI_SIGNER_OPTIONS,
                                         {"hash-envelope", no_argument, NULL, O_HE},
                                         {"location", required_argument, NULL, O_LOC},
                                         {"no-kid", no_argument, NULL, O_NOKID},
                                         {"out", required_argument, NULL, O_OUT},
                                         {NULL, 0, NULL, 0}};
    const char *out = "-";
    scitt_cose_statement_params_t sp = {.iat = (int64_t)time(NULL)};
    cli_signer_cfg_t scfg = {.sp = &sp};
    int ch;
    while ((ch = cli_getopt(argc, argv, opts)) != -1) {
        if (cli_signer_option(&scfg, ch, optarg)) {
            continue;
        }
        switch (ch) {
        case O_HE:
            sp.payload_hash_alg = SCITT_HASH_SHA256;
            break;
        case O_LOC:
            sp.payload_location = optarg;
            break;
        case O_NOKID:
            scfg.no_kid = true;
            break;
        case O_OUT:
            out = optarg;
            break;
        default:
            return cli_usage("sign", "unknown option");
        }
    }
    if (sp.iss == NULL || sp.sub == NULL || optind + 1 != argc) {
        return cli_usage("sign", "a signer (--key, --key-env or --signer), --iss, --sub and one PAYLOAD file are "
                                 "required");
    }
    if (sp.payload_location != NULL && sp.payload_hash_alg == 0) {
        return cli_usage("sign", "--location needs --hash-envelope");
    }

    scitt_buf_t payload, stmt;
    scitt_buf_init(&payload, NULL, 0);
    scitt_buf_init(&stmt, NULL, 0);
    cli_signer_t sg;
    int status = cli_signer_open(&sg, &scfg, "sign");
    if (status == CLI_OK) {
        status = cli_read_file(argv[optind], &payload) == 0 &&
                         cli_signer_statement(&sg, &sp, scitt_buf_span(&payload), &stmt) == 0 &&
                         cli_write_file(out, scitt_buf_span(&stmt), 0644) == 0
                     ? CLI_OK
                     : CLI_FAIL;
    }
    cli_signer_close(&sg);
    scitt_buf_cleanup(&payload);
    scitt_buf_cleanup(&stmt);
    return status;
}

const cli_cmd_t cli_sign = {"sign", "write a signed statement (optionally a hash envelope)", help, run};
