/*
 * artifact.c: the deploy-time checks of `scitt verify` (issue 20): does the
 * statement speak about this file (its hash envelope's digest, RFC 9995, or
 * its attached payload), and was it made by the issuer and for the subject
 * the pipeline expects (the protected CWT claims iss and sub). Each check
 * prints one line saying what it compared.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_map_file(const char *path, scitt_span_t *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        cli_err("cannot read %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    void *p = NULL;
    if (!S_ISREG(st.st_mode)) {
        cli_err("%s is not a regular file", path);
    } else if (st.st_size > 0 && (p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
        cli_err("cannot map %s: %s", path, strerror(errno));
    } else {
        close(fd);
        *out = scitt_span(p, (size_t)st.st_size);
        return 0;
    }
    close(fd);
    return -1;
}

void cli_unmap_file(scitt_span_t data)
{
    if (data.len > 0) {
        munmap((void *)data.base, data.len);
    }
}

static const char *hash_name(int64_t alg)
{
    switch (alg) {
    case SCITT_HASH_SHA256:
        return "SHA-256";
    case SCITT_HASH_SHA384:
        return "SHA-384";
    case SCITT_HASH_SHA512:
        return "SHA-512";
    default:
        return NULL;
    }
}

int cli_check_artifact(const scitt_cose_sign1_t *s, const char *path)
{
    scitt_span_t data;
    if (cli_map_file(path, &data) != 0) {
        return CLI_FAIL;
    }
    int status = CLI_ARTIFACT;
    char hex[129];
    if (s->prot.present & SCITT_COSE_HAS_PAYLOAD_HASH_ALG) {
        const char *name = hash_name(s->prot.payload_hash_alg);
        uint8_t digest[64];
        size_t n = 0;
        if (name == NULL || scitt_hash((int)s->prot.payload_hash_alg, digest, &n, data.base, data.len) != 0) {
            printf("artifact: FAILED: hash envelope names an unknown hash algorithm %lld\n",
                   (long long)s->prot.payload_hash_alg);
        } else if (s->detached || s->payload.len != n || !scitt_ct_eq(s->payload.base, digest, n)) {
            scitt_hex_encode(hex, digest, n);
            printf("artifact: FAILED: %s of %s is %s, not the digest the statement signs\n", name, path, hex);
        } else {
            scitt_hex_encode(hex, digest, n);
            printf("artifact: OK: %s of %s is %s, the statement's hash envelope digest\n", name, path, hex);
            status = CLI_OK;
        }
    } else if (s->detached) {
        printf("artifact: FAILED: the statement's payload is detached and it is not a hash envelope, so it "
               "cannot be bound to %s\n",
               path);
    } else if (s->payload.len != data.len || memcmp(s->payload.base, data.base, data.len) != 0) {
        printf("artifact: FAILED: %s (%zu bytes) differs from the statement's attached payload (%zu bytes)\n", path,
               data.len, s->payload.len);
    } else {
        printf("artifact: OK: %s equals the statement's attached payload (%zu bytes)\n", path, data.len);
        status = CLI_OK;
    }
    cli_unmap_file(data);
    return status;
}

/* check_claim compares one claim with an exact value or a prefix. */
static bool check_claim(const char *name, bool present, scitt_span_t have, const char *want, bool prefix)
{
    if (want == NULL) {
        return true;
    }
    size_t n = strlen(want);
    bool ok = present && (prefix ? have.len >= n : have.len == n) && memcmp(have.base, want, n) == 0;
    if (!present) {
        printf("%s: FAILED: the statement has no %s claim\n", name, name);
    } else {
        printf("%s: %s: \"%.*s\" %s \"%s\"\n", name, ok ? "OK" : "FAILED", (int)have.len, (const char *)have.base,
               ok ? (prefix ? "starts with" : "is") : (prefix ? "does not start with" : "is not"), want);
    }
    return ok;
}

int cli_check_claims(const scitt_cose_sign1_t *s, const cli_claims_want_t *want)
{
    const scitt_cose_cwt_t *cwt = &s->prot.cwt;
    bool has_cwt = (s->prot.present & SCITT_COSE_HAS_CWT) != 0;
    bool ok = check_claim("iss", has_cwt && (cwt->present & SCITT_CWT_HAS_ISS), cwt->iss, want->iss, false);
    ok &= check_claim("iss", has_cwt && (cwt->present & SCITT_CWT_HAS_ISS), cwt->iss, want->iss_prefix, true);
    ok &= check_claim("sub", has_cwt && (cwt->present & SCITT_CWT_HAS_SUB), cwt->sub, want->sub, false);
    ok &= check_claim("sub", has_cwt && (cwt->present & SCITT_CWT_HAS_SUB), cwt->sub, want->sub_prefix, true);
    return ok ? CLI_OK : CLI_CLAIMS;
}
