/*
 * keys.c: the audit indexes' 64-bit keys (store.h), the same for every
 * engine: the keys a registration indexes and the keys a query looks up are
 * derived here alone.
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

size_t scitt_store_index_keys(const scitt_store_index_values_t *v, uint64_t keys[SCITT_STORE_INDEX_FIELDS])
{
    const struct {
        unsigned field;
        scitt_span_t value;
    } vals[SCITT_STORE_INDEX_FIELDS] = {
        {SCITT_INDEX_ISS, v->iss},
        {SCITT_INDEX_KEY, v->kid},
        {SCITT_INDEX_SUB, v->sub},
        {SCITT_INDEX_ARTIFACT, v->artifact},
    };
    size_t n = 0;
    for (size_t i = 0; i < SCITT_STORE_INDEX_FIELDS; i++) {
        if (vals[i].value.len > 0) {
            keys[n++] = scitt_store_index_key(vals[i].field, vals[i].value.base, vals[i].value.len);
        }
    }
    return n;
}
