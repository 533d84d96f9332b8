/*
 * fuzz_receipt.c: arbitrary bytes -> scitt_receipt_decode, then
 * scitt_receipt_verify with a fixed key. Invariants: every span lies inside
 * the input, the proof fields are within their bounds, and a decoded receipt
 * re-encodes (same protected header, proof and signature) to bytes that
 * decode to the same fields.
 */
#include <stdlib.h>

#include "scitt/receipt.h"

static scitt_key_t *key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static scitt_receipt_t r, again;
    if (key == NULL && scitt_key_generate(&key, SCITT_ALG_ES256) != 0) {
        abort();
    }
    scitt_span_t in = scitt_span(data, size);
    if (scitt_receipt_decode(&r, data, size, NULL) != 0) {
        return 0;
    }
    if (r.path_len > 64 || r.num_proofs == 0 || r.num_proofs > 8 || !scitt_span_within(r.sign1.signature, in) ||
        !scitt_span_within(r.sign1.protected_bstr, in)) {
        abort();
    }
    for (size_t i = 0; i < r.num_proofs; i++) {
        if (!scitt_span_within(r.proofs[i], in)) {
            abort();
        }
    }
    scitt_buf_t buf, scratch;
    scitt_buf_init(&buf, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    if (scitt_receipt_encode(&buf, r.sign1.protected_bstr, r.tree_size, r.leaf_index, (const uint8_t(*)[32])r.path,
                             r.path_len, r.sign1.signature) != 0 ||
        scitt_receipt_decode(&again, buf.base, buf.len, NULL) != 0 || again.tree_size != r.tree_size ||
        again.leaf_index != r.leaf_index || again.path_len != r.path_len ||
        memcmp(again.path, r.path, r.path_len * 32) != 0 || !scitt_span_eq(again.sign1.signature, r.sign1.signature)) {
        abort();
    }
    uint8_t entry[32];
    scitt_sha256(entry, data, size);
    (void)scitt_receipt_verify(&r, entry, key, NULL, &scratch, NULL);
    scitt_buf_cleanup(&buf);
    scitt_buf_cleanup(&scratch);
    return 0;
}
