/*
 * test_verify.c: proof verification against the 196 transparency-dev probes
 * (every verdict must match wantErr) and the RFC 9162 8-leaf reference, plus
 * the argument checks the header promises.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/merkle.h"
#include "testutil.h"

/* b64 decodes a standard base64 JSON string into a newly allocated span
 * (any length: the verifier, not this conversion, must reject bad ones). */
static scitt_span_t b64(const tj_t *v)
{
    cr_assert(v != NULL && v->type == TJ_STR);
    uint8_t *out = malloc(v->len + 1);
    size_t len = 0;
    cr_assert(out != NULL);
    cr_assert_eq(scitt_base64_decode(out, v->len + 1, &len, v->str, v->len, SCITT_B64_STD), 0, "%s", v->str);
    return scitt_span(out, len);
}

/* proof_spans converts "proof" (an array or null) into spans. */
static scitt_span_t *proof_spans(const tj_t *v, size_t *num)
{
    *num = 0;
    if (v == NULL || v->type == TJ_NULL) {
        return NULL;
    }
    cr_assert_eq(v->type, TJ_ARR);
    scitt_span_t *out = calloc(v->len + 1, sizeof(*out));
    for (size_t i = 0; i < v->len; i++) {
        out[i] = b64(v->items[i]);
    }
    *num = v->len;
    return out;
}

static void free_spans(scitt_span_t *s, size_t num)
{
    for (size_t i = 0; i < num; i++) {
        free((void *)s[i].base);
    }
    free(s);
}

static uint64_t u64(const tj_t *v)
{
    cr_assert(v != NULL && v->type == TJ_NUM && v->i >= 0, "bad number");
    return (uint64_t)v->i;
}

static size_t num_inclusion, num_consistency;

static void run_probe(const char *path)
{
    tj_t *j = tj_parse_file(path);
    cr_assert(j != NULL, "cannot parse %s", path);
    const tj_t *want = tj_get(j, "wantErr");
    cr_assert(want != NULL && want->type == TJ_BOOL);
    size_t num = 0;
    scitt_span_t *proof = proof_spans(tj_get(j, "proof"), &num);
    int rc;
    if (tj_get(j, "leafIdx") != NULL) {
        scitt_span_t leaf = b64(tj_get(j, "leafHash")), root = b64(tj_get(j, "root"));
        rc = scitt_merkle_verify_inclusion_spans(u64(tj_get(j, "leafIdx")), u64(tj_get(j, "treeSize")), leaf, proof,
                                                 num, root);
        free((void *)leaf.base);
        free((void *)root.base);
        num_inclusion++;
    } else {
        scitt_span_t r1 = b64(tj_get(j, "root1")), r2 = b64(tj_get(j, "root2"));
        rc =
            scitt_merkle_verify_consistency_spans(u64(tj_get(j, "size1")), u64(tj_get(j, "size2")), r1, r2, proof, num);
        free((void *)r1.base);
        free((void *)r2.base);
        num_consistency++;
    }
    if (want->b) {
        cr_expect(rc == SCITT_EPROOF || rc == SCITT_ERANGE || rc == SCITT_EMALFORMED, "%s: accepted (rc %d)", path, rc);
    } else {
        cr_expect_eq(rc, 0, "%s: rejected with %s", path, scitt_err_name(rc));
    }
    free_spans(proof, num);
    tj_free(j);
}

static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    size_t n = strlen(path);
    if (flag == FTW_F && n > 5 && strcmp(path + n - 5, ".json") == 0) {
        run_probe(path);
    }
    return 0;
}

Test(merkle_verify, transparency_dev_probes)
{
    char *root = tu_testdata_path("merkle/transparency-dev-merkle");
    cr_assert_eq(nftw(root, visit, 16, FTW_PHYS), 0);
    cr_expect_eq(num_inclusion + num_consistency, 196, "saw %zu inclusion + %zu consistency probes", num_inclusion,
                 num_consistency);
    cr_expect_gt(num_inclusion, 0);
    cr_expect_gt(num_consistency, 0);
    free(root);
}

static void hex32(uint8_t out[32], const char *hex)
{
    size_t len;
    uint8_t *b = tu_hex(hex, &len);
    cr_assert_eq(len, 32);
    memcpy(out, b, 32);
    free(b);
}

/* Every reference PATH and PROOF verifies, and each single-bit change to a
 * proof element, the index or the sizes is rejected. */
Test(merkle_verify, rfc9162_reference)
{
    char *path = tu_testdata_path("merkle/rfc9162-8leaf-reference.json");
    tj_t *j = tj_parse_file(path);
    cr_assert(j != NULL);
    uint8_t leaves[8][32], roots[9][32], proof[64][32];
    const tj_t *lh = tj_get(j, "leaf_hashes_hex"), *rt = tj_get(j, "roots_hex_by_size");
    for (size_t i = 0; i < 8; i++) {
        hex32(leaves[i], lh->items[i]->str);
    }
    for (size_t i = 0; i <= 8; i++) {
        hex32(roots[i], rt->items[i]->str);
    }
    const tj_t *inc = tj_get(j, "inclusion");
    size_t checked = 0;
    for (size_t a = 0; a < inc->len; a++) {
        uint64_t n = strtoull(inc->keys[a], NULL, 10);
        const tj_t *by_m = inc->items[a];
        for (size_t b = 0; b < by_m->len; b++) {
            uint64_t m = strtoull(by_m->keys[b], NULL, 10);
            const tj_t *p = by_m->items[b];
            for (size_t k = 0; k < p->len; k++) {
                hex32(proof[k], p->items[k]->str);
            }
            cr_expect_eq(scitt_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])proof, p->len, roots[n]),
                         0, "PATH(%lu, %lu)", (unsigned long)m, (unsigned long)n);
            uint8_t r[32];
            cr_expect_eq(scitt_merkle_root_from_inclusion(r, m, n, leaves[m], (const uint8_t(*)[32])proof, p->len), 0);
            cr_expect_eq(memcmp(r, roots[n], 32), 0);
            for (size_t k = 0; k < p->len; k++) {
                proof[k][k % 32] ^= 1;
                cr_expect_eq(
                    scitt_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])proof, p->len, roots[n]),
                    SCITT_EPROOF);
                proof[k][k % 32] ^= 1;
            }
            if (p->len > 0) {
                cr_expect_eq(
                    scitt_merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])proof, p->len - 1, roots[n]),
                    SCITT_EPROOF);
            }
            if (m > 0) {
                /* Another leaf's hash at this index fails. */
                cr_expect_eq(
                    scitt_merkle_verify_inclusion(m, n, leaves[m - 1], (const uint8_t(*)[32])proof, p->len, roots[n]),
                    SCITT_EPROOF);
            }
            checked++;
        }
    }
    cr_expect_eq(checked, 36);
    const tj_t *con = tj_get(j, "consistency");
    checked = 0;
    for (size_t a = 0; a < con->len; a++) {
        uint64_t m = strtoull(con->keys[a], NULL, 10);
        const tj_t *by_n = con->items[a];
        for (size_t b = 0; b < by_n->len; b++) {
            uint64_t n = strtoull(by_n->keys[b], NULL, 10);
            const tj_t *p = by_n->items[b];
            for (size_t k = 0; k < p->len; k++) {
                hex32(proof[k], p->items[k]->str);
            }
            cr_expect_eq(scitt_merkle_verify_consistency(m, n, roots[m], roots[n], (const uint8_t(*)[32])proof, p->len),
                         0, "PROOF(%lu, %lu)", (unsigned long)m, (unsigned long)n);
            cr_expect_eq(scitt_merkle_verify_consistency(m, n, roots[n], roots[m], (const uint8_t(*)[32])proof, p->len),
                         SCITT_EPROOF);
            for (size_t k = 0; k < p->len; k++) {
                proof[k][31 - k % 32] ^= 0x80;
                cr_expect_eq(
                    scitt_merkle_verify_consistency(m, n, roots[m], roots[n], (const uint8_t(*)[32])proof, p->len),
                    SCITT_EPROOF);
                proof[k][31 - k % 32] ^= 0x80;
            }
            checked++;
        }
    }
    cr_expect_eq(checked, 28);
    tj_free(j);
    free(path);
}

Test(merkle_verify, argument_checks)
{
    uint8_t h[65][32] = {{0}}, r[32];
    /* The cap comes before everything else, even a bad index. */
    cr_expect_eq(scitt_merkle_root_from_inclusion(r, 5, 1, h[0], (const uint8_t(*)[32])h, 65), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_root_from_inclusion(r, 0, 1, h[0], NULL, 1), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_root_from_inclusion(r, 1, 1, h[0], NULL, 0), SCITT_ERANGE);
    cr_expect_eq(scitt_merkle_root_from_inclusion(r, 0, 1, h[0], NULL, 0), 0);
    cr_expect_eq(memcmp(r, h[0], 32), 0);
    cr_expect_eq(scitt_merkle_root_from_inclusion(r, 0, 1, h[0], (const uint8_t(*)[32])h, 1), SCITT_EPROOF);
    cr_expect_eq(scitt_merkle_root_from_inclusion(r, UINT64_MAX - 1, UINT64_MAX, h[0], (const uint8_t(*)[32])h, 63), 0);
    cr_expect_eq(scitt_merkle_root_from_inclusion(r, UINT64_MAX - 1, UINT64_MAX, h[0], (const uint8_t(*)[32])h, 64),
                 SCITT_EPROOF);
    cr_expect_eq(scitt_merkle_verify_consistency(1, 2, h[0], h[1], (const uint8_t(*)[32])h, 65), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_verify_consistency(0, 0, h[0], h[0], NULL, 0), SCITT_ERANGE);
    cr_expect_eq(scitt_merkle_verify_consistency(0, 2, h[0], h[0], NULL, 0), SCITT_ERANGE);
    cr_expect_eq(scitt_merkle_verify_consistency(3, 2, h[0], h[0], NULL, 0), SCITT_ERANGE);
    cr_expect_eq(scitt_merkle_verify_consistency(3, 3, h[0], h[0], NULL, 0), 0);
    cr_expect_eq(scitt_merkle_verify_consistency(3, 3, h[0], h[0], (const uint8_t(*)[32])h, 1), SCITT_EPROOF);
    r[0] = 1;
    cr_expect_eq(scitt_merkle_verify_consistency(3, 3, h[0], r, NULL, 0), SCITT_EPROOF);
    cr_expect_eq(scitt_merkle_verify_consistency(3, 4, h[0], h[0], NULL, 0), SCITT_EPROOF);
    /* Lengths: 31 and 33 byte hashes are malformed wherever they appear. */
    uint8_t buf[33] = {0};
    scitt_span_t ok = scitt_span(buf, 32), s31 = scitt_span(buf, 31), s33 = scitt_span(buf, 33);
    scitt_span_t path[2] = {ok, s33};
    cr_expect_eq(scitt_merkle_verify_inclusion_spans(0, 1, s31, NULL, 0, ok), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_verify_inclusion_spans(0, 1, ok, NULL, 0, s33), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_verify_inclusion_spans(0, 3, ok, path, 2, ok), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_verify_inclusion_spans(0, 1, ok, NULL, 0, ok), 0);
    cr_expect_eq(scitt_merkle_verify_consistency_spans(1, 2, ok, s31, NULL, 0), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_verify_consistency_spans(1, 2, s33, ok, path, 1), SCITT_EMALFORMED);
    /* Equal sizes: the roots are only compared (transparency-dev semantics). */
    cr_expect_eq(scitt_merkle_verify_consistency_spans(1, 1, ok, s31, NULL, 0), SCITT_EPROOF);
    cr_expect_eq(scitt_merkle_verify_consistency_spans(1, 1, s31, s31, NULL, 0), 0);
    cr_expect_eq(scitt_merkle_verify_consistency_spans(1, 1, s31, s31, path, 1), SCITT_EPROOF);
    cr_expect_eq(scitt_merkle_verify_consistency_spans(0, 0, ok, ok, NULL, 0), SCITT_ERANGE);
    cr_expect_eq(scitt_merkle_verify_consistency_spans(1, 3, ok, ok, path, 2), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_verify_consistency_spans(1, 1, ok, ok, NULL, 0), 0);
}
