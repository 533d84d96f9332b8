/*
 * fuzz_cose_keyset.c: arbitrary bytes -> scitt_cose_keyset_parse. Invariants:
 * spans lie inside the input, and every key the crypto library accepts
 * re-encodes to a COSE_Key that parses and loads to the same thumbprint.
 */
#include <stdlib.h>

#include "scitt/cose.h"

#define MAX_KEYS 8

static void check_key(const scitt_cose_key_t *k)
{
    scitt_key_t *key, *again;
    scitt_cose_key_t parsed;
    uint8_t t1[SCITT_SHA256_LEN], t2[SCITT_SHA256_LEN];
    scitt_buf_t buf;
    if (scitt_cose_key_load(&key, k) != 0) {
        return;
    }
    scitt_buf_init(&buf, NULL, 0);
    scitt_cose_keyinfo_t info = {key, k->kid, k->alg};
    if (scitt_cose_key_encode(&buf, &info) != 0 || scitt_cose_key_parse(&parsed, buf.base, buf.len, NULL) != 0 ||
        scitt_cose_key_load(&again, &parsed) != 0) {
        abort();
    }
    if (scitt_cose_key_thumbprint(NULL, t1, key) != 0 || scitt_cose_key_thumbprint(NULL, t2, again) != 0 ||
        memcmp(t1, t2, sizeof(t1)) != 0 || parsed.alg != k->alg || !scitt_span_eq(parsed.kid, k->kid)) {
        abort();
    }
    scitt_key_free(again);
    scitt_key_free(key);
    scitt_buf_cleanup(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scitt_cose_key_t keys[MAX_KEYS];
    size_t num;
    scitt_span_t in = scitt_span(data, size);
    if (scitt_cose_keyset_parse(keys, MAX_KEYS, &num, data, size, NULL) != 0) {
        return 0;
    }
    for (size_t i = 0; i < num; i++) {
        if (!scitt_span_within(keys[i].kid, in) || !scitt_span_within(keys[i].x_or_n, in) ||
            !scitt_span_within(keys[i].y_or_e, in)) {
            abort();
        }
        check_key(&keys[i]);
    }
    return 0;
}
