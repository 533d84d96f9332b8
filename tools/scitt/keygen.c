/*
 * keygen.c: `scitt keygen`: a new issuer key. The private key is written
 * 0600; the public key goes beside it (KEY.pub.pem) so it can be copied
 * into the folder scittd's --issuer-keys names. The kid printed is the RFC
 * 9679 thumbprint, the value `scitt sign` puts in the statement's kid.
 */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"

static const char help[] = "usage: scitt keygen [--alg ES256|ES384|EdDSA] --out KEY.pem\n\n"
                           "Generates an issuer key pair. Writes the private key to KEY.pem (mode 0600)\n"
                           "and the public key to KEY.pub.pem (for scittd --issuer-keys), and prints the\n"
                           "kid: the RFC 9679 COSE key thumbprint, unpadded base64url.\n\n"
                           "  --alg ALG   ES256 (default), ES384, ES512 or EdDSA (PS256 gives RSA-3072)\n"
                           "  --out FILE  where the private key goes (required)\n";

/* pub_path turns KEY.pem into KEY.pub.pem (or appends .pub.pem). */
static void pub_path(char *out, size_t cap, const char *priv)
{
    size_t n = strlen(priv);
    if (n > 4 && strcmp(priv + n - 4, ".pem") == 0) {
        n -= 4;
    }
    snprintf(out, cap, "%.*s.pub.pem", (int)n, priv);
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"alg", required_argument, NULL, 'a'}, {"out", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    const char *alg_name = "ES256", *out = NULL;
    int ch;
    while ((ch = cli_getopt(argc, argv, opts)) != -1) {
        if (ch == 'a') {
            alg_name = optarg;
        } else if (ch == 'o') {
            out = optarg;
        } else {
            return cli_usage("keygen", "unknown option");
        }
    }
    int alg;
    if (out == NULL || optind != argc) {
        return cli_usage("keygen", "--out KEY.pem is required and nothing else");
    }
    if (scitt_alg_from_name(alg_name, &alg) != 0) {
        return cli_usage("keygen", "unknown algorithm %s", alg_name);
    }

    int status = CLI_FAIL;
    scitt_key_t *key = NULL;
    scitt_buf_t priv, pub;
    scitt_buf_init(&priv, NULL, 0);
    scitt_buf_init(&pub, NULL, 0);
    uint8_t kid[SCITT_SHA256_LEN];
    char pubfile[4096];
    int rc = scitt_key_generate(&key, alg);
    rc = rc != 0 ? rc : scitt_key_private_pem(key, &priv);
    rc = rc != 0 ? rc : scitt_key_public_pem(key, &pub);
    rc = rc != 0 ? rc : scitt_cose_key_thumbprint(NULL, kid, key);
    if (rc != 0) {
        cli_err("keygen: %s", scitt_strerror(rc));
        goto done;
    }
    pub_path(pubfile, sizeof(pubfile), out);
    if (cli_write_file(out, scitt_buf_span(&priv), 0600) != 0 ||
        cli_write_file(pubfile, scitt_buf_span(&pub), 0644) != 0) {
        goto done;
    }
    char *text = cli_kid_text(scitt_span(kid, sizeof(kid)));
    printf("%s\n", text);
    free(text);
    fprintf(stderr, "scitt: wrote %s (private, %s) and %s (public)\n", out, scitt_alg_name(alg), pubfile);
    status = CLI_OK;
done:
    scitt_cleanse(priv.base, priv.len);
    scitt_buf_cleanup(&priv);
    scitt_buf_cleanup(&pub);
    scitt_key_free(key);
    return status;
}

const cli_cmd_t cli_keygen = {"keygen", "generate an issuer key pair and print its kid", help, run};
