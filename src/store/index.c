/*
 * index.c: the secondary indexes (issue 10).
 */
#include "scitt/crypto.h"
#include "scitt/store.h"

uint64_t scitt_store_index_key(unsigned field, const uint8_t *value, size_t len)
{
    uint8_t tag = (uint8_t)field, h[SCITT_SHA256_LEN];
    scitt_span_t parts[2] = {scitt_span(&tag, 1), scitt_span(value, len)};
    scitt_sha256_parts(h, parts, 2);
    return scitt_load_be64(h);
}
