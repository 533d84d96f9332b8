/*
 * resources.c: the log's public resources built from several stored
 * values, shared by the front end (GET) and the publisher (files):
 * entry bundles and transparent statements.
 */
#include "internal.h"
#include "scitt/cose.h"
#include "scitt/receipt.h"

int scitt_log_entry_bundle(scitt_store_read_t *rd, uint64_t first, size_t count, scitt_buf_t *out)
{
    scitt_span_t stmts[256], entries[256];
    uint8_t hashes[256][32];
    if (count == 0 || count > 256 || first % 256 != 0) {
        return SCITT_EINVAL;
    }
    /* entry = the store's hash of the stored statement (SHA-256 of the
     * normalised statement), checked against the tile committed with it */
    int rc = scitt_store_get_entries_checked(rd, first, count, stmts, hashes);
    if (rc == SCITT_ENOTFOUND) {
        rc = SCITT_ECORRUPT; /* the head said these entries exist */
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        entries[i] = scitt_span(hashes[i], 32);
    }
    return rc != 0 ? rc : scitt_merkle_bundle_encode(out, entries, count);
}

int scitt_log_transparent(scitt_log_reader_t *r, scitt_store_read_t *rd, uint64_t index, scitt_span_t stmt,
                          scitt_buf_t *out)
{
    scitt_buf_t receipt;
    scitt_buf_init(&receipt, NULL, 0);
    scitt_cose_sign1_t sign1;
    int rc = scitt_log_receipt(r, rd, index, &receipt);
    if (rc == 0) {
        rc = scitt_cose_sign1_decode_stored(&sign1, stmt.base, stmt.len);
    }
    if (rc == 0) {
        rc = scitt_receipt_transparent(out, &sign1, scitt_buf_span(&receipt));
    }
    scitt_buf_cleanup(&receipt);
    return rc;
}
