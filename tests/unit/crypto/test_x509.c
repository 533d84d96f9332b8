#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "scitt/crypto.h"
#include "testutil.h"

/* 2026-11-22: inside every fixture's validity except leaf-expired's. */
#define NOW 1795305600

static uint8_t *fixture(const char *name, size_t *len)
{
    const char *dir = getenv("SCITT_LOCAL_TESTDATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/x509/%s", dir != NULL ? dir : "tests/data", name);
    uint8_t *b = tu_read_file(path, len);
    cr_assert_not_null(b, "cannot read %s", path);
    return b;
}

static scitt_trust_store_t *store(const char *name)
{
    size_t len;
    uint8_t *pem = fixture(name, &len);
    scitt_trust_store_t *ts;
    cr_assert_eq(scitt_trust_store_from_pem(&ts, pem, len), 0);
    free(pem);
    return ts;
}

/* verify loads the named DER files as a chain and validates it. */
static int verify(scitt_trust_store_t *ts, const char *leaf, const char *inter, int64_t now, const char **why)
{
    size_t len0, len1 = 0;
    uint8_t *d0 = fixture(leaf, &len0);
    uint8_t *d1 = inter != NULL ? fixture(inter, &len1) : NULL;
    scitt_span_t chain[2] = {scitt_span(d0, len0), scitt_span(d1, len1)};
    scitt_key_t *key = NULL;
    int rc = scitt_x509_verify_chain(ts, chain, inter != NULL ? 2 : 1, now, &key, why);
    if (rc == 0) {
        cr_assert(scitt_key_supports(key, SCITT_ALG_ES256));
    }
    scitt_key_free(key);
    free(d0);
    free(d1);
    return rc;
}

Test(crypto_x509, valid_chain_yields_the_leaf_key)
{
    scitt_trust_store_t *ts = store("roots-two.pem");
    cr_assert_eq(scitt_trust_store_count(ts), 2);
    const char *why;
    cr_assert_eq(verify(ts, "leaf.der", "intermediate.der", NOW, &why), 0);

    /* The key is the one the leaf's private key signs for. */
    size_t len;
    uint8_t *der = fixture("leaf.der", &len);
    uint8_t *pem = fixture("leaf-key.pem", &len);
    scitt_key_t *priv, *pub;
    cr_assert_eq(scitt_key_from_pem(&priv, pem, strlen((char *)pem)), 0);
    cr_assert_eq(scitt_x509_public_key(der, len = 0, &pub), SCITT_ECERT);
    free(der);
    der = fixture("leaf.der", &len);
    cr_assert_eq(scitt_x509_public_key(der, len, &pub), 0);
    uint8_t sig[64];
    size_t sig_len;
    cr_assert_eq(scitt_sig_sign(priv, SCITT_ALG_ES256, (const uint8_t *)"m", 1, sig, sizeof(sig), &sig_len), 0);
    cr_assert_eq(scitt_sig_verify(pub, SCITT_ALG_ES256, (const uint8_t *)"m", 1, sig, sig_len), 0);
    scitt_key_free(priv);
    scitt_key_free(pub);
    free(der);
    free(pem);
    scitt_trust_store_free(ts);
}

Test(crypto_x509, rejects_each_broken_chain)
{
    scitt_trust_store_t *ts = store("root.pem");
    scitt_trust_store_t *other = store("other-root.pem");
    const char *why;
    cr_assert_eq(verify(ts, "leaf.der", NULL, NOW, &why), SCITT_ECERT, "missing intermediate");
    cr_assert_str_eq(why, "the chain does not lead to a trusted root");
    cr_assert_eq(verify(other, "leaf.der", "intermediate.der", NOW, &why), SCITT_ECERT, "untrusted root");
    cr_assert_eq(verify(ts, "leaf-expired.der", "intermediate.der", NOW, &why), SCITT_ECERT);
    cr_assert_str_eq(why, "a certificate in the chain has expired");
    cr_assert_eq(verify(ts, "leaf.der", "intermediate.der", 1704067200 /* 2024 */, &why), SCITT_ECERT);
    cr_assert_str_eq(why, "a certificate in the chain is not yet valid");
    cr_assert_eq(verify(ts, "leaf-nosign.der", "intermediate.der", NOW, &why), SCITT_ECERT);
    cr_assert_str_eq(why, "the leaf certificate's key usage does not allow signing");
    /* rogue.der is issued by leaf.der, which is not a CA. */
    size_t l0, l1, l2;
    uint8_t *r = fixture("rogue.der", &l0), *lf = fixture("leaf.der", &l1), *in = fixture("intermediate.der", &l2);
    scitt_span_t chain[3] = {scitt_span(r, l0), scitt_span(lf, l1), scitt_span(in, l2)};
    scitt_key_t *key;
    cr_assert_eq(scitt_x509_verify_chain(ts, chain, 3, NOW, &key, &why), SCITT_ECERT);
    /* Malformed and empty chains. */
    chain[1].len--;
    cr_assert_eq(scitt_x509_verify_chain(ts, chain + 1, 2, NOW, &key, &why), SCITT_ECERT);
    cr_assert_str_eq(why, "the leaf certificate is malformed");
    cr_assert_eq(scitt_x509_verify_chain(ts, chain, 0, NOW, &key, &why), SCITT_ECERT);
    free(r);
    free(lf);
    free(in);
    scitt_trust_store_free(ts);
    scitt_trust_store_free(other);
}

Test(crypto_x509, trust_store_rejects_bad_bundles)
{
    scitt_trust_store_t *ts;
    cr_assert_eq(scitt_trust_store_from_pem(&ts, (const uint8_t *)"", 0), SCITT_ECERT);
    const char *bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    cr_assert_eq(scitt_trust_store_from_pem(&ts, (const uint8_t *)bad, strlen(bad)), SCITT_ECERT);
    size_t len;
    uint8_t *pem = fixture("root.pem", &len);
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    scitt_buf_append(&b, pem, len);
    scitt_buf_append_str(&b, bad);
    cr_assert_eq(scitt_trust_store_from_pem(&ts, b.base, b.len), SCITT_ECERT, "a bad certificate after a good one");
    scitt_buf_cleanup(&b);
    free(pem);
}
