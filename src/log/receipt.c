/*
 * receipt.c: receipts rebuilt from the store (moved from src/seq, where
 * the sequencer built them; the sequencer's answer thread still builds a
 * batch's new receipts with one prover and scitt_log__put_receipt).
 *
 * Every receipt is a pure function of the store: the head of the batch
 * that committed the leaf (scitt_store_get_head_from(index + 1)), the
 * protected header from the kid the head records (issue 21: keys rotate),
 * origin and the head's time, the inclusion
 * proof at that size, and the head's stored signature. So a receipt
 * rebuilt here is byte for byte the one its registration returned, and
 * the recent-receipt ring and the tile cache only save work.
 */
#include <stdlib.h>

#include "internal.h"
#include "scitt/receipt.h"

#define RECEIPT_ALG SCITT_ALG_ES256

static int read_tile(void *ud, unsigned level, uint64_t index, const uint8_t **out_hashes, size_t *out_width)
{
    return scitt_store_get_tile(ud, level, index, out_hashes, out_width);
}

scitt_tile_reader_t scitt_log__tile_reader(scitt_store_read_t *rd, scitt_merkle_tile_cache_t *cache)
{
    scitt_tile_reader_t r = {read_tile, rd, cache};
    return r;
}

scitt_tile_reader_t scitt_log_tile_reader(scitt_log_reader_t *r, scitt_store_read_t *rd)
{
    return scitt_log__tile_reader(rd, r->tile_cache);
}

scitt_span_t scitt_log__head_kid(const scitt_store_head_t *head, scitt_span_t first)
{
    return head->receipt_kid.len == SCITT_SHA256_LEN ? head->receipt_kid : first;
}

int scitt_log__put_receipt(scitt_buf_t *out, scitt_merkle_prover_t *prover, uint64_t size, scitt_span_t prot,
                           uint64_t index, scitt_span_t sig)
{
    uint8_t path[SCITT_MERKLE_MAX_PROOF][32];
    size_t path_len;
    int rc = scitt_merkle_prover_inclusion(prover, path, &path_len, index);
    if (rc != 0) {
        return rc;
    }
    return scitt_receipt_encode(out, prot, size, index, (const uint8_t(*)[32])path, path_len, sig);
}

/* The tiles an inclusion proof of leaf `index` at tree size `size` reads,
 * fetched in one scitt_store_get_tiles (one round trip on a remote store):
 * at each level, the tile on the leaf's path and the one on the right edge
 * (a superset: any other tile is read on its own). */
typedef struct path_tiles {
    scitt_store_read_t *rd;
    size_t num;
    scitt_store_tile_id_t ids[2 * SCITT_MERKLE_MAX_LEVELS];
    scitt_store_tile_hashes_t tiles[2 * SCITT_MERKLE_MAX_LEVELS];
} path_tiles_t;

static void fetch_path(path_tiles_t *p, scitt_store_read_t *rd, uint64_t index, uint64_t size)
{
    p->rd = rd;
    p->num = 0;
    for (unsigned level = 0; level < SCITT_MERKLE_MAX_LEVELS && (size >> (8 * level)) > 0; level++) {
        unsigned shift = 8 * (level + 1);
        uint64_t on_path = shift < 64 ? index >> shift : 0, edge = shift < 64 ? (size - 1) >> shift : 0;
        p->ids[p->num++] = (scitt_store_tile_id_t){level, on_path};
        if (edge != on_path) {
            p->ids[p->num++] = (scitt_store_tile_id_t){level, edge};
        }
    }
    if (scitt_store_get_tiles(rd, p->ids, p->num, p->tiles) != 0) {
        p->num = 0; /* then each tile is read on its own */
    }
}

static int read_path_tile(void *ud, unsigned level, uint64_t index, const uint8_t **out_hashes, size_t *out_width)
{
    path_tiles_t *p = ud;
    for (size_t i = 0; i < p->num; i++) {
        if (p->ids[i].level == level && p->ids[i].index == index && p->tiles[i].width > 0) {
            *out_hashes = p->tiles[i].hashes;
            *out_width = p->tiles[i].width;
            return 0;
        }
    }
    return scitt_store_get_tile(p->rd, level, index, out_hashes, out_width);
}

int scitt_log__receipt_at(scitt_store_read_t *rd, scitt_merkle_tile_cache_t *cache, bool batch, scitt_span_t kid,
                          scitt_span_t origin, uint64_t index, scitt_buf_t *prot, scitt_buf_t *out)
{
    scitt_store_head_t head;
    if (index == UINT64_MAX) {
        return SCITT_ENOTFOUND;
    }
    int rc = scitt_store_get_head_from(rd, index + 1, &head);
    if (rc != 0) {
        return rc;
    }
    scitt_buf_reset(prot);
    (void)scitt_buf_reserve(prot, 64 + origin.len); /* one allocation; a hint */
    rc = scitt_receipt_protected(prot, RECEIPT_ALG, scitt_log__head_kid(&head, kid), origin, head.time);
    if (rc != 0) {
        return rc;
    }
    scitt_tile_reader_t reader = scitt_log__tile_reader(rd, cache);
    path_tiles_t path;
    if (batch) {
        fetch_path(&path, rd, index, head.size);
        reader = (scitt_tile_reader_t){read_path_tile, &path, cache};
    }
    scitt_merkle_prover_t *prover;
    rc = scitt_merkle_prover_new(&prover, NULL, &reader, head.size, 8);
    if (rc != 0) {
        return rc;
    }
    rc = scitt_log__put_receipt(out, prover, head.size, scitt_buf_span(prot), index, head.receipt_sig);
    scitt_merkle_prover_free(prover);
    return rc;
}

/* receipt_from builds leaf `index`'s receipt in `rd`'s snapshot, or in a
 * read handle of its own when `rd` is NULL. */
static int receipt_from(scitt_store_t *st, scitt_store_read_t *rd, scitt_merkle_tile_cache_t *cache, const uint8_t *kid,
                        scitt_span_t origin, uint64_t index, scitt_buf_t *out)
{
    scitt_store_read_t *own = NULL;
    scitt_buf_t prot;
    if (rd == NULL) {
        int rc = scitt_store_read_begin(st, &own);
        if (rc != 0) {
            return rc;
        }
        rd = own;
    }
    scitt_buf_init(&prot, NULL, 0);
    int rc = scitt_log__receipt_at(rd, cache, !scitt_store_local_reads(st), scitt_span(kid, SCITT_SHA256_LEN), origin,
                                   index, &prot, out);
    scitt_buf_cleanup(&prot);
    scitt_store_read_end(own);
    return rc;
}

int scitt_log_store_receipt(scitt_store_t *st, scitt_store_read_t *rd, const uint8_t *kid, const char *origin,
                            uint64_t index, scitt_buf_t *out)
{
    return receipt_from(st, rd, NULL, kid, scitt_span_str(origin != NULL ? origin : SCITT_LOG_DEFAULT_ORIGIN), index,
                        out);
}

int scitt_log_receipt(scitt_log_reader_t *r, scitt_store_read_t *rd, uint64_t index, scitt_buf_t *out)
{
    if (!r->has_kid) {
        return SCITT_ENOTFOUND;
    }
    if (scitt_log__recent_get(&r->recent, index, out) == 0) {
        return 0;
    }
    return receipt_from(r->store, rd, r->tile_cache, r->receipt_kid, scitt_log_origin(r), index, out);
}

int scitt_log_try_receipt(scitt_log_reader_t *r, uint64_t index, scitt_buf_t *out)
{
    int rc = r->has_kid ? scitt_log__recent_get(&r->recent, index, out) : SCITT_ENOTFOUND;
    return rc == SCITT_ENOTFOUND ? SCITT_EAGAIN : rc;
}

int scitt_log_try_entry_receipt(scitt_log_reader_t *r, const uint8_t entry[32], scitt_buf_t *out)
{
    uint64_t leaf;
    int rc = r->has_kid ? scitt_log__recent_find(&r->recent, entry, &leaf, out) : SCITT_ENOTFOUND;
    return rc == SCITT_ENOTFOUND ? SCITT_EAGAIN : rc;
}

void scitt_log_keep_receipt(scitt_log_reader_t *r, uint64_t leaf, const uint8_t entry[32], scitt_span_t receipt)
{
    scitt_log__recent_put(&r->recent, leaf, entry, receipt);
}
