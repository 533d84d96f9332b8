/*
 * bundle.c: C2SP tlog-tiles entry bundles, the concatenation of
 * `uint16 big-endian length || entry` for the entries of one level-0 tile.
 *
 * Decoding is strict: every byte belongs to exactly one length or entry,
 * a length or entry running past the end is SCITT_ETRUNCATED, and a bundle
 * holds 1..max_entries entries (tiles are never empty). The spans point into
 * the input; nothing is copied.
 */
#include "internal.h"

int scitt_merkle_bundle_encode(scitt_buf_t *out, const scitt_span_t *entries, size_t num_entries)
{
    if (num_entries == 0 || num_entries > SCITT_MERKLE_TILE_WIDTH) {
        return SCITT_EINVAL;
    }
    size_t total = 0;
    for (size_t i = 0; i < num_entries; i++) {
        if (entries[i].len > UINT16_MAX) {
            return SCITT_ETOOBIG;
        }
        total += 2 + entries[i].len; /* at most 256 * 65537: no overflow */
    }
    /* Reserve first so a failure leaves `out` as it was. */
    int rc = scitt_buf_reserve(out, total);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < num_entries; i++) {
        uint8_t len[2];
        scitt_store_be16(len, (uint16_t)entries[i].len);
        /* Cannot fail after the reserve above. */
        (void)scitt_buf_append(out, len, 2);
        (void)scitt_buf_append(out, entries[i].base, entries[i].len);
    }
    return 0;
}

int scitt_merkle_bundle_decode(scitt_span_t *out_entries, size_t max_entries, size_t *out_num, const uint8_t *data,
                               size_t data_len)
{
    if (data_len == 0) {
        return SCITT_EMALFORMED;
    }
    size_t pos = 0, num = 0;
    while (pos < data_len) {
        if (data_len - pos < 2) {
            return SCITT_ETRUNCATED;
        }
        size_t len = scitt_load_be16(data + pos);
        pos += 2;
        if (data_len - pos < len) {
            return SCITT_ETRUNCATED;
        }
        if (num == max_entries) {
            return SCITT_ETOOBIG;
        }
        out_entries[num++] = scitt_span(data + pos, len);
        pos += len;
    }
    *out_num = num;
    return 0;
}
