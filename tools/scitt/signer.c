/*
 * signer.c: who signs a statement (issue 20). The key is a PEM file
 * (--key), a PEM text in an environment variable (--key-env, so a CI secret
 * never touches the disk), or an external command (--signer CMD: an HSM, a
 * KMS or a cloud signer, plugged in without linking it). The command gets
 * the COSE Sig_structure on stdin and writes the signature on stdout; the
 * public key (--pub) or certificate chain (--x5chain) is given separately,
 * and each signature it returns is checked against it before use.
 * `scitt sign` and `scitt attest` build their statements here.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* read_pem_certs decodes every CERTIFICATE block of a PEM text into DER
 * (appended to `der`, start offsets in `offs`). PEM is base64 with line
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

bool cli_signer_option(cli_signer_cfg_t *cfg, int ch, const char *arg)
{
    switch (ch) {
    case CLI_O_KEY:
        cfg->key_path = arg;
        return true;
    case CLI_O_KEY_ENV:
        cfg->key_env = arg;
        return true;
    case CLI_O_SIGNER:
        cfg->cmd = arg;
        return true;
    case CLI_O_PUB:
        cfg->pub_path = arg;
        return true;
    case CLI_O_X5CHAIN:
        cfg->x5_path = arg;
        return true;
    case CLI_O_ISS:
        cfg->sp->iss = arg;
        return true;
    case CLI_O_SUB:
        cfg->sp->sub = arg;
        return true;
    case CLI_O_CTYPE:
        cfg->sp->content_type = arg;
        return true;
    default:
        return false;
    }
}

static scitt_key_t *key_from_env(const char *var)
{
    const char *pem = getenv(var);
    if (pem == NULL || pem[0] == '\0') {
        cli_err("--key-env: the environment variable %s is not set", var);
        return NULL;
    }
    scitt_key_t *key = NULL;
    int rc = scitt_key_from_pem(&key, (const uint8_t *)pem, strlen(pem));
    if (rc != 0) {
        cli_err("--key-env: %s does not hold a supported PEM key: %s", var, scitt_strerror(rc));
        return NULL;
    }
    return key;
}

int cli_signer_open(cli_signer_t *sg, const cli_signer_cfg_t *cfg, const char *cmd)
{
    memset(sg, 0, sizeof(*sg));
    scitt_buf_init(&sg->der, NULL, 0);
    int sources = (cfg->key_path != NULL) + (cfg->key_env != NULL) + (cfg->cmd != NULL);
    if (sources != 1) {
        return cli_usage(cmd, "give exactly one of --key, --key-env, --signer");
    }
    if (cfg->cmd != NULL && cfg->pub_path == NULL && cfg->x5_path == NULL) {
        return cli_usage(cmd, "--signer needs the public key (--pub PEM) or the certificate chain (--x5chain PEM)");
    }
    if (cfg->cmd == NULL && cfg->pub_path != NULL) {
        return cli_usage(cmd, "--pub goes with --signer (a private key holds its public key)");
    }
    sg->cmd = cfg->cmd;
    if (cfg->x5_path != NULL) {
        size_t offs[SCITT_COSE_MAX_X5CHAIN + 1];
        if (read_pem_certs(cfg->x5_path, &sg->der, offs, SCITT_COSE_MAX_X5CHAIN, &sg->num_certs) != 0) {
            return CLI_FAIL;
        }
        offs[sg->num_certs] = sg->der.len;
        for (size_t i = 0; i < sg->num_certs; i++) {
            sg->certs[i] = scitt_span(sg->der.base + offs[i], offs[i + 1] - offs[i]);
        }
    }
    if (cfg->key_path != NULL) {
        sg->key = cli_load_key(cfg->key_path);
    } else if (cfg->key_env != NULL) {
        sg->key = key_from_env(cfg->key_env);
    } else if (cfg->pub_path != NULL) {
        sg->key = cli_load_key(cfg->pub_path);
    } else if (scitt_x509_public_key(sg->certs[0].base, sg->certs[0].len, &sg->key) != 0) {
        cli_err("%s: the first certificate's public key is not usable", cfg->x5_path);
        sg->key = NULL;
    }
    if (sg->key == NULL) {
        return CLI_FAIL;
    }
    if (sg->cmd == NULL && !scitt_key_has_private(sg->key)) {
        cli_err("%s is a public key; signing needs the private key",
                cfg->key_path != NULL ? cfg->key_path : cfg->key_env);
        return CLI_FAIL;
    }
    sg->alg = cli_key_alg(sg->key);
    sg->has_kid = cfg->x5_path == NULL && !cfg->no_kid;
    if (sg->has_kid && scitt_cose_key_thumbprint(NULL, sg->kid, sg->key) != 0) {
        cli_err("cannot compute the key's thumbprint");
        return CLI_FAIL;
    }
    return CLI_OK;
}

void cli_signer_close(cli_signer_t *sg)
{
    scitt_key_free(sg->key);
    sg->key = NULL;
    scitt_buf_cleanup(&sg->der);
}

/* ecdsa_der_to_raw turns a DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs)
 * into the COSE form, r||s of `width` bytes each. Returns 0 or -1. */
static int ecdsa_der_to_raw(uint8_t *out, size_t width, const uint8_t *der, size_t len)
{
    if (len < 8 || der[0] != 0x30 || der[1] != len - 2) {
        return -1;
    }
    size_t off = 2;
    for (int i = 0; i < 2; i++) {
        if (off + 2 > len || der[off] != 0x02 || der[off + 1] == 0 || off + 2 + der[off + 1] > len) {
            return -1;
        }
        size_t n = der[off + 1];
        const uint8_t *v = der + off + 2;
        off += 2 + n;
        while (n > 0 && v[0] == 0) {
            v++;
            n--;
        }
        if (n > width) {
            return -1;
        }
        memset(out + i * width, 0, width - n);
        memcpy(out + i * width + width - n, v, n);
    }
    return off == len ? 0 : -1;
}

/* run_signer runs the --signer command with `tbs` on stdin and collects at
 * most `cap` bytes of its stdout. Returns 0, or reports and returns -1. */
static int run_signer(const char *cmd, scitt_span_t tbs, uint8_t *out, size_t cap, size_t *out_len)
{
    int in[2], outp[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(in) != 0) {
        cli_err("--signer: pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe(outp) != 0) {
        cli_err("--signer: pipe: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(outp[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(outp[0]);
        close(outp[1]);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    if (pid < 0) {
        cli_err("--signer: fork: %s", strerror(errno));
        close(in[1]);
        close(outp[0]);
        return -1;
    }
    /* The input is written whole before the output is read: a signer reads
     * its message before it answers, and a signature fits a pipe. A signer
     * that does not read gives EPIPE, which is ignored. */
    for (size_t off = 0; off < tbs.len;) {
        ssize_t n = write(in[1], tbs.base + off, tbs.len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    close(in[1]);
    size_t got = 0;
    bool too_long = false;
    for (;;) {
        uint8_t chunk[512];
        ssize_t n = read(outp[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        size_t take = (size_t)n < cap - got ? (size_t)n : cap - got;
        memcpy(out + got, chunk, take);
        got += take;
        too_long |= take < (size_t)n;
    }
    close(outp[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        cli_err("--signer: `%s` failed (%s %d); no signature", cmd, WIFEXITED(ws) ? "exit status" : "signal",
                WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
        return -1;
    }
    if (too_long) {
        cli_err("--signer: `%s` wrote more than %zu bytes; not a signature", cmd, cap);
        return -1;
    }
    *out_len = got;
    return 0;
}

/* sign_external is the scitt_cose_signer_fn of --signer: the command's
 * answer, converted from DER for ECDSA when needed, must verify under the
 * given public key. */
static int sign_external(void *ud, int alg, scitt_span_t tbs, uint8_t *sig, size_t cap, size_t *out_len)
{
    const cli_signer_t *sg = ud;
    uint8_t got[1024];
    size_t n;
    if (run_signer(sg->cmd, tbs, got, sizeof(got), &n) != 0) {
        return SCITT_ECRYPTO;
    }
    size_t want = scitt_sig_max_len(alg);
    bool ecdsa = alg == SCITT_ALG_ES256 || alg == SCITT_ALG_ES384 || alg == SCITT_ALG_ES512;
    if (ecdsa && n != want && n > 0 && got[0] == 0x30) {
        if (ecdsa_der_to_raw(sig, want / 2, got, n) != 0) {
            cli_err("--signer: the output (%zu bytes) is neither a raw r||s of %zu bytes nor a DER ECDSA signature", n,
                    want);
            return SCITT_ECRYPTO;
        }
        n = want;
    } else if (n > cap || ((ecdsa || alg == SCITT_ALG_EDDSA) && n != want) || n == 0) {
        cli_err("--signer: the output is %zu bytes; %s wants %s%zu bytes", n, scitt_alg_name(alg),
                ecdsa || alg == SCITT_ALG_EDDSA ? "" : "at most ", want);
        return SCITT_ECRYPTO;
    } else {
        memcpy(sig, got, n);
    }
    if (scitt_sig_verify(sg->key, alg, tbs.base, tbs.len, sig, n) != 0) {
        cli_err("--signer: the signature does not verify under the given public key");
        return SCITT_EBADSIG;
    }
    *out_len = n;
    return 0;
}

int cli_signer_statement(const cli_signer_t *sg, scitt_cose_statement_params_t *sp, scitt_span_t payload,
                         scitt_buf_t *out)
{
    uint8_t digest[SCITT_SHA256_LEN];
    sp->alg = sg->alg;
    sp->kid = sg->has_kid ? scitt_span(sg->kid, sizeof(sg->kid)) : scitt_span(NULL, 0);
    sp->x5chain = sg->num_certs > 0 ? sg->certs : NULL;
    sp->num_x5chain = sg->num_certs;
    scitt_span_t signed_payload = payload;
    if (sp->payload_hash_alg != 0) {
        scitt_sha256(digest, payload.base, payload.len);
        signed_payload = scitt_span(digest, sizeof(digest));
    }
    scitt_buf_t prot, scratch;
    scitt_buf_init(&prot, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    int rc = scitt_cose_statement_protected(&prot, sp);
    if (rc == 0 && sg->cmd != NULL) {
        rc = scitt_cose_sign1_sign_with(out, sign_external, (void *)sg, sp->alg, scitt_buf_span(&prot),
                                        scitt_span(NULL, 0), signed_payload, false, &scratch);
    } else if (rc == 0) {
        rc = scitt_cose_sign1_sign(out, sg->key, sp->alg, scitt_buf_span(&prot), scitt_span(NULL, 0), signed_payload,
                                   false, &scratch);
    }
    if (rc != 0 && sg->cmd == NULL) {
        cli_err("sign: %s", scitt_strerror(rc));
    }
    scitt_buf_cleanup(&prot);
    scitt_buf_cleanup(&scratch);
    return rc == 0 ? 0 : -1;
}
