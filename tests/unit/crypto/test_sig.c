#include <criterion/criterion.h>
#include <stdlib.h>

#include "scitt/crypto.h"
#include "testutil.h"

static const int all_algs[] = {SCITT_ALG_ES256, SCITT_ALG_ES384, SCITT_ALG_ES512, SCITT_ALG_EDDSA,
                               SCITT_ALG_PS256, SCITT_ALG_PS384, SCITT_ALG_PS512};

/* hex_span decodes into a static arena, so vectors need no freeing. */
static scitt_span_t hex_span(const char *hex)
{
    static uint8_t arena[4096];
    static size_t used;
    size_t len;
    size_t n = strlen(hex);
    cr_assert(n / 2 <= sizeof(arena) - used);
    cr_assert_eq(scitt_hex_decode(arena + used, sizeof(arena) - used, &len, hex, n), 0);
    used += len;
    return scitt_span(arena + used - len, len);
}

/* RFC 6979 appendix A.2.5: P-256, SHA-256, message "sample". */
Test(crypto_sig, es256_rfc6979_vector)
{
    scitt_key_t *key;
    cr_assert_eq(scitt_key_from_cose(&key, SCITT_KTY_EC2, SCITT_CRV_P256,
                                     hex_span("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"),
                                     hex_span("7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299")),
                 0);
    scitt_span_t sig = hex_span("efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
                                "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8");
    cr_assert_eq(scitt_sig_verify(key, SCITT_ALG_ES256, (const uint8_t *)"sample", 6, sig.base, sig.len), 0);
    cr_assert_eq(scitt_sig_verify(key, SCITT_ALG_ES256, (const uint8_t *)"samplf", 6, sig.base, sig.len),
                 SCITT_EBADSIG);
    cr_assert_eq(scitt_sig_verify(key, SCITT_ALG_ES256, (const uint8_t *)"sample", 6, sig.base, sig.len - 1),
                 SCITT_EBADSIG);
    cr_assert_eq(scitt_sig_verify(key, SCITT_ALG_ES384, (const uint8_t *)"sample", 6, sig.base, sig.len),
                 SCITT_EBADALG);
    scitt_key_free(key);
}

/* RFC 8032 section 7.1, TEST 1 and TEST 2. */
Test(crypto_sig, ed25519_rfc8032_vectors)
{
    scitt_key_t *key;
    cr_assert_eq(scitt_key_from_cose(&key, SCITT_KTY_OKP, SCITT_CRV_ED25519,
                                     hex_span("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
                                     scitt_span(NULL, 0)),
                 0);
    scitt_span_t sig = hex_span("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3"
                                "9701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    cr_assert_eq(scitt_sig_verify(key, SCITT_ALG_EDDSA, (const uint8_t *)"", 0, sig.base, sig.len), 0);
    cr_assert_eq(scitt_sig_verify(key, SCITT_ALG_EDDSA, (const uint8_t *)"x", 1, sig.base, sig.len), SCITT_EBADSIG);
    scitt_key_free(key);

    cr_assert_eq(scitt_key_from_cose(&key, SCITT_KTY_OKP, SCITT_CRV_ED25519,
                                     hex_span("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
                                     scitt_span(NULL, 0)),
                 0);
    sig = hex_span("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c3"
                   "87b2eaeb4302aeeb00d291612bb0c00");
    cr_assert_eq(scitt_sig_verify(key, SCITT_ALG_EDDSA, (const uint8_t *)"\x72", 1, sig.base, sig.len), 0);
    scitt_key_free(key);
}

Test(crypto_sig, sign_verify_round_trip_every_alg, .timeout = 60)
{
    const uint8_t msg[] = "scittd signs this";
    for (size_t i = 0; i < scitt_countof(all_algs); i++) {
        int alg = all_algs[i];
        scitt_key_t *key;
        cr_assert_eq(scitt_key_generate(&key, alg), 0, "%s", scitt_alg_name(alg));
        cr_assert(scitt_key_has_private(key));
        cr_assert(scitt_key_supports(key, alg));
        uint8_t sig[512];
        size_t sig_len;
        cr_assert_eq(scitt_sig_sign(key, alg, msg, sizeof(msg), sig, sizeof(sig), &sig_len), 0);
        if (alg != SCITT_ALG_PS256 && alg != SCITT_ALG_PS384 && alg != SCITT_ALG_PS512) {
            cr_assert_eq(sig_len, scitt_sig_max_len(alg), "%s fixed width", scitt_alg_name(alg));
        }
        cr_assert_eq(scitt_sig_verify(key, alg, msg, sizeof(msg), sig, sig_len), 0, "%s", scitt_alg_name(alg));
        sig[sig_len / 2] ^= 1;
        cr_assert_eq(scitt_sig_verify(key, alg, msg, sizeof(msg), sig, sig_len), SCITT_EBADSIG);

        /* The public half, through PEM, SPKI and COSE parameters, still verifies. */
        sig[sig_len / 2] ^= 1;
        scitt_buf_t pem, spki;
        scitt_buf_init(&pem, NULL, 0);
        scitt_buf_init(&spki, NULL, 0);
        cr_assert_eq(scitt_key_public_pem(key, &pem), 0);
        cr_assert_eq(scitt_key_spki(key, &spki), 0);
        scitt_key_t *pub1, *pub2, *pub3;
        cr_assert_eq(scitt_key_from_pem(&pub1, pem.base, pem.len), 0);
        cr_assert_not(scitt_key_has_private(pub1));
        cr_assert_eq(scitt_key_from_spki(&pub2, spki.base, spki.len), 0);
        scitt_key_params_t p;
        cr_assert_eq(scitt_key_params(key, &p), 0);
        cr_assert_eq(scitt_key_from_cose(&pub3, p.kty, p.crv, scitt_span(p.x, p.x_len), scitt_span(p.y, p.y_len)), 0);
        cr_assert_eq(scitt_sig_verify(pub1, alg, msg, sizeof(msg), sig, sig_len), 0);
        cr_assert_eq(scitt_sig_verify(pub2, alg, msg, sizeof(msg), sig, sig_len), 0);
        cr_assert_eq(scitt_sig_verify(pub3, alg, msg, sizeof(msg), sig, sig_len), 0);
        cr_assert_eq(scitt_sig_sign(pub1, alg, msg, sizeof(msg), sig, sizeof(sig), &sig_len), SCITT_EINVAL);

        /* The private half round-trips through PKCS#8 PEM. */
        scitt_buf_t priv;
        scitt_buf_init(&priv, NULL, 0);
        cr_assert_eq(scitt_key_private_pem(key, &priv), 0);
        scitt_key_t *again;
        cr_assert_eq(scitt_key_from_pem(&again, priv.base, priv.len), 0);
        cr_assert(scitt_key_has_private(again));
        cr_assert_eq(scitt_sig_sign(again, alg, msg, sizeof(msg), sig, sizeof(sig), &sig_len), 0);
        cr_assert_eq(scitt_sig_verify(pub2, alg, msg, sizeof(msg), sig, sig_len), 0);

        scitt_buf_cleanup(&pem);
        scitt_buf_cleanup(&spki);
        scitt_buf_cleanup(&priv);
        scitt_key_free(pub1);
        scitt_key_free(pub2);
        scitt_key_free(pub3);
        scitt_key_free(again);
        scitt_key_free(key);
    }
}

Test(crypto_sig, rejects_bad_keys_and_algs)
{
    scitt_key_t *key;
    cr_assert_eq(scitt_key_from_pem(&key, (const uint8_t *)"not a key", 9), SCITT_EBADKEY);
    cr_assert_eq(scitt_key_from_spki(&key, (const uint8_t *)"\x30\x00", 2), SCITT_EBADKEY);
    /* A point that is not on the curve. */
    uint8_t x[32] = {1}, y[32] = {2};
    cr_assert_eq(scitt_key_from_cose(&key, SCITT_KTY_EC2, SCITT_CRV_P256, scitt_span(x, 32), scitt_span(y, 32)),
                 SCITT_EBADKEY);
    cr_assert_eq(scitt_key_from_cose(&key, SCITT_KTY_EC2, SCITT_CRV_P384, scitt_span(x, 32), scitt_span(y, 32)),
                 SCITT_EBADKEY);
    cr_assert_eq(scitt_key_from_cose(&key, SCITT_KTY_OKP, SCITT_CRV_ED25519, scitt_span(x, 31), scitt_span(NULL, 0)),
                 SCITT_EBADKEY);
    cr_assert_eq(scitt_key_from_cose(&key, 9, 0, scitt_span(x, 32), scitt_span(y, 32)), SCITT_EBADKEY);
    cr_assert_eq(scitt_key_generate(&key, -999), SCITT_EBADALG);
    int alg;
    cr_assert_eq(scitt_alg_from_name("ES256", &alg), 0);
    cr_assert_eq(alg, SCITT_ALG_ES256);
    cr_assert_eq(scitt_alg_from_name("es256", &alg), SCITT_EBADALG);
    cr_assert_null(scitt_alg_name(0));
}

/* The issuer keys shipped with the IETF vectors load, and a trailing byte on
 * an SPKI is refused. */
Test(crypto_sig, loads_vector_keys)
{
    const char *dirs[] = {"valid-es256", "valid-eddsa"};
    for (size_t i = 0; i < 2; i++) {
        char *path = tu_testdata_path("merkle/scitt-cose-v1/v1/%s/issuer-key.pub", dirs[i]);
        size_t len;
        uint8_t *pem = tu_read_file(path, &len);
        cr_assert_not_null(pem, "%s", path);
        scitt_key_t *key;
        cr_assert_eq(scitt_key_from_pem(&key, pem, len), 0);
        cr_assert(scitt_key_supports(key, i == 0 ? SCITT_ALG_ES256 : SCITT_ALG_EDDSA));
        scitt_buf_t spki;
        scitt_buf_init(&spki, NULL, 0);
        cr_assert_eq(scitt_key_spki(key, &spki), 0);
        scitt_buf_append_byte(&spki, 0);
        scitt_key_t *k2;
        cr_assert_eq(scitt_key_from_spki(&k2, spki.base, spki.len), SCITT_EBADKEY);
        scitt_buf_cleanup(&spki);
        scitt_key_free(key);
        free(pem);
        free(path);
    }
}
