/*
 * index.c: the secondary indexes (issue 10), log-structured inside LMDB.
 *
 * Why not one B-tree key per record: a random key dirties one 4 KiB page
 * per insert, and fsyncing those pages held commits to ~25-30k entries/s
 * at 1-2M entries (raw LMDB with the same records and no index: ~900k/s).
 * So each batch's records are written as one sorted run, and runs are
 * merged in the background of later commits, in bounded steps.
 *
 *   index  first leaf (u64 BE) -> run: header || count x (key u64 BE, leaf u64 BE)
 *   times  time (u64 BE) || first leaf (u64 BE) -> empty, one per batch
 *
 * A run header is 16 bytes: level (u8), flags (u8, RUN_FINAL), two zero
 * bytes, count (u32 BE), end leaf (u64 BE, exclusive). Records are sorted
 * by (key, leaf) and unique.
 *
 * Invariants:
 *  - Runs cover disjoint leaf ranges [first, end), in key order, and every
 *    record of a leaf lives in the run whose range holds the leaf. So a
 *    key's matches in leaf order are simply run by run, and the other keys
 *    of a candidate leaf are checked in the same run.
 *  - A batch's records become one level-0 run in the batch's transaction;
 *    a batch with no records writes none. Then, while the newest F runs are
 *    all non-final and of one level L, they are merged (k-way, into a
 *    scratch buffer, then put back in place of the inputs) into one run of
 *    level L + 1, in the same transaction: nothing of a batch is visible
 *    before its commit, and a failed commit leaves no trace.
 *  - A run is final, and never merged again, when it holds more than
 *    CAP / F records; F non-final runs therefore hold at most CAP records,
 *    and the merges of one commit (a cascade through the levels) copy at
 *    most CAP * F / (F - 1) records: 1.2M records, 19 MiB, with the defaults
 *    F = 8 and CAP = 2^20. Each record is copied about once per level.
 *  - Runs per query: at most F - 1 non-final runs per level plus the final
 *    runs (each over CAP / F records, so at most 4n * F / CAP for n entries
 *    of 4 keys; about 4n / (CAP / 2) in steady state).
 *  - Every non-final run is newer than every final run: a run that becomes
 *    final (a large batch, or a merge) at once absorbs the non-final runs
 *    before it, which nothing could merge any more. That copies the final
 *    run again plus at most F - 1 non-final runs per level (each record is
 *    absorbed at most once). Stores written before this rule may keep such
 *    runs behind older final runs; they stay correct, only visited.
 *  - times keys never go backwards: a batch whose time is earlier than the
 *    last one is recorded at the last one's time.
 */
#include <stdlib.h>

#include "index.h"

#define RUN_HDR   16
#define REC_LEN   16
#define RUN_FINAL 0x01
#define MAX_LEVEL 250

static MDB_val val(const void *p, size_t n)
{
    MDB_val v = {n, (void *)p};
    return v;
}

/* A run as read from LMDB: borrowed until the transaction ends (or, in the
 * writer, until the next change to the runs table). */
typedef struct run {
    uint64_t first, end;
    unsigned level;
    bool final;
    size_t count;
    const uint8_t *recs;
} run_t;

static int parse_run(const MDB_val *k, const MDB_val *v, run_t *out)
{
    if (k->mv_size != 8 || v->mv_size < RUN_HDR) {
        return MDB_CORRUPTED;
    }
    const uint8_t *p = v->mv_data;
    out->first = scitt_load_be64(k->mv_data);
    out->level = p[0];
    out->final = (p[1] & RUN_FINAL) != 0;
    out->count = scitt_load_be32(p + 4);
    out->end = scitt_load_be64(p + 8);
    out->recs = p + RUN_HDR;
    if ((v->mv_size - RUN_HDR) / REC_LEN != out->count || (v->mv_size - RUN_HDR) % REC_LEN != 0 ||
        out->end <= out->first) {
        return MDB_CORRUPTED;
    }
    return 0;
}

static void put_header(uint8_t *p, unsigned level, bool final, size_t count, uint64_t end)
{
    p[0] = (uint8_t)level;
    p[1] = final ? RUN_FINAL : 0;
    p[2] = p[3] = 0;
    scitt_store_be32(p + 4, (uint32_t)count);
    scitt_store_be64(p + 8, end);
}

void scitt_store__index_writer_init(scitt_store__index_writer_t *w, unsigned fanout, size_t run_max)
{
    *w = (scitt_store__index_writer_t){0};
    w->fanout = fanout == 0 ? SCITT_STORE__INDEX_FANOUT : fanout < 2 ? 2 : fanout > 64 ? 64 : fanout;
    w->run_max = run_max == 0 ? SCITT_STORE__INDEX_RUN_MAX : run_max > UINT32_MAX ? UINT32_MAX : run_max;
}

void scitt_store__index_writer_cleanup(scitt_store__index_writer_t *w)
{
    free(w->sort_a);
    free(w->sort_b);
    free(w->merge);
    *w = (scitt_store__index_writer_t){0};
}

/* ------------------------------------------------------------------------ */
/* Level-0 runs                                                             */

/* lsd_sort sorts the `n` records of `a` stably by the low `nbytes` bytes of
 * (key, or leaf - `base`), one byte per pass, through `b`; it returns the
 * array holding the result. A pass whose byte is the same everywhere is
 * skipped. Index keys are uniform, so sorting a batch's records this way
 * takes 8 linear passes rather than n log n comparisons. */
static scitt_store_index_rec_t *lsd_sort(scitt_store_index_rec_t *a, scitt_store_index_rec_t *b, size_t n, bool by_leaf,
                                         uint64_t base, unsigned nbytes)
{
    size_t count[8][256];
    memset(count, 0, sizeof(count));
    for (size_t i = 0; i < n; i++) {
        uint64_t v = by_leaf ? a[i].leaf - base : a[i].key;
        for (unsigned d = 0; d < nbytes; d++) {
            count[d][(v >> (8 * d)) & 0xff]++;
        }
    }
    for (unsigned d = 0; d < nbytes; d++) {
        uint64_t v0 = by_leaf ? a[0].leaf - base : a[0].key;
        if (count[d][(v0 >> (8 * d)) & 0xff] == n) {
            continue;
        }
        size_t off = 0;
        for (unsigned j = 0; j < 256; j++) {
            size_t c = count[d][j];
            count[d][j] = off;
            off += c;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t v = by_leaf ? a[i].leaf - base : a[i].key;
            b[count[d][(v >> (8 * d)) & 0xff]++] = a[i];
        }
        scitt_store_index_rec_t *t = a;
        a = b;
        b = t;
    }
    return a;
}

static int grow_sort(scitt_store__index_writer_t *w, size_t n)
{
    if (n <= w->sort_cap) {
        return 0;
    }
    size_t cap = w->sort_cap < 1024 ? 1024 : w->sort_cap;
    while (cap < n) {
        cap *= 2;
    }
    scitt_store_index_rec_t *a = realloc(w->sort_a, cap * sizeof(*a));
    if (a != NULL) {
        w->sort_a = a;
    }
    scitt_store_index_rec_t *b = a != NULL ? realloc(w->sort_b, cap * sizeof(*b)) : NULL;
    if (b == NULL) {
        return ENOMEM;
    }
    w->sort_b = b;
    w->sort_cap = cap;
    return 0;
}

/* sort_batch copies the batch's records into scratch, checks their leaves,
 * sorts them by (key, leaf) and drops repeats; `*out` and `*out_num` name
 * the result. */
static int sort_batch(scitt_store__index_writer_t *w, const scitt_store_batch_t *b, scitt_store_index_rec_t **out,
                      size_t *out_num)
{
    size_t n = b->num_index;
    int rc = grow_sort(w, n);
    if (rc != 0) {
        return rc;
    }
    bool leaf_sorted = true;
    for (size_t i = 0; i < n; i++) {
        const scitt_store_index_rec_t *r = &b->index[i];
        if (r->leaf < b->first_index || r->leaf - b->first_index >= b->num_entries) {
            return EINVAL; /* a record for a leaf outside the batch */
        }
        leaf_sorted = leaf_sorted && (i == 0 || r->leaf >= b->index[i - 1].leaf);
        w->sort_a[i] = *r;
    }
    scitt_store_index_rec_t *a = w->sort_a, *t = w->sort_b;
    if (!leaf_sorted) {
        unsigned nbytes = 1;
        while (nbytes < 8 && (b->num_entries - 1) >> (8 * nbytes) != 0) {
            nbytes++;
        }
        a = lsd_sort(a, t, n, true, b->first_index, nbytes);
        t = a == w->sort_a ? w->sort_b : w->sort_a;
    }
    a = lsd_sort(a, t, n, false, 0, 8);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || a[i].key != a[m - 1].key || a[i].leaf != a[m - 1].leaf) {
            a[m++] = a[i];
        }
    }
    *out = a;
    *out_num = m;
    return 0;
}

static int put_level0(scitt_store__index_writer_t *w, MDB_txn *txn, MDB_dbi runs, const scitt_store_batch_t *b)
{
    scitt_store_index_rec_t *recs;
    size_t n;
    int rc = sort_batch(w, b, &recs, &n);
    if (rc != 0) {
        return rc;
    }
    if (n > UINT32_MAX || n > (SIZE_MAX - RUN_HDR) / REC_LEN) {
        return MDB_BAD_VALSIZE;
    }
    uint8_t key[8];
    scitt_store_be64(key, b->first_index);
    MDB_val k = val(key, 8), v = val(NULL, RUN_HDR + n * REC_LEN);
    rc = mdb_put(txn, runs, &k, &v, MDB_RESERVE | MDB_APPEND);
    if (rc != 0) {
        return rc;
    }
    uint8_t *p = v.mv_data;
    put_header(p, 0, n > w->run_max / w->fanout, n, b->first_index + b->num_entries);
    p += RUN_HDR;
    for (size_t i = 0; i < n; i++, p += REC_LEN) {
        scitt_store_be64(p, recs[i].key);
        scitt_store_be64(p + 8, recs[i].leaf);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Merging                                                                  */

/* newest_mergeable reads the newest F runs (newest first into `in`) and
 * says whether they may be merged: all non-final, of one level. */
static int newest_mergeable(MDB_cursor *cur, unsigned fanout, run_t *in, bool *out_ok)
{
    MDB_val k, v;
    *out_ok = false;
    for (unsigned i = 0; i < fanout; i++) {
        int rc = mdb_cursor_get(cur, &k, &v, i == 0 ? MDB_LAST : MDB_PREV);
        if (rc == MDB_NOTFOUND) {
            return 0;
        }
        if (rc == 0) {
            rc = parse_run(&k, &v, &in[i]);
        }
        if (rc != 0) {
            return rc;
        }
        if (in[i].final || in[i].level != in[0].level || in[i].level >= MAX_LEVEL) {
            return 0;
        }
    }
    *out_ok = true;
    return 0;
}

/* merge_into k-way merges the F runs of `in` (newest first) into `out` by
 * (key, leaf); equal keys keep leaf order because older runs hold lower
 * leaves. F is small: a linear scan for the smallest head is enough. */
static void merge_into(uint8_t *out, const run_t *in, unsigned fanout)
{
    size_t pos[64] = {0};
    uint64_t head[64];
    unsigned live = 0, idx[64];
    for (unsigned i = fanout; i-- > 0;) { /* oldest first, so ties go to older runs */
        if (in[i].count > 0) {
            idx[live] = i;
            head[live++] = scitt_load_be64(in[i].recs);
        }
    }
    while (live > 0) {
        unsigned best = 0;
        for (unsigned j = 1; j < live; j++) {
            if (head[j] < head[best]) {
                best = j;
            }
        }
        const run_t *r = &in[idx[best]];
        memcpy(out, r->recs + pos[best] * REC_LEN, REC_LEN);
        out += REC_LEN;
        if (++pos[best] < r->count) {
            head[best] = scitt_load_be64(r->recs + pos[best] * REC_LEN);
        } else {
            live--;
            memmove(&idx[best], &idx[best + 1], (live - best) * sizeof(idx[0]));
            memmove(&head[best], &head[best + 1], (live - best) * sizeof(head[0]));
            memmove(&pos[best], &pos[best + 1], (live - best) * sizeof(pos[0]));
        }
    }
}

/* replace_newest merges the `n` newest runs (`in`, newest first, borrowed
 * from the table under `cur`) into one run of `level` and puts it in their
 * place. */
static int replace_newest(scitt_store__index_writer_t *w, MDB_cursor *cur, const run_t *in, unsigned n, unsigned level,
                          bool final)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        total += in[i].count;
    }
    if (total > UINT32_MAX) {
        return MDB_BAD_VALSIZE;
    }
    size_t len = RUN_HDR + total * REC_LEN;
    if (len > w->merge_cap) {
        uint8_t *m = realloc(w->merge, len);
        if (m == NULL) {
            return ENOMEM;
        }
        w->merge = m;
        w->merge_cap = len;
    }
    uint64_t first = in[n - 1].first;
    put_header(w->merge, level, final, total, in[0].end);
    merge_into(w->merge + RUN_HDR, in, n);
    /* The inputs are borrowed from the table: only now change it. */
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (rc == 0) {
            rc = mdb_cursor_del(cur, 0);
        }
    }
    if (rc == 0) {
        uint8_t key[8];
        scitt_store_be64(key, first);
        MDB_val k = val(key, 8), v = val(w->merge, len);
        rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
    }
    return rc;
}

/* stuck_before_final reads the newest run into in[0] and, when it is
 * final, the non-final runs just before it (up to 63, newest first) after
 * it; `*out_n` counts them all, or is 0 when there is nothing to absorb. */
static int stuck_before_final(MDB_cursor *cur, run_t *in, unsigned *out_n)
{
    MDB_val k, v;
    *out_n = 0;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == 0) {
        rc = parse_run(&k, &v, &in[0]);
    }
    if (rc != 0 || !in[0].final) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    unsigned n = 1;
    while (n < 64 && (rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) == 0) {
        rc = parse_run(&k, &v, &in[n]);
        if (rc != 0 || in[n].final) {
            break;
        }
        n++;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    *out_n = n > 1 ? n : 0;
    return 0;
}

/* merge_runs merges while the policy says so (see the top): the newest F
 * runs while they are non-final and of one level; then, when the newest run
 * is final, the non-final runs before it into it, since nothing after a
 * final run is ever merged with them. */
static int merge_runs(scitt_store__index_writer_t *w, MDB_txn *txn, MDB_dbi runs)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, runs, &cur);
    if (rc != 0) {
        return rc;
    }
    run_t in[64];
    for (;;) {
        bool ok;
        rc = newest_mergeable(cur, w->fanout, in, &ok);
        if (rc != 0 || !ok) {
            break;
        }
        size_t total = 0;
        for (unsigned i = 0; i < w->fanout; i++) {
            total += in[i].count;
        }
        if (total > w->run_max) {
            break; /* only after the policy changed (a smaller CAP): leave them */
        }
        rc = replace_newest(w, cur, in, w->fanout, in[0].level + 1, total > w->run_max / w->fanout);
        if (rc != 0) {
            break;
        }
    }
    for (unsigned n; rc == 0;) {
        rc = stuck_before_final(cur, in, &n);
        if (rc != 0 || n == 0) {
            break;
        }
        rc = replace_newest(w, cur, in, n, in[0].level, true);
    }
    mdb_cursor_close(cur);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Times                                                                    */

static int put_time(MDB_txn *txn, MDB_dbi times, const scitt_store_batch_t *b)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, times, &cur);
    if (rc != 0) {
        return rc;
    }
    uint64_t t = b->head->time > 0 ? (uint64_t)b->head->time : 0;
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 16 && scitt_load_be64(k.mv_data) > t) {
        t = scitt_load_be64(k.mv_data); /* never backwards (a mirror's clock may step back) */
    }
    if (rc == 0 || rc == MDB_NOTFOUND) {
        uint8_t key[16];
        scitt_store_be64(key, t);
        scitt_store_be64(key + 8, b->first_index);
        k = val(key, 16);
        v = val(NULL, 0);
        rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
    }
    mdb_cursor_close(cur);
    return rc;
}

int scitt_store__index_put(scitt_store__index_writer_t *w, MDB_txn *txn, const scitt_store__index_dbs_t *dbs,
                           const scitt_store_batch_t *b)
{
    int rc = 0;
    if (b->num_index > 0) {
        if (b->num_entries == 0 || b->index == NULL) {
            return EINVAL;
        }
        rc = put_level0(w, txn, dbs->runs, b);
        if (rc == 0) {
            rc = merge_runs(w, txn, dbs->runs);
        }
    }
    if (rc == 0 && b->num_entries > 0 && b->head != NULL) {
        rc = put_time(txn, dbs->times, b);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                  */

static uint64_t rec_key(const run_t *r, size_t i)
{
    return scitt_load_be64(r->recs + i * REC_LEN);
}

static uint64_t rec_leaf(const run_t *r, size_t i)
{
    return scitt_load_be64(r->recs + i * REC_LEN + 8);
}

/* lower_bound: the first record in [lo, hi) at or after (key, leaf). */
static size_t lower_bound(const run_t *r, size_t lo, size_t hi, uint64_t key, uint64_t leaf)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k = rec_key(r, mid);
        if (k < key || (k == key && rec_leaf(r, mid) < leaf)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static size_t key_end(const run_t *r, size_t lo, uint64_t key)
{
    return key == UINT64_MAX ? r->count : lower_bound(r, lo, r->count, key + 1, 0);
}

/* time_leaf: the first leaf of the first batch registered at or after `t`,
 * or `size` when there is none. */
static int time_leaf(MDB_txn *txn, MDB_dbi times, int64_t t, uint64_t size, uint64_t *out)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, times, &cur);
    if (rc != 0) {
        return rc;
    }
    uint8_t key[16];
    scitt_store_be64(key, t > 0 ? (uint64_t)t : 0);
    scitt_store_be64(key + 8, 0);
    MDB_val k = val(key, 16), v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *out = size;
        return 0;
    }
    if (rc == 0 && k.mv_size != 16) {
        rc = MDB_CORRUPTED;
    }
    if (rc == 0) {
        *out = scitt_load_be64((const uint8_t *)k.mv_data + 8);
    }
    return rc;
}

static int tree_size(MDB_txn *txn, MDB_dbi entries, uint64_t *out)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, entries, &cur);
    if (rc != 0) {
        return rc;
    }
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    *out = 0;
    if (rc == 0) {
        rc = k.mv_size == 8 ? 0 : MDB_CORRUPTED;
        *out = rc == 0 ? scitt_load_be64(k.mv_data) + 1 : 0;
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* first_run positions `cur` on the first run that holds leaves at or after
 * `lo`, or says there is none (MDB_NOTFOUND). */
static int first_run(MDB_cursor *cur, uint64_t lo, MDB_val *k, MDB_val *v)
{
    uint8_t key[8];
    scitt_store_be64(key, lo);
    *k = val(key, 8);
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    bool at_or_after = rc == 0 && scitt_load_be64(k->mv_data) == lo;
    if (at_or_after) {
        return 0;
    }
    /* The run before may still reach past lo. */
    int prc = mdb_cursor_get(cur, k, v, rc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
    if (prc == MDB_NOTFOUND) {
        return rc == MDB_NOTFOUND ? rc : mdb_cursor_get(cur, k, v, MDB_FIRST);
    }
    if (prc != 0) {
        return prc;
    }
    run_t r;
    prc = parse_run(k, v, &r);
    if (prc != 0 || r.end > lo) {
        return prc;
    }
    return mdb_cursor_get(cur, k, v, MDB_NEXT);
}

/* A query in progress. */
typedef struct query {
    const scitt_store_query_t *q;
    uint64_t *out;
    size_t max, num;
    uint64_t hi;   /* leaves < hi */
    size_t budget; /* records that may still be examined */
    uint64_t next; /* resume point once stopped */
    bool stopped;
} query_t;

/* query_run finds the matches at or after leaf `lo` in one run. */
static void query_run(query_t *s, const run_t *r, uint64_t lo)
{
    const scitt_store_query_t *q = s->q;
    size_t a[SCITT_STORE_QUERY_MAX_KEYS] = {0}, b[SCITT_STORE_QUERY_MAX_KEYS] = {0}, d = 0;
    for (size_t i = 0; i < q->num_keys; i++) {
        a[i] = lower_bound(r, 0, r->count, q->keys[i], lo);
        b[i] = key_end(r, a[i], q->keys[i]);
        if (a[i] == b[i]) {
            return; /* a key absent from the run: no leaf of it matches */
        }
        if (b[i] - a[i] < b[d] - a[d]) {
            d = i;
        }
    }
    uint64_t prev = UINT64_MAX;
    for (size_t j = a[d]; j < b[d]; j++) {
        uint64_t leaf = rec_leaf(r, j);
        if (leaf >= s->hi) {
            break;
        }
        if (s->budget == 0) {
            s->next = leaf;
            s->stopped = true;
            return;
        }
        s->budget--;
        if (leaf == prev) {
            continue;
        }
        prev = leaf;
        bool all = true;
        for (size_t i = 0; all && i < q->num_keys; i++) {
            if (i != d) {
                /* Candidates ascend, so each other key's window only shrinks. */
                a[i] = lower_bound(r, a[i], b[i], q->keys[i], leaf);
                all = a[i] < b[i] && rec_leaf(r, a[i]) == leaf;
            }
        }
        if (!all) {
            continue;
        }
        if (s->num == s->max) {
            s->next = leaf; /* the next page starts exactly here */
            s->stopped = true;
            return;
        }
        s->out[s->num++] = leaf;
    }
}

int scitt_store__index_query(MDB_txn *txn, const scitt_store__index_dbs_t *dbs, const scitt_store_query_t *q,
                             uint64_t *out, size_t max, size_t *out_num, uint64_t *out_next)
{
    *out_num = 0;
    *out_next = UINT64_MAX;
    if (q->num_keys > SCITT_STORE_QUERY_MAX_KEYS || (q->num_keys > 0 && q->keys == NULL) || max == 0) {
        return EINVAL;
    }
    uint64_t size, lo = q->from, hi;
    int rc = tree_size(txn, dbs->entries, &size);
    hi = size;
    if (rc == 0 && q->since > 0) {
        uint64_t t;
        rc = time_leaf(txn, dbs->times, q->since, size, &t);
        lo = t > lo ? t : lo;
    }
    if (rc == 0 && q->until != 0) {
        uint64_t t = 0;
        rc = q->until > 0 ? time_leaf(txn, dbs->times, q->until, size, &t) : 0;
        hi = t < hi ? t : hi;
    }
    if (rc != 0 || lo >= hi) {
        return rc;
    }
    if (q->num_keys == 0) {
        size_t n = hi - lo < max ? (size_t)(hi - lo) : max;
        for (size_t i = 0; i < n; i++) {
            out[i] = lo + i;
        }
        *out_num = n;
        *out_next = lo + n < hi ? lo + n : UINT64_MAX;
        return 0;
    }
    query_t s = {.q = q, .out = out, .max = max, .hi = hi, .next = UINT64_MAX};
    s.budget = max > (SIZE_MAX - 4096) / 64 ? SIZE_MAX : 64 * max + 4096;
    MDB_cursor *cur;
    rc = mdb_cursor_open(txn, dbs->runs, &cur);
    if (rc != 0) {
        return rc;
    }
    MDB_val k, v;
    rc = first_run(cur, lo, &k, &v);
    while (rc == 0 && !s.stopped) {
        run_t r;
        rc = parse_run(&k, &v, &r);
        if (rc != 0 || r.first >= hi) {
            break;
        }
        query_run(&s, &r, r.first > lo ? r.first : lo);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        *out_num = 0;
        return rc;
    }
    *out_num = s.num;
    *out_next = s.stopped ? s.next : UINT64_MAX;
    return 0;
}

int scitt_store__index_runs(MDB_txn *txn, MDB_dbi runs, size_t *out_num, unsigned *out_max_level, size_t *out_num_final)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, runs, &cur);
    if (rc != 0) {
        return rc;
    }
    *out_num = *out_num_final = 0;
    *out_max_level = 0;
    MDB_val k, v;
    uint64_t end = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        run_t r;
        rc = parse_run(&k, &v, &r);
        if (rc == 0 && r.first < end) {
            rc = MDB_CORRUPTED; /* overlapping runs */
        }
        if (rc != 0) {
            break;
        }
        end = r.end;
        (*out_num)++;
        *out_num_final += r.final;
        *out_max_level = r.level > *out_max_level ? r.level : *out_max_level;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
