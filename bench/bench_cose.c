/*
 * bench_cose.c: signature verifications per second per algorithm on one
 * thread, and the cost of everything else the ingestion path does to a
 * statement (decode + RFC 9943 checks + normalise + SHA-256), as a
 * percentage of one ES256 verification measured in the same run. The goal
 * is under 3%: parsing must never be what limits registration.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "scitt/cose.h"

typedef struct ctx {
    const scitt_key_t *key;
    scitt_cose_sign1_t s;
    scitt_span_t bytes;
    scitt_buf_t scratch;
    int iters;
} ctx_t;

static void die(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, scitt_err_name(rc));
        exit(1);
    }
}

static void verify_loop(void *arg)
{
    ctx_t *c = arg;
    for (int i = 0; i < c->iters; i++) {
        die(scitt_cose_sign1_verify(&c->s, c->key, scitt_span(NULL, 0), &c->scratch, NULL), "verify");
    }
}

static void parse_loop(void *arg)
{
    ctx_t *c = arg;
    uint8_t entry[SCITT_SHA256_LEN];
    for (int i = 0; i < c->iters; i++) {
        scitt_cose_sign1_t s;
        die(scitt_cose_sign1_decode(&s, c->bytes.base, c->bytes.len, 0, NULL), "decode");
        die(scitt_cose_statement_check(&s, NULL, 0, NULL), "check");
        scitt_buf_reset(&c->scratch);
        die(scitt_cose_normalise(&s, &c->scratch), "normalise");
        scitt_sha256(entry, c->scratch.base, c->scratch.len);
    }
    __asm__ volatile("" : : "r"(entry) : "memory");
}

/* make_statement signs a typical statement: kid, CWT claims with iat,
 * content type, a 1 KiB payload, and a receipt-sized unprotected header. */
static void make_statement(scitt_buf_t *out, const scitt_key_t *key, int alg, scitt_buf_t *scratch)
{
    uint8_t prot[128], payload[1024];
    size_t n = 0;
    uint8_t arg = (uint8_t)(-1 - alg);
    prot[n++] = 0xa4;
    prot[n++] = 0x01;
    if (arg < 24) {
        prot[n++] = 0x20 | arg;
    } else {
        prot[n++] = 0x38;
        prot[n++] = arg;
    }
    static const uint8_t rest[] = {0x03, 0x70, 'a',  'p',  'p',  'l',  'i',  'c',  'a',  't', 'i', 'o', 'n',
                                   '/',  'j',  's',  'o',  'n',  0x04, 0x48, 'i',  's',  's', 'u', 'e', 'r',
                                   '-',  '1',  0x0f, 0xa3, 0x01, 0x73, 'h',  't',  't',  'p', 's', ':', '/',
                                   '/',  'i',  's',  's',  '.',  'e',  'x',  'a',  'm',  'p', 'l', 'e', 0x02,
                                   0x63, 's',  'u',  'b',  0x06, 0x1a, 0x66, 0x00, 0x00, 0x00};
    memcpy(prot + n, rest, sizeof(rest));
    n += sizeof(rest);
    memset(payload, 'p', sizeof(payload));
    die(scitt_cose_sign1_sign(out, key, alg, scitt_span(prot, n), scitt_span(NULL, 0),
                              scitt_span(payload, sizeof(payload)), false, scratch),
        "sign");
}

static double verify_rate(int alg, int iters, scitt_span_t *out_bytes, scitt_buf_t *keep)
{
    scitt_key_t *key;
    ctx_t c = {0};
    die(scitt_key_generate(&key, alg), "keygen");
    scitt_buf_init(&c.scratch, NULL, 0);
    scitt_buf_reset(keep);
    make_statement(keep, key, alg, &c.scratch);
    die(scitt_cose_sign1_decode(&c.s, keep->base, keep->len, 0, NULL), "decode");
    c.key = key;
    c.iters = iters;
    double rate = bench_rate(verify_loop, &c, iters, 5);
    if (out_bytes != NULL) {
        *out_bytes = scitt_span(keep->base, keep->len);
    }
    scitt_buf_cleanup(&c.scratch);
    scitt_key_free(key);
    return rate;
}

int main(void)
{
    static const struct {
        int alg;
        int iters;
    } algs[] = {{SCITT_ALG_ES256, 2000},
                {SCITT_ALG_ES384, 500},
                {SCITT_ALG_ES512, 200},
                {SCITT_ALG_EDDSA, 2000},
                {SCITT_ALG_PS256, 1000}};
    scitt_buf_t es256_stmt, other;
    scitt_span_t es256_bytes = {0};
    double es256 = 0, eddsa = 0;
    scitt_buf_init(&es256_stmt, NULL, 0);
    scitt_buf_init(&other, NULL, 0);
    printf("crypto backend: %s\n", scitt_crypto_backend());
    for (size_t i = 0; i < scitt_countof(algs); i++) {
        int alg = algs[i].alg;
        bool is_es256 = alg == SCITT_ALG_ES256;
        double rate = verify_rate(alg, algs[i].iters, is_es256 ? &es256_bytes : NULL, is_es256 ? &es256_stmt : &other);
        printf("%-6s verify: %10.0f /s\n", scitt_alg_name(alg), rate);
        es256 = is_es256 ? rate : es256;
        eddsa = alg == SCITT_ALG_EDDSA ? rate : eddsa;
    }

    ctx_t c = {0};
    scitt_buf_init(&c.scratch, NULL, 0);
    c.bytes = es256_bytes;
    c.iters = 100000;
    double parse = bench_rate(parse_loop, &c, c.iters, 5);
    double pct = 100.0 * es256 / parse;
    printf("decode+check+normalise+sha256 of a %zu-byte statement: %.0f /s (%.2f us)\n", es256_bytes.len, parse,
           1e6 / parse);
    printf("that is %.2f%% of one ES256 verification (goal < 3%%)\n", pct);
    printf("RESULT cose es256_verify_per_s=%.0f eddsa_verify_per_s=%.0f parse_cost_pct_of_es256=%.2f\n", es256, eddsa,
           pct);
    scitt_buf_cleanup(&c.scratch);
    scitt_buf_cleanup(&es256_stmt);
    scitt_buf_cleanup(&other);
    return 0;
}
