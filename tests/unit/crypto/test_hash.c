#include <criterion/criterion.h>
#include <stdlib.h>

#include "scitt/crypto.h"
#include "testutil.h"

static void check_hex(const uint8_t *got, size_t len, const char *want_hex)
{
    char hex[129];
    scitt_hex_encode(hex, got, len);
    cr_assert_str_eq(hex, want_hex);
}

/* FIPS 180-4 example vectors (NIST CSRC "Examples with Intermediate Values"). */
Test(crypto_hash, sha256_fips_vectors)
{
    uint8_t d[32];
    scitt_sha256(d, "", 0);
    check_hex(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    scitt_sha256(d, "abc", 3);
    check_hex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    scitt_sha256(d, m, strlen(m));
    check_hex(d, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(crypto_hash, sha256_parts_equals_whole)
{
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    scitt_span_t parts[] = {scitt_span(m, 10), scitt_span(m + 10, 0), scitt_span(m + 10, strlen(m) - 10)};
    uint8_t d[32];
    scitt_sha256_parts(d, parts, 3);
    check_hex(d, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(crypto_hash, sha384_sha512_and_unknown)
{
    uint8_t d[64];
    size_t n;
    cr_assert_eq(scitt_hash(SCITT_HASH_SHA384, d, &n, "abc", 3), 0);
    cr_assert_eq(n, 48);
    check_hex(d, 48,
              "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
    cr_assert_eq(scitt_hash(SCITT_HASH_SHA512, d, &n, "abc", 3), 0);
    check_hex(d, 64,
              "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
              "454d4423643ce80e2a9ac94fa54ca49f");
    cr_assert_eq(scitt_hash(-999, d, &n, "abc", 3), SCITT_EBADALG);
}

Test(crypto_hash, random_and_ct_eq)
{
    uint8_t a[32] = {0}, b[32] = {0};
    cr_assert_eq(scitt_random(a, sizeof(a)), 0);
    cr_assert_eq(scitt_random(b, sizeof(b)), 0);
    cr_assert_not(scitt_ct_eq(a, b, 32));
    cr_assert(scitt_ct_eq(a, a, 32));
    scitt_cleanse(a, sizeof(a));
    cr_assert(scitt_ct_eq(a, (uint8_t[32]){0}, 32));
}

/* The library loaded at run time is the backend chosen at build time (the
 * test binaries also pull in OpenSSL 3 through Criterion's dependencies). */
Test(crypto_hash, runtime_library_matches_backend)
{
    const char *v = scitt_crypto_version();
    if (strcmp(scitt_crypto_backend(), "boringssl") == 0) {
        cr_assert(strstr(v, "BoringSSL") != NULL, "loaded %s", v);
    } else {
        cr_assert(strncmp(v, "OpenSSL 3", 9) == 0, "loaded %s", v);
    }
}
