#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../merkle/memstore.h"
#include "scitt/receipt.h"
#include "statement.h"
#include "testutil.h"

static uint8_t *vector_file(const char *dir, const char *name, size_t *len)
{
    char *path = tu_testdata_path("merkle/scitt-cose-v1/v1/%s/%s", dir, name);
    uint8_t *b = tu_read_file(path, len);
    cr_assert_not_null(b, "%s", path);
    free(path);
    return b;
}

static scitt_key_t *vector_key(const char *dir, const char *name)
{
    size_t len;
    uint8_t *pem = vector_file(dir, name, &len);
    scitt_key_t *key;
    cr_assert_eq(scitt_key_from_pem(&key, pem, len), 0);
    free(pem);
    return key;
}

/* check_vector decodes and verifies one IETF vector's receipt with its log
 * key; the entry is SHA-256 of the statement bytes (their convention). */
static int check_vector(const char *dir, const char **why)
{
    size_t st_len, rc_len;
    uint8_t *st = vector_file(dir, "statement.cose", &st_len);
    uint8_t *rb = vector_file(dir, "receipt.cose", &rc_len);
    scitt_key_t *key = vector_key(dir, "log-key.pub");
    uint8_t entry[32];
    scitt_sha256(entry, st, st_len);
    scitt_receipt_t *r = malloc(sizeof(*r));
    scitt_buf_t scratch;
    scitt_buf_init(&scratch, NULL, 0);
    int rc = scitt_receipt_decode(r, rb, rc_len, why);
    if (rc == 0) {
        rc = scitt_receipt_verify(r, entry, key, NULL, &scratch, why);
    }
    scitt_buf_cleanup(&scratch);
    scitt_key_free(key);
    free(r);
    free(st);
    free(rb);
    return rc;
}

Test(receipt, ietf_vectors)
{
    const char *why;
    cr_assert_eq(check_vector("valid-es256", &why), 0, "%s", why);
    cr_assert_eq(check_vector("valid-eddsa", &why), 0, "%s", why);
    cr_assert_eq(check_vector("fail-tampered-path", &why), SCITT_EBADSIG);
    cr_assert_eq(check_vector("fail-unsupported-vds", &why), SCITT_EVDS);
    /* The statement signature is what is wrong in this one: the receipt
     * itself is honest. */
    cr_assert_eq(check_vector("fail-bad-statement-sig", &why), 0);
}

Test(receipt, every_prefix_of_a_receipt_is_rejected)
{
    size_t len;
    uint8_t *rb = vector_file("valid-es256", "receipt.cose", &len);
    scitt_receipt_t *r = malloc(sizeof(*r));
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n + 1); /* exact-size copies let ASan see overreads */
        memcpy(copy, rb, n);
        cr_assert_neq(scitt_receipt_decode(r, copy, n, NULL), 0, "prefix %zu accepted", n);
        free(copy);
    }
    free(r);
    free(rb);
}

/* statement builds a signed statement with kid, iss and sub. */
static void statement(scitt_buf_t *out, const scitt_key_t *issuer, int i)
{
    uint8_t kid[32];
    char sub[32];
    tu_kid(kid, issuer);
    snprintf(sub, sizeof(sub), "pkg:test/%d", i);
    tu_statement_t st = {.alg = SCITT_ALG_ES256,
                         .kid = scitt_span(kid, 32),
                         .iss = "https://ci.example",
                         .sub = sub,
                         .payload = scitt_span_str(sub)};
    tu_sign_statement(out, issuer, &st);
}

static void write_file(const char *dir, const char *name, scitt_span_t data)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data.base, 1, data.len, f), data.len);
    fclose(f);
}

/* Receipts we issue for a tree of `n` statements verify with our verifier
 * and with the independent one (tests/tools/scitt_verify.py), both as plain
 * receipts and inside transparent statements. */
static void issue_and_check(size_t n)
{
    scitt_key_t *issuer, *service;
    cr_assert_eq(scitt_key_generate(&issuer, SCITT_ALG_ES256), 0);
    cr_assert_eq(scitt_key_generate(&service, SCITT_ALG_ES256), 0);
    uint8_t service_kid[32];
    cr_assert_eq(scitt_cose_key_thumbprint(NULL, service_kid, service), 0);

    scitt_buf_t *stmts = calloc(n, sizeof(*stmts));
    uint8_t(*leaves)[32] = calloc(n, 32);
    scitt_cose_sign1_t *decoded = calloc(n, sizeof(*decoded));
    for (size_t i = 0; i < n; i++) {
        scitt_buf_init(&stmts[i], NULL, 0);
        statement(&stmts[i], issuer, (int)i);
        cr_assert_eq(scitt_cose_sign1_decode(&decoded[i], stmts[i].base, stmts[i].len, 0, NULL), 0);
        uint8_t entry[32];
        scitt_cose_entry(&decoded[i], entry);
        scitt_merkle_leaf_hash(leaves[i], entry, 32);
    }
    scitt_merkle_t *tree;
    const scitt_merkle_tile_t *tiles;
    size_t num_tiles;
    uint8_t root[32];
    memstore_t ms;
    memstore_init(&ms);
    cr_assert_eq(scitt_merkle_new(&tree, NULL), 0);
    cr_assert_eq(scitt_merkle_append(tree, (const uint8_t(*)[32])leaves, n, &tiles, &num_tiles, root), 0);
    cr_assert(memstore_write(&ms, tiles, num_tiles));
    scitt_tile_reader_t rd = memstore_reader(&ms);
    scitt_merkle_prover_t *prover;
    cr_assert_eq(scitt_merkle_prover_new(&prover, NULL, &rd, n, 0), 0);

    scitt_buf_t prot, scratch, receipt, transparent;
    scitt_buf_init(&prot, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    scitt_buf_init(&receipt, NULL, 0);
    scitt_buf_init(&transparent, NULL, 0);
    cr_assert_eq(scitt_receipt_protected(&prot, SCITT_ALG_ES256, scitt_span(service_kid, 32),
                                         scitt_span_str("localhost/scittd"), 1795305600),
                 0);
    uint8_t sig[64];
    size_t sig_len;
    cr_assert_eq(scitt_receipt_sign_root(service, SCITT_ALG_ES256, scitt_buf_span(&prot), root, sig, sizeof(sig),
                                         &sig_len, &scratch),
                 0);

    char dir[] = "/tmp/scitt-receipt-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    scitt_buf_t pem;
    scitt_buf_init(&pem, NULL, 0);
    cr_assert_eq(scitt_key_public_pem(service, &pem), 0);
    write_file(dir, "log.pem", scitt_buf_span(&pem));
    scitt_buf_reset(&pem);
    cr_assert_eq(scitt_key_public_pem(issuer, &pem), 0);
    write_file(dir, "issuer.pem", scitt_buf_span(&pem));
    scitt_buf_cleanup(&pem);

    scitt_receipt_t *r = malloc(sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        uint8_t path[64][32];
        size_t path_len;
        cr_assert_eq(scitt_merkle_prover_inclusion(prover, path, &path_len, i), 0);
        scitt_buf_reset(&receipt);
        cr_assert_eq(scitt_receipt_encode(&receipt, scitt_buf_span(&prot), n, i, (const uint8_t(*)[32])path, path_len,
                                          scitt_span(sig, sig_len)),
                     0);
        const char *why = NULL;
        uint8_t entry[32], got_root[32];
        scitt_cose_entry(&decoded[i], entry);
        cr_assert_eq(scitt_receipt_decode(r, receipt.base, receipt.len, &why), 0, "%s", why);
        cr_assert_eq(r->tree_size, n);
        cr_assert_eq(r->leaf_index, i);
        cr_assert_eq(r->iat, 1795305600);
        cr_assert_eq(scitt_receipt_verify(r, entry, service, got_root, &scratch, &why), 0, "%s", why);
        cr_assert_arr_eq(got_root, root, 32);
        entry[0] ^= 1;
        cr_assert_neq(scitt_receipt_verify(r, entry, service, NULL, &scratch, &why), 0);
        entry[0] ^= 1;
        cr_assert_neq(scitt_receipt_verify(r, entry, issuer, NULL, &scratch, &why), 0, "wrong key");

        /* The transparent statement carries the receipt under 394. */
        scitt_buf_reset(&transparent);
        cr_assert_eq(scitt_receipt_transparent(&transparent, &decoded[i], scitt_buf_span(&receipt)), 0);
        scitt_cose_sign1_t ts;
        cr_assert_eq(scitt_cose_sign1_decode(&ts, transparent.base, transparent.len, 0, &why), 0, "%s", why);
        const scitt_span_t *receipts;
        size_t num;
        uint8_t ts_entry[32];
        cr_assert_eq(scitt_receipt_split(&ts, ts_entry, &receipts, &num), 0);
        cr_assert_eq(num, 1);
        cr_assert(scitt_span_eq(receipts[0], scitt_buf_span(&receipt)));
        cr_assert_arr_eq(ts_entry, entry, 32);

        /* The independent verifier agrees (normalised statement + receipt). */
        scitt_buf_t norm;
        scitt_buf_init(&norm, NULL, 0);
        cr_assert_eq(scitt_cose_normalise(&decoded[i], &norm), 0);
        write_file(dir, "stmt.cose", scitt_buf_span(&norm));
        write_file(dir, "receipt.cose", scitt_buf_span(&receipt));
        scitt_buf_cleanup(&norm);
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "/usr/bin/python3 %s/scitt_verify.py %s/stmt.cose %s/receipt.cose %s/log.pem "
                 "--issuer-key %s/issuer.pem --ours localhost/scittd >%s/out.txt 2>&1",
                 getenv("SCITT_TEST_TOOLS"), dir, dir, dir, dir, dir);
        if (i < 4 || i == n - 1) { /* a few per tree: a Python start costs ~100 ms */
            int status = system(cmd);
            char out[256] = "";
            snprintf(cmd, sizeof(cmd), "%s/out.txt", dir);
            FILE *f = fopen(cmd, "r");
            if (f != NULL) {
                size_t got = fread(out, 1, sizeof(out) - 1, f);
                out[got] = '\0';
                fclose(f);
            }
            cr_assert_eq(status, 0, "independent verifier, leaf %zu of %zu: %s", i, n, out);
        }
    }
    free(r);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    for (size_t i = 0; i < n; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
    free(stmts);
    free(leaves);
    free(decoded);
    scitt_buf_cleanup(&prot);
    scitt_buf_cleanup(&scratch);
    scitt_buf_cleanup(&receipt);
    scitt_buf_cleanup(&transparent);
    scitt_merkle_prover_free(prover);
    scitt_merkle_free(tree);
    memstore_cleanup(&ms);
    scitt_key_free(issuer);
    scitt_key_free(service);
}

Test(receipt, issued_receipts_verify_size_1, .timeout = 60)
{
    issue_and_check(1); /* the empty path */
}

Test(receipt, issued_receipts_verify_size_7, .timeout = 60)
{
    issue_and_check(7);
}

Test(receipt, issued_receipts_verify_size_300, .timeout = 60)
{
    issue_and_check(300); /* crosses a tile boundary */
}

Test(receipt, rejects_index_not_below_size)
{
    scitt_key_t *service;
    cr_assert_eq(scitt_key_generate(&service, SCITT_ALG_ES256), 0);
    scitt_buf_t prot, receipt, scratch;
    scitt_buf_init(&prot, NULL, 0);
    scitt_buf_init(&receipt, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    cr_assert_eq(scitt_receipt_protected(&prot, SCITT_ALG_ES256, scitt_span("k", 1), scitt_span_str("o"), 1), 0);
    uint8_t sig[64] = {0};
    cr_assert_eq(scitt_receipt_encode(&receipt, scitt_buf_span(&prot), 4, 4, NULL, 0, scitt_span(sig, 64)), 0);
    scitt_receipt_t *r = malloc(sizeof(*r));
    cr_assert_eq(scitt_receipt_decode(r, receipt.base, receipt.len, NULL), 0);
    uint8_t entry[32] = {0};
    cr_assert_eq(scitt_receipt_verify(r, entry, service, NULL, &scratch, NULL), SCITT_ERANGE);
    free(r);
    scitt_buf_cleanup(&prot);
    scitt_buf_cleanup(&receipt);
    scitt_buf_cleanup(&scratch);
    scitt_key_free(service);
}
