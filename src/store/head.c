/*
 * head.c: the engine-neutral head codec (engine.h). A head is stored as one
 * value: root (32) || time (i64 BE) || sig length (u16 BE) || sig ||
 * [kid (32)] || checkpoint; its tree size is the key. The top bit of the
 * sig length says a receipt kid follows the sig (issue 21); heads written
 * before key rotation have it clear and no kid.
 */
#include <string.h>

#include "engine.h"

#define HEAD_FIXED_LEN (32 + 8 + 2)
#define HEAD_HAS_KID   0x8000u
#define HEAD_KID_LEN   32

int scitt_store__head_check(const scitt_store_head_t *h)
{
    if (h->receipt_sig.len >= HEAD_HAS_KID) {
        return SCITT_ETOOBIG;
    }
    if (h->receipt_kid.len != 0 && h->receipt_kid.len != HEAD_KID_LEN) {
        return SCITT_EINVAL;
    }
    return h->checkpoint.len == 0 ? SCITT_EINVAL : 0;
}

size_t scitt_store__head_len(const scitt_store_head_t *h)
{
    return HEAD_FIXED_LEN + h->receipt_sig.len + h->receipt_kid.len + h->checkpoint.len;
}

void scitt_store__head_put(uint8_t *out, const scitt_store_head_t *h)
{
    memcpy(out, h->root, 32);
    scitt_store_be64(out + 32, (uint64_t)h->time);
    size_t kid_len = h->receipt_kid.len == HEAD_KID_LEN ? HEAD_KID_LEN : 0;
    scitt_store_be16(out + 40, (uint16_t)(h->receipt_sig.len | (kid_len != 0 ? HEAD_HAS_KID : 0)));
    uint8_t *p = out + HEAD_FIXED_LEN;
    /* memcpy from a NULL base is undefined even for 0 bytes. */
    if (h->receipt_sig.len > 0) {
        memcpy(p, h->receipt_sig.base, h->receipt_sig.len);
        p += h->receipt_sig.len;
    }
    if (kid_len > 0) {
        memcpy(p, h->receipt_kid.base, kid_len);
        p += kid_len;
    }
    if (h->checkpoint.len > 0) {
        memcpy(p, h->checkpoint.base, h->checkpoint.len);
    }
}

int scitt_store__head_decode(uint64_t size, const uint8_t *v, size_t len, scitt_store_head_t *out)
{
    if (len < HEAD_FIXED_LEN) {
        return SCITT_ECORRUPT;
    }
    uint16_t word = scitt_load_be16(v + 40);
    size_t sig_len = word & ~HEAD_HAS_KID, kid_len = (word & HEAD_HAS_KID) != 0 ? HEAD_KID_LEN : 0;
    if (len - HEAD_FIXED_LEN < sig_len + kid_len) {
        return SCITT_ECORRUPT;
    }
    out->size = size;
    memcpy(out->root, v, 32);
    out->time = (int64_t)scitt_load_be64(v + 32);
    out->receipt_sig = scitt_span(v + HEAD_FIXED_LEN, sig_len);
    out->receipt_kid = scitt_span(v + HEAD_FIXED_LEN + sig_len, kid_len);
    out->checkpoint = scitt_span(v + HEAD_FIXED_LEN + sig_len + kid_len, len - HEAD_FIXED_LEN - sig_len - kid_len);
    return 0;
}
