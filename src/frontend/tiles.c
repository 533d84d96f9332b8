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
 * A full hash tile the log reader's tile cache holds (within its cached
 * checkpoint) is a copy from memory. Otherwise, with a store whose reads
 * are local (LMDB), a hash tile is one lookup and a copy of at most 8 KiB,
 * done on the loop; with one whose reads are round trips (PostgreSQL) it
 * is a job on the reader pool, which puts a full tile it read in the tile
 * cache (full tiles never change). An entry bundle hashes up to 256 stored
 * statements (each up to --max-statement-bytes), so it is always a job,
 * answered on the loop if its stream is still there.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "scitt/merkle.h"

static const scitt_h2_hdr_t immutable = {"cache-control", "public, max-age=31536000, immutable"};

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

/* A tile read on the reader pool: an entry bundle, or with a store whose
 * reads are round trips any tile. */
typedef struct tile_job {
    scitt_h2_job_t super;
    scitt_tile_path_t tp;
} tile_job_t;

/* find_tile looks tile `tp` up in `rd`: 0 with its hashes in `*out_hashes`
 * (NULL for an entry bundle, which the head covers), SCITT_ENOTFOUND when
 * the latest tree does not hold it, or an error. `mirror`: the store may
 * hold tiles ahead of its head, so the head always decides. */
static int find_tile(scitt_store_read_t *rd, const scitt_tile_path_t *tp, bool mirror, const uint8_t **out_hashes)
{
    uint64_t want = tp->width == 0 ? 256 : tp->width;
    const uint8_t *hashes = NULL;
    size_t stored = 0;
    bool have = !tp->entries && scitt_store_get_tile(rd, tp->level, tp->index, &hashes, &stored) == 0 && stored >= want;
    *out_hashes = NULL;
    /* The sequencer commits tiles with the head that covers them, so a
     * stored tile holding the hashes asked for is within its latest tree.
     * Otherwise (not stored, an entry bundle, or a mirror, which stores
     * tiles ahead of its checkpoint while it syncs) the head decides. */
    if (!have || mirror) {
        scitt_store_head_t head;
        int rc = scitt_store_get_latest_head(rd, &head);
        uint64_t size = rc == 0 ? head.size : 0;
        if (rc == SCITT_ENOTFOUND) {
            rc = 0;
        }
        if (rc == 0 && tile_width(hashes_at(size, tp->level), tp->index) < want) {
            rc = SCITT_ENOTFOUND;
        }
        if (rc == 0 && !have && !tp->entries) {
            rc = SCITT_ECORRUPT; /* the head covers the tile, the store must hold it */
        }
        if (rc != 0) {
            return rc;
        }
    }
    *out_hashes = hashes;
    return 0;
}

static void work_tile(scitt_h2_job_t *job)
{
    tile_job_t *j = scitt_container_of(job, tile_job_t, super);
    const scitt_tile_path_t *tp = &j->tp;
    uint64_t want = tp->width == 0 ? 256 : tp->width;
    scitt_store_read_t *rd;
    const uint8_t *hashes;
    job->rc = scitt_store_read_begin(job->fe->cfg.store, &rd);
    if (job->rc != 0) {
        return;
    }
    /* A bundle job comes from the loop, which found it covered. */
    job->rc = find_tile(rd, tp, job->fe->cfg.seq == NULL, &hashes);
    if (job->rc == 0 && tp->entries) {
        job->rc = scitt_log_entry_bundle(rd, tp->index << 8, (size_t)want, &job->body);
    } else if (job->rc == 0) {
        job->rc = scitt_buf_append(&job->body, hashes, (size_t)want * 32);
        if (want == 256) {
            scitt_log_keep_tile(job->fe->log, tp->level, tp->index, hashes); /* the next GET from memory */
        }
    }
    scitt_store_read_end(rd);
}

static void answer_tile(scitt_h2_job_t *j, scitt_h2_stream_t *s, int rc)
{
    if (rc != 0) {
        answer_tile_error(s, rc);
    } else {
        scitt_h2__respond(s, 200, "application/octet-stream", &j->body, &immutable, 1);
    }
}

/* start_tile answers tile `tp` from the reader pool. */
static void start_tile(scitt_h2_stream_t *s, const scitt_tile_path_t *tp)
{
    tile_job_t *j = scitt_h2__job_new(sizeof(*j), work_tile, answer_tile);
    if (j == NULL) {
        answer_tile_error(s, SCITT_ENOMEM);
        return;
    }
    j->tp = *tp;
    scitt_h2__job_submit(s, &j->super);
}

void scitt_h2__get_tile(scitt_h2_stream_t *s, const char *path, size_t len)
{
    scitt_frontend_t *fe = s->conn->fe;
    scitt_tile_path_t tp;
    if (scitt_merkle_tile_path_parse(&tp, path, len) != 0) {
        scitt_h2__respond_problem(s, 404, "Not Found", "not a tlog-tiles path", NULL, 0);
        return;
    }
    if (!scitt_log_local_reads(fe->log)) {
        scitt_buf_t b;
        scitt_buf_init(&b, NULL, 0);
        if (!tp.entries && tp.width == 0 && scitt_log_try_tile(fe->log, tp.level, tp.index, &b) == 0) {
            /* copied into a spare body: `b` is freed at once, not held
             * while the response drains */
            scitt_h2__respond_bytes(s, 200, "application/octet-stream", b.base, b.len, &immutable, 1);
            scitt_buf_cleanup(&b);
            return;
        }
        scitt_buf_cleanup(&b);
        start_tile(s, &tp);
        return;
    }
    scitt_store_read_t *rd;
    const uint8_t *hashes;
    int rc = scitt_store_read_begin(fe->cfg.store, &rd);
    if (rc != 0) {
        answer_tile_error(s, rc);
        return;
    }
    rc = find_tile(rd, &tp, fe->cfg.seq == NULL, &hashes);
    if (rc == 0 && tp.entries) {
        start_tile(s, &tp); /* hashes up to 256 statements: off the loop */
    } else if (rc == 0) {
        uint64_t want = tp.width == 0 ? 256 : tp.width;
        scitt_h2__respond_bytes(s, 200, "application/octet-stream", hashes, (size_t)want * 32, &immutable, 1);
    } else {
        answer_tile_error(s, rc);
    }
    scitt_store_read_end(rd);
}
