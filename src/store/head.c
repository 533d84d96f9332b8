/*
 * head.c: the engine-neutral head codec (engine.h). A head is stored as one
 * value: root (32) || time (i64 BE) || sig length (u16 BE) || sig ||
 * checkpoint; its tree size is the key.
 */
#include <string.h>

#include "engine.h"

#define HEAD_FIXED_LEN (32 + 8 + 2)

int scitt_store__head_check(const scitt_store_head_t *h)
{
    if (h->receipt_sig.len > UINT16_MAX) {
        return SCITT_ETOOBIG;
    }
    return h->checkpoint.len == 0 ? SCITT_EINVAL : 0;
}

size_t scitt_store__head_len(const scitt_store_head_t *h)
{
    return HEAD_FIXED_LEN + h->receipt_sig.len + h->checkpoint.len;
}

void scitt_store__head_put(uint8_t *out, const scitt_store_head_t *h)
{
    memcpy(out, h->root, 32);
    scitt_store_be64(out + 32, (uint64_t)h->time);
    scitt_store_be16(out + 40, (uint16_t)h->receipt_sig.len);
    /* memcpy from a NULL base is undefined even for 0 bytes. */
    if (h->receipt_sig.len > 0) {
        memcpy(out + HEAD_FIXED_LEN, h->receipt_sig.base, h->receipt_sig.len);
    }
    if (h->checkpoint.len > 0) {
        memcpy(out + HEAD_FIXED_LEN + h->receipt_sig.len, h->checkpoint.base, h->checkpoint.len);
    }
}

int scitt_store__head_decode(uint64_t size, const uint8_t *v, size_t len, scitt_store_head_t *out)
{
    if (len < HEAD_FIXED_LEN || len - HEAD_FIXED_LEN < scitt_load_be16(v + 40)) {
        return SCITT_ECORRUPT;
    }
    size_t sig_len = scitt_load_be16(v + 40);
    out->size = size;
    memcpy(out->root, v, 32);
    out->time = (int64_t)scitt_load_be64(v + 32);
    out->receipt_sig = scitt_span(v + HEAD_FIXED_LEN, sig_len);
    out->checkpoint = scitt_span(v + HEAD_FIXED_LEN + sig_len, len - HEAD_FIXED_LEN - sig_len);
    return 0;
}
