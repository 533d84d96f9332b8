/*
 * make_statement: write a signed statement for trying scittd by hand and for
 * the integration tests, until the `scitt` command line exists.
 *
 *   make_statement DIR OUT [PAYLOAD]
 *
 * DIR/issuer.key  the issuer's private key (ES256 PEM), created on first use
 * DIR/keys/       its public key as issuer.pem: give this to --issuer-keys
 * OUT             a tagged COSE_Sign1 with kid = the key's RFC 9679
 *                 thumbprint, CWT iss/sub and PAYLOAD attached (default
 *                 "hello, transparency"); `-` writes to stdout
 *
 * For hostile statements: $SCITT_TEST_ISS_HEX gives the iss bytes (any,
 * not necessarily UTF-8), $SCITT_TEST_PROTECTED_EXTRA the hex of a CBOR map
 * whose entries are added to the protected header as given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "statement.h"
#include "testutil.h"

static void die(const char *what)
{
    fprintf(stderr, "make_statement: %s\n", what);
    exit(1);
}

static void write_file(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (f == NULL) {
        die(strerror(errno));
    }
    if (f != stdout) {
        chmod(path, mode);
    }
    if (fwrite(data, 1, len, f) != len || (f != stdout ? fclose(f) : fflush(f)) != 0) {
        die("write failed");
    }
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: make_statement DIR OUT [PAYLOAD]\n");
        return 2;
    }
    const char *dir = argv[1], *out = argv[2];
    const char *payload = argc == 4 ? argv[3] : "hello, transparency";
    /* A new issuer key uses $SCITT_TEST_ALG (default ES256). */
    int alg = SCITT_ALG_ES256;
    const char *alg_name = getenv("SCITT_TEST_ALG");
    if (alg_name != NULL && scitt_alg_from_name(alg_name, &alg) != 0) {
        die("unknown SCITT_TEST_ALG");
    }
    char path[4096];
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/keys", dir);
    mkdir(path, 0700);

    scitt_key_t *key = NULL;
    size_t len;
    snprintf(path, sizeof(path), "%s/issuer.key", dir);
    uint8_t *pem = tu_read_file(path, &len);
    if (pem != NULL) {
        if (scitt_key_from_pem(&key, pem, len) != 0) {
            die("cannot read DIR/issuer.key");
        }
        free(pem);
    } else {
        scitt_buf_t b;
        scitt_buf_init(&b, NULL, 0);
        if (scitt_key_generate(&key, alg) != 0 || scitt_key_private_pem(key, &b) != 0) {
            die("cannot make a key");
        }
        write_file(path, b.base, b.len, 0600);
        scitt_buf_reset(&b);
        if (scitt_key_public_pem(key, &b) != 0) {
            die("cannot write the public key");
        }
        snprintf(path, sizeof(path), "%s/keys/issuer.pem", dir);
        write_file(path, b.base, b.len, 0644);
        scitt_buf_cleanup(&b);
    }

    for (size_t i = 0; i < 7; i++) { /* the key decides: ES256..PS512 */
        static const int algs[] = {SCITT_ALG_ES256, SCITT_ALG_ES384, SCITT_ALG_ES512, SCITT_ALG_EDDSA,
                                   SCITT_ALG_PS256, SCITT_ALG_PS384, SCITT_ALG_PS512};
        if (scitt_key_supports(key, algs[i]) && (alg_name == NULL || algs[i] == alg)) {
            alg = algs[i];
            break;
        }
    }
    uint8_t kid[32];
    tu_kid(kid, key);
    tu_statement_t st = {
        .alg = alg,
        .kid = scitt_span(kid, sizeof(kid)),
        .iss = "https://issuer.example",
        .sub = "demo",
        .payload = scitt_span_str(payload),
    };
    const char *iss_hex = getenv("SCITT_TEST_ISS_HEX"), *extra_hex = getenv("SCITT_TEST_PROTECTED_EXTRA");
    uint8_t *iss = NULL, *extra = NULL;
    if (iss_hex != NULL) {
        iss = tu_hex(iss_hex, &len); /* room for one more byte */
        iss[len] = 0;
        st.iss = (const char *)iss;
    }
    if (extra_hex != NULL) {
        extra = tu_hex(extra_hex, &len);
        st.protected_extra = scitt_span(extra, len);
    }
    scitt_buf_t stmt;
    scitt_buf_init(&stmt, NULL, 0);
    tu_sign_statement(&stmt, key, &st);
    write_file(out, stmt.base, stmt.len, 0644);
    scitt_buf_cleanup(&stmt);
    scitt_key_free(key);
    free(iss);
    free(extra);
    return 0;
}
