/*
 * receipt.h: COSE Receipts for the RFC 9162 SHA-256 tree (RFC 9942, vds 1)
 * and transparent statements (RFC 9943 section 7). Implemented in src/cose.
 *
 * Our receipts (DESIGN.md section 2) are tagged COSE_Sign1 with
 *   protected   {1: alg, 4: kid, 15: {1: origin, 2: "scitt-receipt", 6: iat}, 395: 1}
 *   unprotected {396: {-1: [bstr .cbor [tree_size, leaf_index, [path...]]]}}
 *   payload     nil (the Merkle root at tree_size, detached)
 * All receipts of one batch share the protected header and the root, hence
 * one signature: scitt_receipt_sign_root signs once per batch and
 * scitt_receipt_encode then only writes bytes.
 *
 * The verifier is lenient where the specifications are ambiguous
 * (SPEC-NOTES section 2): it accepts receipts without kid or CWT claims (the
 * IETF vectors have neither), an empty path for tree size 1, an attached
 * payload equal to the root, and several inclusion proofs when they agree.
 */
#ifndef SCITT_RECEIPT_H
#define SCITT_RECEIPT_H

#include "scitt/cose.h"

#define SCITT_RECEIPT_SUB         "scitt-receipt"
#define SCITT_RECEIPT_VDS_RFC9162 1

/* scitt_receipt_protected appends the serialised protected header map. */
int scitt_receipt_protected(scitt_buf_t *out, int alg, scitt_span_t kid, scitt_span_t origin, int64_t iat);

/* scitt_receipt_sign_root signs the detached root under `protected_map`:
 * the signature every receipt of that tree size carries. */
int scitt_receipt_sign_root(const scitt_key_t *key, int alg, scitt_span_t protected_map, const uint8_t root[32],
                            uint8_t *sig, size_t sig_cap, size_t *sig_len, scitt_buf_t *scratch);

/* scitt_receipt_encode appends one entry's receipt. */
int scitt_receipt_encode(scitt_buf_t *out, scitt_span_t protected_map, uint64_t tree_size, uint64_t leaf_index,
                         const uint8_t (*path)[32], size_t path_len, scitt_span_t sig);

/* A decoded receipt. Spans point into the receipt bytes. */
typedef struct scitt_receipt {
    scitt_cose_sign1_t sign1;
    int64_t vds;
    int64_t iat; /* 0 when the receipt carries no CWT iat */
    uint64_t tree_size;
    uint64_t leaf_index;
    size_t num_proofs;      /* inclusion proofs in 396/-1 (1..8) */
    scitt_span_t proofs[8]; /* each proof's bstr content */
    size_t path_len;
    uint8_t path[64][32]; /* last: decode clears everything before it */
} scitt_receipt_t;

/* scitt_receipt_decode decodes and checks the shape of a receipt: tagged
 * COSE_Sign1, protected alg, vds = 1 (SCITT_EVDS otherwise, read from the
 * protected header only), at least one well-formed inclusion proof, no
 * critical header we do not understand (SCITT_ECRIT).
 * `out` is large (about 2 KiB): keep it off small stacks. */
int scitt_receipt_decode(scitt_receipt_t *out, const uint8_t *data, size_t len, const char **out_err_desc);

/* scitt_receipt_verify checks that `r` proves `entry` (the log entry: SHA-256
 * of the normalised statement) with `key`: every proof reconstructs one root
 * (leaf hash SHA-256(0x00 || entry)) and the signature verifies over it.
 * `out_root` (may be NULL) receives the root. SCITT_EPROOF, SCITT_ERANGE,
 * SCITT_EBADSIG, SCITT_EBADALG. */
int scitt_receipt_verify(const scitt_receipt_t *r, const uint8_t entry[32], const scitt_key_t *key,
                         uint8_t out_root[32], scitt_buf_t *scratch, const char **out_err_desc);

/* scitt_receipt_transparent appends the transparent statement: the
 * normalised `stmt` with unprotected {394: [bstr receipt]}. */
int scitt_receipt_transparent(scitt_buf_t *out, const scitt_cose_sign1_t *stmt, scitt_span_t receipt);

/* scitt_receipt_split takes a transparent (or plain) statement and returns
 * its entry (SHA-256 of the normalised statement) and its receipts, which
 * point into `stmt`'s input (394 may hold bstr-wrapped or bare receipts). */
int scitt_receipt_split(const scitt_cose_sign1_t *stmt, uint8_t entry[32], const scitt_span_t **out_receipts,
                        size_t *out_num);

/* scitt_receipt_max_len bounds the length of a receipt of ours for a log
 * named `origin_len` bytes (any tree size, a full path, any kid up to 64
 * bytes and ECDSA signature); scitt_receipt_transparent_max_len bounds the
 * transparent statement made of a statement of `statement_len` bytes and
 * such a receipt: what GET /entries/{id}/statement can serve when
 * registration takes `statement_len` bytes at most. Implemented in
 * src/cose/config.c. */
size_t scitt_receipt_max_len(size_t origin_len);
size_t scitt_receipt_transparent_max_len(size_t statement_len, size_t origin_len);

#endif /* SCITT_RECEIPT_H */
