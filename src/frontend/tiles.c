/*
 * tiles.c: C2SP tlog-tiles resources.
 *
 *   tile/<L>/<N>[.p/<W>]      hashes: a prefix of the stored tile
 *   tile/entries/<N>[.p/<W>]  entry bundles: uint16 length || 32-byte entry
 *
 * A tile is served only within the latest committed tree size: the full
 * tile when the tree holds all 256 of its hashes, a partial one of width W
 * when the tree holds at least its first W (any earlier checkpoint's
 * partial tile is such a prefix, DESIGN.md section 2). Both never change
 * once served, so both get immutable cache headers; a 404 is not cached.
 *
 * Hash tiles are one LMDB lookup and a copy of at most 8 KiB, done on the
 * loop. An entry bundle hashes up to 256 stored statements (each up to
 * --max-statement-bytes), so it runs on libuv's pool (a job) and answers
 * from the after-work callback, if its stream is still there.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "scitt/merkle.h"

static const scitt_h2_hdr_t immutable = {"cache-control", "public, max-age=31536000, immutable"};

/* An entry bundle job. */
typedef struct bundle_job {
    scitt_h2_job_t super;
    uint64_t first; /* first leaf index */
    size_t count;
} bundle_job_t;

/* hashes_at returns how many hashes level `level` has in a tree of `size`. */
static uint64_t hashes_at(uint64_t size, unsigned level)
{
    return level >= SCITT_MERKLE_MAX_LEVELS ? 0 : size >> (8 * level);
}

/* tile_width: how many hashes of tile `index` at a level holding `avail`
 * hashes exist (0..256). */
static uint64_t tile_width(uint64_t avail, uint64_t index)
{
    if (index > (avail >> 8)) {
        return 0;
    }
    uint64_t left = avail - (index << 8);
    return left > 256 ? 256 : left;
}

static void answer_tile_error(scitt_h2_stream_t *s, int rc)
{
    if (rc == SCITT_ENOTFOUND) {
        scitt_h2__respond_problem(s, 404, "Not Found", "no such tile in the current tree", NULL, 0);
    } else if (rc == SCITT_ESHUTDOWN) {
        scitt_h2__respond_busy(s);
    } else {
        scitt_h2__respond_stored_error(s, rc);
    }
}

static void work_bundle(scitt_h2_job_t *job)
{
    bundle_job_t *j = scitt_container_of(job, bundle_job_t, super);
    scitt_span_t entries[256];
    uint8_t hashes[256][32];
    scitt_store_read_t *rd;
    job->rc = scitt_store_read_begin(job->fe->cfg.store, &rd);
    if (job->rc != 0) {
        return;
    }
    for (size_t i = 0; i < j->count && job->rc == 0; i++) {
        scitt_span_t stmt;
        /* entry = SHA-256(normalised statement), as the store computes it,
         * checked against the level-0 tile */
        job->rc = scitt_store_get_entry_checked(rd, j->first + i, &stmt, hashes[i]);
        entries[i] = scitt_span(hashes[i], 32);
    }
    scitt_store_read_end(rd);
    if (job->rc == SCITT_ENOTFOUND) {
        job->rc = SCITT_ECORRUPT; /* the head said these entries exist */
    }
    if (job->rc == 0) {
        job->rc = scitt_merkle_bundle_encode(&job->body, entries, j->count);
    }
}

static void answer_bundle(scitt_h2_job_t *j, scitt_h2_stream_t *s, int rc)
{
    if (rc != 0) {
        answer_tile_error(s, rc);
    } else {
        scitt_h2__respond(s, 200, "application/octet-stream", &j->body, &immutable, 1);
    }
}

/* start_bundle answers an entry bundle from libuv's pool. */
static void start_bundle(scitt_h2_stream_t *s, uint64_t first, size_t count)
{
    bundle_job_t *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        answer_tile_error(s, SCITT_ENOMEM);
        return;
    }
    j->super.run = work_bundle;
    j->super.answer = answer_bundle;
    j->first = first;
    j->count = count;
    if (scitt_h2__job_start(s, &j->super) != 0) {
        free(j);
        scitt_h2__respond_busy(s);
    }
}

void scitt_h2__get_tile(scitt_h2_stream_t *s, const char *path, size_t len)
{
    scitt_frontend_t *fe = s->conn->fe;
    scitt_tile_path_t tp;
    if (scitt_merkle_tile_path_parse(&tp, path, len) != 0) {
        scitt_h2__respond_problem(s, 404, "Not Found", "not a tlog-tiles path", NULL, 0);
        return;
    }
    scitt_store_read_t *rd;
    int rc = scitt_store_read_begin(fe->cfg.store, &rd);
    if (rc != 0) {
        answer_tile_error(s, rc);
        return;
    }
    uint64_t want = tp.width == 0 ? 256 : tp.width;
    const uint8_t *hashes = NULL;
    size_t stored = 0;
    bool have = !tp.entries && scitt_store_get_tile(rd, tp.level, tp.index, &hashes, &stored) == 0 && stored >= want;
    /* The sequencer commits tiles with the head that covers them, so a
     * stored tile holding the hashes asked for is within its latest tree.
     * Otherwise (not stored, an entry bundle, or a mirror, which stores
     * tiles ahead of its checkpoint while it syncs) the head decides. */
    if (!have || fe->cfg.seq == NULL) {
        scitt_store_head_t head;
        rc = scitt_store_get_latest_head(rd, &head);
        uint64_t size = rc == 0 ? head.size : 0;
        if (rc == SCITT_ENOTFOUND) {
            rc = 0;
        }
        if (rc == 0 && tile_width(hashes_at(size, tp.level), tp.index) < want) {
            rc = SCITT_ENOTFOUND;
        }
        if (rc == 0 && tp.entries) {
            scitt_store_read_end(rd);
            start_bundle(s, tp.index << 8, (size_t)want);
            return;
        }
        if (rc == 0 && !have) {
            rc = SCITT_ECORRUPT; /* the head covers the tile, the store must hold it */
        }
    }
    if (rc == 0) {
        scitt_h2__respond_bytes(s, 200, "application/octet-stream", hashes, (size_t)want * 32, &immutable, 1);
    } else {
        answer_tile_error(s, rc);
    }
    scitt_store_read_end(rd);
}
