#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "scitt/verify.h"
#include "statement.h"
#include "testutil.h"

#define NOW 1795305600 /* 2026-11-22 */

static char keys_dir[] = "/tmp/scitt-policy-XXXXXX";
static scitt_key_t *trusted, *untrusted;

static void write_file(const char *path, scitt_span_t data)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data.base, 1, data.len, f), data.len);
    fclose(f);
}

static void setup(void)
{
    cr_assert_not_null(mkdtemp(keys_dir));
    cr_assert_eq(scitt_key_generate(&trusted, SCITT_ALG_ES256), 0);
    cr_assert_eq(scitt_key_generate(&untrusted, SCITT_ALG_ES256), 0);
    scitt_key_t *ed;
    cr_assert_eq(scitt_key_generate(&ed, SCITT_ALG_EDDSA), 0);
    scitt_buf_t pem;
    scitt_buf_init(&pem, NULL, 0);
    char path[512];
    cr_assert_eq(scitt_key_public_pem(trusted, &pem), 0);
    snprintf(path, sizeof(path), "%s/ci.pem", keys_dir);
    write_file(path, scitt_buf_span(&pem));
    scitt_buf_reset(&pem);
    cr_assert_eq(scitt_key_public_pem(ed, &pem), 0);
    snprintf(path, sizeof(path), "%s/release.pem", keys_dir);
    write_file(path, scitt_buf_span(&pem));
    snprintf(path, sizeof(path), "%s/README.txt", keys_dir); /* not a .pem: ignored */
    write_file(path, scitt_span_str("not a key"));
    scitt_buf_cleanup(&pem);
    scitt_key_free(ed);
}

static void teardown(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", keys_dir);
    cr_assert_eq(system(cmd), 0);
    scitt_key_free(trusted);
    scitt_key_free(untrusted);
}

TestSuite(verify_policy, .init = setup, .fini = teardown);

static scitt_policy_t *policy(const scitt_policy_config_t *cfg)
{
    scitt_policy_t *p;
    const char *why = NULL;
    int rc = scitt_policy_new(&p, cfg, &why);
    cr_assert_eq(rc, 0, "%s: %s", scitt_err_name(rc), why ? why : "");
    return p;
}

/* check signs a statement as described and runs the policy on it. */
static int check(const scitt_policy_t *p, const scitt_key_t *signer, tu_statement_t st, const char **why)
{
    scitt_buf_t body, scratch;
    scitt_buf_init(&body, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    tu_sign_statement(&body, signer, &st);
    scitt_verified_t v;
    int rc = scitt_policy_check(p, body.base, body.len, NOW, &v, &scratch, why);
    if (rc == 0) {
        scitt_buf_t norm;
        scitt_buf_init(&norm, NULL, 0);
        cr_assert_eq(scitt_cose_normalise(&v.stmt, &norm), 0);
        uint8_t want[32];
        scitt_sha256(want, norm.base, norm.len);
        cr_assert_arr_eq(v.entry, want, 32, "entry = SHA-256(normalised statement)");
        scitt_buf_cleanup(&norm);
    }
    scitt_buf_cleanup(&body);
    scitt_buf_cleanup(&scratch);
    return rc;
}

static tu_statement_t by_kid(const uint8_t kid[32])
{
    tu_statement_t st = {.alg = SCITT_ALG_ES256,
                         .kid = scitt_span(kid, 32),
                         .iss = "https://ci.example",
                         .sub = "pkg:deb/scittd",
                         .payload = scitt_span_str("{\"build\":1}")};
    return st;
}

Test(verify_policy, issuer_keys_by_kid)
{
    scitt_policy_config_t cfg = {.issuer_keys_dir = keys_dir};
    scitt_policy_t *p = policy(&cfg);
    cr_assert_eq(scitt_policy_num_issuer_keys(p), 2);
    uint8_t kid[32], other_kid[32];
    tu_kid(kid, trusted);
    tu_kid(other_kid, untrusted);
    const char *why;
    cr_assert_eq(check(p, trusted, by_kid(kid), &why), 0, "%s", why);
    cr_assert_eq(check(p, untrusted, by_kid(other_kid), &why), SCITT_ENOKEY);
    /* The right kid with someone else's signature. */
    cr_assert_eq(check(p, untrusted, by_kid(kid), &why), SCITT_EBADSIG);
    /* A statement whose unprotected header carries data still verifies; the
     * entry is of the normalised form (checked inside check()). */
    tu_statement_t st = by_kid(kid);
    st.unprotected = scitt_span("\xa1\x18\x63\x01", 4); /* {99: 1} */
    cr_assert_eq(check(p, trusted, st, &why), 0, "%s", why);
    scitt_policy_free(p);
}

/* A NAME.iss file binds the iss values NAME.pem may claim. */
Test(verify_policy, issuer_key_bound_to_iss)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/ci.iss", keys_dir);
    write_file(path, scitt_span_str("https://other.example\nhttps://ci.example\n"));
    scitt_policy_config_t cfg = {.issuer_keys_dir = keys_dir};
    scitt_policy_t *p = policy(&cfg);
    uint8_t kid[32];
    tu_kid(kid, trusted);
    const char *why;
    cr_assert_eq(check(p, trusted, by_kid(kid), &why), 0, "%s", why);
    tu_statement_t st = by_kid(kid);
    st.iss = "https://vendor-b.example";
    cr_assert_eq(check(p, trusted, st, &why), SCITT_EPOLICY);
    scitt_policy_free(p);
}

Test(verify_policy, algorithms_limits_and_allow_lists)
{
    static const int eddsa_only[] = {SCITT_ALG_EDDSA};
    static const char *const iss_ok[] = {"https://ci.example"};
    static const char *const sub_ok[] = {"pkg:deb/other"};
    uint8_t kid[32];
    tu_kid(kid, trusted);
    const char *why;

    scitt_policy_config_t cfg = {.issuer_keys_dir = keys_dir, .algs = eddsa_only, .num_algs = 1};
    scitt_policy_t *p = policy(&cfg);
    cr_assert_eq(check(p, trusted, by_kid(kid), &why), SCITT_EBADALG);
    scitt_policy_free(p);

    cfg = (scitt_policy_config_t){.issuer_keys_dir = keys_dir, .max_statement_len = 100};
    p = policy(&cfg);
    cr_assert_eq(check(p, trusted, by_kid(kid), &why), SCITT_ETOOBIG);
    scitt_policy_free(p);

    cfg = (scitt_policy_config_t){.issuer_keys_dir = keys_dir, .iss_allow = iss_ok, .num_iss_allow = 1};
    p = policy(&cfg);
    cr_assert_eq(check(p, trusted, by_kid(kid), &why), 0);
    scitt_policy_free(p);

    cfg = (scitt_policy_config_t){.issuer_keys_dir = keys_dir, .sub_allow = sub_ok, .num_sub_allow = 1};
    p = policy(&cfg);
    cr_assert_eq(check(p, trusted, by_kid(kid), &why), SCITT_EPOLICY);
    int status;
    const char *title;
    scitt_cose_problem_for(SCITT_EPOLICY, &status, &title);
    cr_assert_eq(status, 400);
    cr_assert_str_eq(title, "Rejected");
    scitt_policy_free(p);
}

Test(verify_policy, statement_rules_come_first)
{
    scitt_policy_config_t cfg = {.issuer_keys_dir = keys_dir};
    scitt_policy_t *p = policy(&cfg);
    uint8_t kid[32];
    tu_kid(kid, trusted);
    const char *why;
    tu_statement_t st = by_kid(kid);
    st.kid = scitt_span(NULL, 0);
    cr_assert_eq(check(p, trusted, st, &why), SCITT_ECONFIRM);
    st = by_kid(kid);
    st.sub = NULL;
    cr_assert_eq(check(p, trusted, st, &why), SCITT_EHEADER);
    scitt_verified_t v;
    scitt_buf_t scratch;
    scitt_buf_init(&scratch, NULL, 0);
    cr_assert_eq(scitt_policy_check(p, (const uint8_t *)"\xd2\x84", 2, NOW, &v, &scratch, &why), SCITT_ETRUNCATED);
    scitt_buf_cleanup(&scratch);
    scitt_policy_free(p);
}

static uint8_t *fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/x509/%s", getenv("SCITT_LOCAL_TESTDATA"), name);
    uint8_t *b = tu_read_file(path, len);
    cr_assert_not_null(b, "%s", path);
    return b;
}

/* x5chain issuers: the chain in the protected header must lead to a trust
 * root, unless the service runs with --allow-unknown-issuers. */
static int check_chain(const char *roots, bool allow_unknown, const char *leaf_name)
{
    char roots_path[1024];
    snprintf(roots_path, sizeof(roots_path), "%s/x509/%s", getenv("SCITT_LOCAL_TESTDATA"), roots);
    scitt_policy_config_t cfg = {.trust_roots_file = roots != NULL ? roots_path : NULL,
                                 .allow_unknown_issuers = allow_unknown};
    scitt_policy_t *p = policy(&cfg);
    size_t leaf_len, int_len, key_len;
    uint8_t *leaf = fixture(leaf_name, &leaf_len), *inter = fixture("intermediate.der", &int_len);
    uint8_t *key_pem = fixture("leaf-key.pem", &key_len);
    scitt_key_t *key;
    cr_assert_eq(scitt_key_from_pem(&key, key_pem, key_len), 0);
    scitt_span_t chain[2] = {scitt_span(leaf, leaf_len), scitt_span(inter, int_len)};
    tu_statement_t st = {.alg = SCITT_ALG_ES256,
                         .x5chain = chain,
                         .num_x5chain = 2,
                         .iss = "did:x509:0:sha256:test::subject:CN:test%20leaf",
                         .sub = "firmware",
                         .payload = scitt_span_str("image")};
    const char *why;
    int rc = check(p, key, st, &why);
    scitt_key_free(key);
    free(leaf);
    free(inter);
    free(key_pem);
    scitt_policy_free(p);
    return rc;
}

Test(verify_policy, x5chain_issuers)
{
    cr_assert_eq(check_chain("root.pem", false, "leaf.der"), 0);
    cr_assert_eq(check_chain("other-root.pem", false, "leaf.der"), SCITT_ECERT);
    cr_assert_eq(check_chain("root.pem", false, "leaf-expired.der"), SCITT_ECERT);
    cr_assert_eq(check_chain(NULL, false, "leaf.der"), SCITT_ECERT);
    cr_assert_eq(check_chain(NULL, true, "leaf.der"), 0, "allow-unknown-issuers trusts the leaf");
    cr_assert_eq(check_chain("other-root.pem", true, "leaf.der"), 0);
}

Test(verify_policy, bad_configuration_is_reported)
{
    scitt_policy_t *p;
    const char *why;
    scitt_policy_config_t cfg = {.issuer_keys_dir = "/nonexistent/keys"};
    cr_assert_lt(scitt_policy_new(&p, &cfg, &why), 0);
    cr_assert_not_null(strstr(why, "/nonexistent/keys"));
    char path[600];
    snprintf(path, sizeof(path), "%s/broken.pem", keys_dir);
    write_file(path, scitt_span_str("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
    cfg.issuer_keys_dir = keys_dir;
    cr_assert_eq(scitt_policy_new(&p, &cfg, &why), SCITT_EBADKEY);
    cr_assert_not_null(strstr(why, "broken.pem"));
}
