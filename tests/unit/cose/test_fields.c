/* test_fields.c: scitt_cose_fields, the audit fields the indexes key on. */
#include <criterion/criterion.h>

#include "scitt/cose.h"
#include "statement.h"

static scitt_key_t *key;
static scitt_buf_t stmt;
static scitt_cose_sign1_t s;

static void setup(void)
{
    cr_assert_eq(scitt_key_generate(&key, SCITT_ALG_EDDSA), 0);
    scitt_buf_init(&stmt, NULL, 0);
}

static void teardown(void)
{
    scitt_buf_cleanup(&stmt);
    scitt_key_free(key);
}

TestSuite(cose_fields, .init = setup, .fini = teardown);

/* fields_of signs a statement with `p` and returns its decoded fields. */
static void fields_of(const scitt_cose_statement_params_t *p, scitt_span_t payload, bool detached,
                      scitt_cose_fields_t *out)
{
    scitt_buf_reset(&stmt);
    tu_sign_params(&stmt, key, p, payload, detached);
    cr_assert_eq(scitt_cose_sign1_decode(&s, stmt.base, stmt.len, 0, NULL), 0);
    scitt_cose_fields(&s, out);
}

Test(cose_fields, kid_claims_and_plain_payload)
{
    scitt_cose_statement_params_t p = {.alg = SCITT_ALG_EDDSA,
                                       .kid = scitt_span("kid-1", 5),
                                       .iss = "https://issuer.example",
                                       .sub = "pkg/1",
                                       .content_type = "text/plain"};
    scitt_cose_fields_t f;
    fields_of(&p, scitt_span("hello", 5), false, &f);
    cr_assert(scitt_span_eq(f.iss, scitt_span_str("https://issuer.example")));
    cr_assert(scitt_span_eq(f.sub, scitt_span_str("pkg/1")));
    cr_assert(scitt_span_eq(f.key_id, scitt_span("kid-1", 5)));
    uint8_t h[32];
    scitt_sha256(h, (const uint8_t *)"hello", 5);
    cr_assert(scitt_span_eq(f.artifact, scitt_span(h, 32)), "a plain payload's artifact is its SHA-256");
    cr_assert(f.has_content_type);
    cr_assert(scitt_span_eq(f.content_type.text, scitt_span_str("text/plain")));
}

Test(cose_fields, x5chain_leaf_thumbprint)
{
    scitt_span_t chain[2] = {scitt_span("leaf-der", 8), scitt_span("root-der", 8)};
    scitt_cose_statement_params_t p = {
        .alg = SCITT_ALG_EDDSA, .iss = "https://issuer.example", .x5chain = chain, .num_x5chain = 2};
    scitt_cose_fields_t f;
    fields_of(&p, scitt_span("x", 1), false, &f);
    uint8_t h[32];
    scitt_sha256(h, (const uint8_t *)"leaf-der", 8);
    cr_assert(scitt_span_eq(f.key_id, scitt_span(h, 32)), "no kid: the leaf certificate's SHA-256");
    cr_assert_eq(f.sub.len, 0);
    cr_assert(!f.has_content_type);
}

Test(cose_fields, hash_envelope_payload_is_the_digest)
{
    uint8_t digest[32];
    memset(digest, 0x5a, sizeof(digest));
    scitt_cose_statement_params_t p = {.alg = SCITT_ALG_EDDSA,
                                       .kid = scitt_span("k", 1),
                                       .content_type = "application/spdx+json",
                                       .payload_hash_alg = -16};
    scitt_cose_fields_t f;
    fields_of(&p, scitt_span(digest, 32), false, &f);
    cr_assert(scitt_span_eq(f.artifact, scitt_span(digest, 32)));
    cr_assert(f.has_content_type, "the content type comes from 259");
    cr_assert(scitt_span_eq(f.content_type.text, scitt_span_str("application/spdx+json")));
    cr_assert_eq(f.iss.len, 0);
}

Test(cose_fields, detached_has_no_artifact)
{
    scitt_cose_statement_params_t p = {.alg = SCITT_ALG_EDDSA};
    scitt_cose_fields_t f;
    fields_of(&p, scitt_span("gone", 4), true, &f);
    cr_assert_eq(f.artifact.len, 0);
    cr_assert_eq(f.key_id.len, 0);
    cr_assert_eq(f.iss.len, 0);
    cr_assert_eq(f.sub.len, 0);
}
