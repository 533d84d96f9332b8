/*
 * sequencer.c: the one thread that writes the log (DESIGN.md section 1),
 * and recovery at start. Receipts rebuilt from the store are the log
 * reader's (src/log); the answer thread builds a batch's new ones through
 * the reader's tile cache and keeps them in its recent-receipt ring, and
 * each commit advances the reader's checkpoint.
 *
 * Natural group commit: the thread takes everything queued (up to
 * batch_max) as one batch; while it commits, the next batch accumulates.
 * Per batch:
 *   1. classify (one read transaction): an entry already in the store keeps
 *      its index (DUP_STORE); a repeat inside the batch gets the index of
 *      its first occurrence (DUP_BATCH); the rest get new indexes in order;
 *   2. leaf hashes (scitt_sha256_leaves) and scitt_merkle_append;
 *   3. sign the new head: one ES256 signature over the root (the signature
 *      every receipt of this tree size carries) and one Ed25519 checkpoint;
 *   4. ONE scitt_store_commit: entries, changed tiles, the signed head and
 *      the new leaves' index records (keys the verify pool computed; a
 *      repeat adds none), durably (fsync); the store then indexes the new
 *      entries for repeats;
 *   5. only then hand the batch to the answer thread, which builds each
 *      receipt from one prover over the committed tiles (one read
 *      transaction, ended before any callback runs) and runs the
 *      completions, while this thread goes on with the next batch.
 *
 * Pipelining: one batch in flight to the answer thread (hand_off waits for
 * it to finish the previous one), so completions keep their batch order,
 * memory stays bounded by max_pending, and a clean stop joins the answer
 * thread after the last batch, answering everything.
 *
 * Invariants:
 *  - Durability: no receipt, index or checkpoint leaves this thread before
 *    the commit holding it returned 0. A failed commit answers every new
 *    entry of the batch with the error and restores the in-memory tree from
 *    the store at the last committed size, so the next batch starts from
 *    exactly what is on disk. Entries already in the store are answered
 *    normally even then: they are durable.
 *  - `size`/`root` always describe the last committed head; `tree` equals
 *    them between batches unless `broken` (a failed restore), in which case
 *    the next batch restores again before doing anything else. After
 *    SCITT_ECONFLICT (the log end moved: another writer) `resync` is set
 *    instead, and the next batch first recovers from the store's latest head
 *    as at start, so indexes are never reused.
 *  - A commit in doubt (SCITT_EINDOUBT: written or not, unknown) keeps its
 *    batch in hand, unanswered (its POSTs turn into 202), with its size, root
 *    and signatures; the thread takes no other batch and calls
 *    scitt_store_maintain about once a second until it returns 0, then reads
 *    the head at the batch's size: our root there means committed (answered
 *    with receipts, as usual), the log end unchanged means not (answered
 *    with SCITT_EUNAVAIL and rolled back), anything else a conflict. So
 *    nothing acknowledged is lost and nothing is acknowledged twice. A stop
 *    gives the store DOUBT_STOP_TRIES more tries, then answers
 *    SCITT_EINDOUBT and recovers before any later batch.
 *  - Every receipt is a pure function of the store: head of the batch that
 *    committed the leaf (scitt_store_get_head_from(index + 1)), protected
 *    header from kid, origin and the head's time, proof at that size, stored
 *    signature. scitt_log_receipt therefore rebuilds registrations' receipts
 *    byte for byte.
 *  - A read transaction holds the store's grow lock, and a commit may need
 *    that lock exclusively: this thread never holds a read transaction
 *    across its own commit, and the answer thread never waits for this one
 *    while it holds one (it only builds receipts under it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "scitt/cond.h"
#include "scitt/receipt.h"
#include "scitt/sha256.h"

#define RECEIPT_ALG SCITT_ALG_ES256
#define SIG_CAP     132

#define REPAIR_RETRY_NS  1000000000u /* while the entry index is broken or a commit in doubt */
#define DOUBT_STOP_TRIES 5           /* maintain calls a stop waits for a commit in doubt */

/* A committed (or failed) batch on its way to its completions. */
typedef struct answer_batch {
    scitt_seq__job_t **jobs; /* batch_max slots; swapped with the sequencer's */
    size_t num_jobs;
    int fail_rc;   /* the error for entries not committed, or 0 */
    uint64_t size; /* the committed tree size the new entries' receipts are for */
    scitt_buf_t prot;
    uint8_t sig[SIG_CAP];
    size_t sig_len;
    scitt_buf_t note; /* the checkpoint of `size` */
} answer_batch_t;

/* Per job: the answer built in phase 1 (receipt at receipts[off, off + len)). */
typedef struct answer_out {
    int rc;
    size_t off, len;
} answer_out_t;

/* The answer thread: receipts and completions of batch k while the
 * sequencer works on batch k + 1. One batch in flight (`busy`). */
typedef struct answerer {
    scitt_seq_t *seq;
    scitt_span_t origin;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool busy, stop, running;
    pthread_t thread;
    answer_batch_t b;
    answer_out_t *out;
    scitt_buf_t receipts;
} answerer_t;

struct scitt_seq__sequencer {
    scitt_seq_t *seq;
    answerer_t ans;
    scitt_span_t origin;
    scitt_merkle_t *tree;
    uint64_t size;    /* last committed tree size */
    uint8_t root[32]; /* and its root */
    int64_t time;     /* and its time (heads' times never go backwards) */
    bool broken;      /* `tree` differs from the store; restore before the next batch */
    bool resync;      /* the log end moved: recover from the latest head before the next batch */
    /* The batch in hand committed in doubt (see the top): its head. */
    bool doubt;
    uint64_t doubt_size;
    uint8_t doubt_root[32];
    int64_t doubt_time;
    unsigned stop_tries; /* maintain calls since a stop found the batch in doubt */
    /* A shared store (shared.c): the batch's writer epoch and the queue rows
     * its commit removes. */
    uint64_t epoch;
    const uint8_t (*dequeue)[32];
    size_t num_dequeue;
    scitt_note_verifier_t note_v;

    /* Batch scratch, sized for batch_max at start (no allocation per batch
     * except the tile list, which grows to its high-water mark). */
    size_t cap;
    scitt_seq__job_t **jobs;
    size_t num_jobs;
    scitt_seq__job_t **fresh; /* new entries, in index order */
    size_t num_fresh;
    uint8_t (*leaves)[32];
    uint8_t (*hashes)[32];
    uint64_t *found; /* classify: each job's leaf in the store, or UINT64_MAX */
    scitt_span_t *entries;
    uint32_t *slots; /* in-batch dedup: 0 or 1 + position in fresh */
    size_t num_slots;
    scitt_store_tile_t *tiles;
    size_t tiles_cap;
    scitt_store_index_rec_t *index; /* SCITT_SEQ__MAX_KEYS per slot of the batch */

    scitt_buf_t prot, body, note, scratch, receipt;
    uint8_t sig[SIG_CAP];
    size_t sig_len;
    uint8_t sig_kid[SCITT_SHA256_LEN]; /* the kid of the key that made sig */
};

/* ------------------------------------------------------------------------ */
/* Recovery                                                                 */

/* restore_tree rebuilds `tree` from the store at the committed size. */
static int restore_tree(scitt_seq__sequencer_t *s)
{
    scitt_store_read_t *rd;
    int rc = scitt_store_read_begin(s->seq->store, &rd);
    if (rc != 0) {
        return rc;
    }
    scitt_tile_reader_t reader = scitt_log__tile_reader(rd, NULL);
    rc = scitt_merkle_restore(s->tree, &reader, s->size);
    scitt_store_read_end(rd);
    if (rc == 0) {
        uint8_t root[32];
        scitt_merkle_root(s->tree, root);
        rc = memcmp(root, s->root, 32) == 0 ? 0 : SCITT_ECORRUPT;
    }
    s->broken = rc != 0;
    return rc;
}

/* check_last_head proves the latest head is ours and reproducible: the
 * receipt of its last leaf, rebuilt from the store, verifies with the key
 * its kid names (active or retired) and our origin, and its checkpoint
 * verifies with one of our checkpoint keys and names the same tree. */
static int check_last_head(scitt_seq__sequencer_t *s, scitt_store_read_t *rd, const scitt_store_head_t *head,
                           scitt_span_t last_entry, const char **why)
{
    const scitt_seq_keys_t *keys = s->seq->keys;
    scitt_span_t first = scitt_span(keys->first_receipt_kid, SCITT_SHA256_LEN);
    const scitt_key_t *key = scitt_seq_keys_receipt_key(keys, scitt_log__head_kid(head, first));
    uint8_t entry[32];
    scitt_sha256(entry, last_entry.base, last_entry.len);
    scitt_buf_reset(&s->receipt);
    int rc = scitt_log__receipt_at(rd, NULL, !scitt_store_local_reads(s->seq->store), first, s->origin, head->size - 1,
                                   &s->prot, &s->receipt);
    scitt_receipt_t *r = malloc(sizeof(*r));
    if (r == NULL) {
        return SCITT_ENOMEM;
    }
    if (rc == 0 && key == NULL) {
        rc = SCITT_EBADKEY;
    }
    if (rc == 0) {
        rc = scitt_receipt_decode(r, s->receipt.base, s->receipt.len, NULL);
    }
    if (rc == 0) {
        rc = scitt_receipt_verify(r, entry, key, NULL, &s->scratch, NULL);
    }
    free(r);
    if (rc != 0) {
        *why = "the latest tree head's receipt signature does not verify with the key its kid names (is it in the "
               "keyring?) and this service's origin";
        return rc == SCITT_ENOMEM ? rc : SCITT_ECORRUPT;
    }
    scitt_note_verifier_t *vs = calloc(1 + SCITT_SEQ_MAX_OLD_KEYS, sizeof(*vs));
    size_t num_vs = 0;
    if (vs == NULL) {
        return SCITT_ENOMEM;
    }
    rc = scitt_seq_keys_verifiers(keys, s->seq->origin, vs, &num_vs);
    scitt_checkpoint_t cp;
    rc = rc != 0 ? rc : scitt_note_open(head->checkpoint.base, head->checkpoint.len, vs, num_vs, &cp, NULL);
    for (size_t i = 0; i < num_vs; i++) {
        scitt_note_verifier_cleanup(&vs[i]);
    }
    free(vs);
    if (rc != 0 || cp.size != head->size || memcmp(cp.root, head->root, 32) != 0 ||
        !scitt_span_eq(cp.origin, s->origin)) {
        *why = "the latest checkpoint does not verify with this service's key or does not match its tree head";
        return SCITT_ECORRUPT;
    }
    return 0;
}

/* Why the recovery guard refused the latest head: `*why` of recover points
 * here, valid on this thread until its next recovery (a refused start frees
 * the sequencer before the caller prints it). */
static _Thread_local char guard_msg[512];

static int recover(scitt_seq__sequencer_t *s, const char **why)
{
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    scitt_span_t entry;
    int rc = scitt_store_read_begin(s->seq->store, &rd);
    if (rc != 0) {
        *why = "cannot read the store";
        return rc;
    }
    rc = scitt_store_get_latest_head(rd, &head);
    if ((rc == 0 || rc == SCITT_ENOTFOUND) && s->seq->guard != NULL &&
        s->seq->guard(s->seq->guard_ctx, rd, rc == 0 ? &head : NULL, guard_msg, sizeof(guard_msg)) != 0) {
        *why = guard_msg;
        rc = SCITT_ECONFLICT;
        goto out;
    }
    if (rc == SCITT_ENOTFOUND) {
        s->size = 0;
        scitt_merkle_empty_root(s->root);
        rc = scitt_store_get_entry(rd, 0, &entry);
        if (rc == 0) {
            *why = "the store holds entries but no tree head";
            rc = SCITT_ECORRUPT;
        } else if (rc == SCITT_ENOTFOUND) {
            rc = 0;
        }
        goto out;
    }
    if (rc != 0) {
        *why = "cannot read the latest tree head";
        goto out;
    }
    s->size = head.size;
    s->time = head.time;
    memcpy(s->root, head.root, 32);
    scitt_tile_reader_t reader = scitt_log__tile_reader(rd, NULL);
    rc = scitt_merkle_restore(s->tree, &reader, head.size);
    if (rc != 0) {
        *why = "the stored tiles do not hold the latest tree head's right edge (tiles missing or damaged)";
        rc = rc == SCITT_ENOMEM ? rc : SCITT_ECORRUPT;
        goto out;
    }
    uint8_t root[32];
    scitt_merkle_root(s->tree, root);
    if (memcmp(root, head.root, 32) != 0) {
        *why = "the Merkle root rebuilt from the stored tiles differs from the latest tree head's root";
        rc = SCITT_ECORRUPT;
        goto out;
    }
    rc = scitt_store_get_entry(rd, head.size, &entry);
    if (rc != SCITT_ENOTFOUND) {
        *why = rc == 0 ? "the store holds entries past the latest tree head" : "cannot read the entries";
        rc = rc == 0 ? SCITT_ECORRUPT : rc;
        goto out;
    }
    rc = scitt_store_get_entry(rd, head.size - 1, &entry);
    if (rc != 0) {
        *why = "an entry the latest tree head covers is missing";
        rc = SCITT_ECORRUPT;
        goto out;
    }
    rc = check_last_head(s, rd, &head, entry, why);
out:
    scitt_store_read_end(rd);
    return rc;
}

/* rerecover runs recovery again on a running log whose end moved (or may
 * have): the tree, size and root become the store's latest head. */
static int rerecover(scitt_seq__sequencer_t *s)
{
    const char *why = NULL;
    int rc = recover(s, &why);
    s->resync = rc != 0;
    s->broken = rc != 0;
    if (rc != 0) {
        fprintf(stderr, "scittd: seq: cannot recover the log after it moved: %s (%s)\n",
                why != NULL ? why : "cannot read the store", scitt_strerror(rc));
        return rc;
    }
    atomic_store_explicit(&s->seq->tree_size, s->size, memory_order_relaxed);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

void scitt_seq__sequencer_free(scitt_seq__sequencer_t *s)
{
    if (s == NULL) {
        return;
    }
    scitt_merkle_free(s->tree);
    scitt_note_verifier_cleanup(&s->note_v);
    pthread_mutex_destroy(&s->ans.lock);
    pthread_cond_destroy(&s->ans.cond);
    free(s->ans.b.jobs);
    free(s->ans.out);
    scitt_buf_cleanup(&s->ans.b.prot);
    scitt_buf_cleanup(&s->ans.b.note);
    scitt_buf_cleanup(&s->ans.receipts);
    free(s->jobs);
    free(s->fresh);
    free(s->leaves);
    free(s->hashes);
    free(s->found);
    free(s->entries);
    free(s->slots);
    free(s->tiles);
    free(s->index);
    scitt_buf_cleanup(&s->prot);
    scitt_buf_cleanup(&s->body);
    scitt_buf_cleanup(&s->note);
    scitt_buf_cleanup(&s->scratch);
    scitt_buf_cleanup(&s->receipt);
    free(s);
}

int scitt_seq__sequencer_new(scitt_seq_t *seq, const char **why)
{
    scitt_seq__sequencer_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return SCITT_ENOMEM;
    }
    s->seq = seq;
    s->origin = scitt_span_str(seq->origin);
    s->cap = seq->batch_max;
    s->num_slots = 16;
    while (s->num_slots < 2 * s->cap) {
        s->num_slots *= 2;
    }
    scitt_buf_init(&s->prot, NULL, 0);
    scitt_buf_init(&s->body, NULL, 0);
    scitt_buf_init(&s->note, NULL, 0);
    scitt_buf_init(&s->scratch, NULL, 0);
    scitt_buf_init(&s->receipt, NULL, 0);
    answerer_t *a = &s->ans;
    a->seq = seq;
    a->origin = s->origin;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    scitt_buf_init(&a->b.prot, NULL, 0);
    scitt_buf_init(&a->b.note, NULL, 0);
    scitt_buf_init(&a->receipts, NULL, 0);
    a->b.jobs = calloc(s->cap, sizeof(*a->b.jobs));
    a->out = calloc(s->cap, sizeof(*a->out));
    s->jobs = calloc(s->cap, sizeof(*s->jobs));
    s->fresh = calloc(s->cap, sizeof(*s->fresh));
    s->leaves = calloc(s->cap, sizeof(*s->leaves));
    s->hashes = calloc(s->cap, sizeof(*s->hashes));
    s->found = calloc(s->cap, sizeof(*s->found));
    s->entries = calloc(s->cap, sizeof(*s->entries));
    s->slots = calloc(s->num_slots, sizeof(*s->slots));
    s->index = calloc(s->cap, SCITT_SEQ__MAX_KEYS * sizeof(*s->index));
    int rc = 0;
    if (s->jobs == NULL || s->fresh == NULL || s->leaves == NULL || s->hashes == NULL || s->found == NULL ||
        s->entries == NULL || s->slots == NULL || s->index == NULL || a->b.jobs == NULL || a->out == NULL) {
        rc = SCITT_ENOMEM;
    }
    if (rc == 0) {
        rc = scitt_merkle_new(&s->tree, NULL);
    }
    if (rc == 0) {
        rc = scitt_note_verifier_init(&s->note_v, seq->origin, seq->keys->checkpoint_key);
        if (rc == SCITT_EINVAL) {
            *why = "the origin is not a valid checkpoint key name (no spaces, '+' or control characters)";
        } else if (rc != 0) {
            *why = "the checkpoint key is not an Ed25519 key";
        }
    }
    if (rc == 0) {
        rc = recover(s, why);
    }
    if (rc != 0) {
        scitt_seq__sequencer_free(s);
        return rc;
    }
    atomic_store_explicit(&seq->tree_size, s->size, memory_order_relaxed);
    seq->sequencer = s;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* One batch                                                                */

static size_t slot_home(const uint8_t entry[32], size_t mask)
{
    uint64_t h;
    memcpy(&h, entry, sizeof(h));
    return (size_t)h & mask;
}

/* classify sorts the batch into new entries and repeats (see the top),
 * looking the whole batch up in the store at once (s->hashes is free until
 * integrate fills it). */
static int classify(scitt_seq__sequencer_t *s, scitt_store_read_t *rd)
{
    for (size_t i = 0; i < s->num_jobs; i++) {
        memcpy(s->hashes[i], s->jobs[i]->entry, 32);
    }
    int rc = scitt_store_find_entries(rd, (const uint8_t(*)[32])s->hashes, s->num_jobs, s->found);
    if (rc != 0) {
        return rc;
    }
    size_t n = 16;
    while (n < 2 * s->num_jobs) {
        n *= 2;
    }
    size_t mask = n - 1;
    memset(s->slots, 0, n * sizeof(*s->slots));
    s->num_fresh = 0;
    for (size_t i = 0; i < s->num_jobs; i++) {
        scitt_seq__job_t *job = s->jobs[i];
        if (s->found[i] != UINT64_MAX) {
            if (s->found[i] >= s->size) {
                return SCITT_ECORRUPT;
            }
            job->kind = SCITT_SEQ__DUP_STORE;
            job->index = s->found[i];
            continue;
        }
        size_t h = slot_home(job->entry, mask);
        while (s->slots[h] != 0 && memcmp(s->fresh[s->slots[h] - 1]->entry, job->entry, 32) != 0) {
            h = (h + 1) & mask;
        }
        if (s->slots[h] != 0) {
            job->kind = SCITT_SEQ__DUP_BATCH;
            job->index = s->fresh[s->slots[h] - 1]->index;
            continue;
        }
        job->kind = SCITT_SEQ__NEW;
        job->index = s->size + s->num_fresh;
        s->fresh[s->num_fresh++] = job;
        s->slots[h] = (uint32_t)s->num_fresh;
    }
    return 0;
}

/* sign_head signs the tree of `size` leaves with `root` at `time`: the
 * receipt signature (under s->prot) and the checkpoint note (s->note). */
static int sign_head(scitt_seq__sequencer_t *s, uint64_t size, const uint8_t root[32], int64_t time)
{
    const scitt_seq_keys_t *keys = s->seq->keys; /* one keyring for the whole head */
    scitt_note_verifier_t v;
    scitt_buf_reset(&s->prot);
    scitt_buf_reset(&s->body);
    scitt_buf_reset(&s->note);
    memcpy(s->sig_kid, keys->receipt_kid, SCITT_SHA256_LEN);
    int rc = scitt_receipt_protected(&s->prot, RECEIPT_ALG, scitt_span(s->sig_kid, SCITT_SHA256_LEN), s->origin, time);
    if (rc == 0) {
        rc = scitt_receipt_sign_root(keys->receipt_key, RECEIPT_ALG, scitt_buf_span(&s->prot), root, s->sig,
                                     sizeof(s->sig), &s->sig_len, &s->scratch);
    }
    if (rc == 0) {
        rc = scitt_checkpoint_body(&s->body, s->origin, size, root);
    }
    if (rc == 0) {
        rc = scitt_note_verifier_init(&v, s->seq->origin, keys->checkpoint_key);
    }
    if (rc == 0) {
        rc = scitt_note_sign(&s->note, scitt_buf_span(&s->body), &v, keys->checkpoint_key);
    }
    /* A checkpoint key rotation's transition: the retired key signs too, so
     * a mirror pinned to it learns the new one (docs/DECISIONS.md). */
    const scitt_key_t *old = scitt_seq_keys_cosigner(keys, time);
    if (rc == 0 && old != NULL) {
        rc = scitt_note_verifier_init(&v, s->seq->origin, old);
        if (rc == 0) {
            rc = scitt_note_add_signature(&s->note, scitt_buf_span(&s->body), &v, old);
        }
    }
    return rc;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int scitt_seq_health(scitt_seq_t *seq, double *out_batch_seconds)
{
    uint64_t since = atomic_load_explicit(&seq->batch_since_ms, memory_order_relaxed);
    double busy = since == 0 ? 0 : now_seconds() - (double)since * 1e-3;
    *out_batch_seconds = busy > 0 ? busy : 0;
    return atomic_load_explicit(&seq->commit_rc, memory_order_relaxed);
}

static void count_failure(scitt_seq_t *seq, int rc)
{
    size_t cause = rc == SCITT_EUNAVAIL    ? SCITT_SEQ_FAIL_UNAVAIL
                   : rc == SCITT_ECONFLICT ? SCITT_SEQ_FAIL_CONFLICT
                   : rc == SCITT_ENOSPC    ? SCITT_SEQ_FAIL_NOSPACE
                   : rc == SCITT_EINDOUBT  ? SCITT_SEQ_FAIL_INDOUBT
                                           : SCITT_SEQ_FAIL_OTHER;
    atomic_fetch_add_explicit(&seq->commit_failures[cause], 1, memory_order_relaxed);
}

/* integrate appends the new entries, signs the head and commits the batch. */
static int integrate(scitt_seq__sequencer_t *s, int64_t time)
{
    size_t num_index = 0;
    for (size_t i = 0; i < s->num_fresh; i++) {
        scitt_seq__job_t *job = s->fresh[i];
        memcpy(s->hashes[i], job->entry, 32);
        s->entries[i] = scitt_span(job->data, job->len);
        for (size_t k = 0; k < job->num_keys; k++) {
            s->index[num_index++] = (scitt_store_index_rec_t){job->keys[k], s->size + i};
        }
    }
    scitt_sha256_leaves(s->leaves, (const uint8_t(*)[32])s->hashes, s->num_fresh);
    const scitt_merkle_tile_t *tiles;
    size_t num_tiles;
    uint8_t root[32];
    int rc = scitt_merkle_append(s->tree, (const uint8_t(*)[32])s->leaves, s->num_fresh, &tiles, &num_tiles, root);
    if (rc != 0) {
        return rc;
    }
    s->broken = true; /* until committed: the tree is ahead of the store */
    uint64_t size = s->size + s->num_fresh;
    rc = sign_head(s, size, root, time);
    if (rc != 0) {
        return rc;
    }
    if (num_tiles > s->tiles_cap) {
        scitt_store_tile_t *t = realloc(s->tiles, num_tiles * sizeof(*t));
        if (t == NULL) {
            return SCITT_ENOMEM;
        }
        s->tiles = t;
        s->tiles_cap = num_tiles;
    }
    for (size_t i = 0; i < num_tiles; i++) {
        s->tiles[i] = (scitt_store_tile_t){tiles[i].level, tiles[i].index, tiles[i].width, tiles[i].hashes};
    }
    scitt_store_head_t head = {.size = size, .time = time};
    memcpy(head.root, root, 32);
    head.receipt_sig = scitt_span(s->sig, s->sig_len);
    head.receipt_kid = scitt_span(s->sig_kid, SCITT_SHA256_LEN);
    head.checkpoint = scitt_buf_span(&s->note);
    scitt_store_batch_t batch = {.first_index = s->size,
                                 .num_entries = s->num_fresh,
                                 .entries = s->entries,
                                 .entry_hashes = (const uint8_t(*)[32])s->hashes,
                                 .tiles = s->tiles,
                                 .num_tiles = num_tiles,
                                 .head = &head,
                                 .index = s->index,
                                 .num_index = num_index,
                                 .epoch = s->epoch,
                                 .dequeue = s->dequeue,
                                 .num_dequeue = s->num_dequeue};
    double t0 = now_seconds();
    rc = scitt_store_commit(s->seq->store, &batch);
    double dt = now_seconds() - t0;
    atomic_store_explicit(&s->seq->last_commit_ns, (uint64_t)(dt * 1e9), memory_order_relaxed);
    if (rc != 0) {
        count_failure(s->seq, rc);
        s->doubt_size = size; /* kept for settle_doubt, used only after SCITT_EINDOUBT */
        s->doubt_time = time;
        memcpy(s->doubt_root, root, 32);
        return rc;
    }
    s->size = size;
    s->time = time;
    memcpy(s->root, root, 32);
    s->broken = false;
    atomic_store_explicit(&s->seq->tree_size, size, memory_order_relaxed);
    return 0;
}

static const char *describe_failure(int rc)
{
    if (rc == SCITT_ENOSPC) {
        return "the log's storage is full; the statement was not registered, try again later";
    }
    if (rc == SCITT_EUNAVAIL || rc == SCITT_ECONFLICT) {
        return "the log's store is unavailable; the statement was not registered, try again later";
    }
    if (rc == SCITT_EINDOUBT) {
        return "the log lost its store while committing the statement and cannot tell yet whether it was "
               "registered; look it up (GET /entries/{id}) or submit it again later";
    }
    return "the log could not commit the statement; it was not registered, try again later";
}

/* build_answers (phase 1) builds every receipt of the batch into
 * a->receipts under one read transaction; the transaction ends before any
 * completion runs, so a callback may read the store itself. */
static void build_answers(answerer_t *a)
{
    answer_batch_t *b = &a->b;
    scitt_seq_t *seq = a->seq;
    scitt_store_read_t *rd = NULL;
    scitt_merkle_prover_t *prover = NULL;
    bool any_fresh = false;
    for (size_t i = 0; i < b->num_jobs && !any_fresh; i++) {
        any_fresh = b->jobs[i]->kind != SCITT_SEQ__DUP_STORE;
    }
    if (b->fail_rc == 0 && any_fresh) {
        /* The batch committed: the reader's checkpoint moves to it before
         * any of its answers, so a client that has its receipt reads a
         * checkpoint at least as large. A failure leaves the cache behind
         * until the next commit (old, never wrong). */
        if (b->note.len == 0 || scitt_log_advance_to(seq->log, b->size, scitt_buf_span(&b->note)) != 0) {
            (void)scitt_log_advance(seq->log, b->size);
        }
    }
    int rd_rc = scitt_store_read_begin(seq->store, &rd);
    int prover_rc = rd_rc;
    if (rd_rc == 0 && b->fail_rc == 0 && any_fresh) {
        scitt_tile_reader_t reader = scitt_log_tile_reader(seq->log, rd);
        prover_rc = scitt_merkle_prover_new(&prover, NULL, &reader, b->size, 0);
    }
    scitt_buf_reset(&a->receipts);
    for (size_t i = 0; i < b->num_jobs; i++) {
        scitt_seq__job_t *job = b->jobs[i];
        answer_out_t *o = &a->out[i];
        o->off = a->receipts.len;
        if (job->kind == SCITT_SEQ__DUP_STORE) {
            o->rc = rd_rc != 0 ? rd_rc : scitt_log_receipt(seq->log, rd, job->index, &a->receipts);
        } else if (b->fail_rc != 0) {
            o->rc = b->fail_rc;
        } else {
            o->rc = prover_rc != 0 ? prover_rc
                                   : scitt_log__put_receipt(&a->receipts, prover, b->size, scitt_buf_span(&b->prot),
                                                            job->index, scitt_span(b->sig, b->sig_len));
        }
        if (o->rc != 0) {
            a->receipts.len = o->off; /* drop a partial receipt */
        }
        o->len = a->receipts.len - o->off;
        if (o->rc == 0 && job->kind == SCITT_SEQ__NEW) { /* new leaves come in leaf order */
            scitt_log_keep_receipt(seq->log, job->index, job->entry, scitt_span(a->receipts.base + o->off, o->len));
        }
    }
    scitt_merkle_prover_free(prover);
    scitt_store_read_end(rd);
}

/* run_answers (phase 2) runs every completion of the batch, in order. */
static void run_answers(answerer_t *a)
{
    answer_batch_t *b = &a->b;
    scitt_seq__unpend(a->seq, b->jobs, b->num_jobs); /* committed (or refused): no longer pending */
    for (size_t i = 0; i < b->num_jobs; i++) {
        scitt_seq__job_t *job = b->jobs[i];
        const answer_out_t *o = &a->out[i];
        scitt_seq_result_t res = {.has_entry = true, .index = job->index, .rc = o->rc};
        memcpy(res.entry, job->entry, 32);
        if (o->rc == 0) {
            res.existing = job->kind != SCITT_SEQ__NEW;
            res.receipt = scitt_span(a->receipts.base + o->off, o->len);
        } else if (job->kind != SCITT_SEQ__DUP_STORE && b->fail_rc != 0) {
            res.err_desc = describe_failure(b->fail_rc);
        } else {
            /* Committed, but the receipt could not be built now: a retry finds it. */
            res.existing = job->kind != SCITT_SEQ__NEW;
            res.err_desc = "the statement is registered but its receipt could not be built; ask again";
        }
        job->done(job->ctx, &res);
    }
    scitt_seq__free_jobs(b->jobs, b->num_jobs);
    b->num_jobs = 0;
}

static void *answerer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "answer");
    answerer_t *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->busy && !a->stop) {
            pthread_cond_wait(&a->cond, &a->lock);
        }
        if (!a->busy) {
            break; /* stopped and drained */
        }
        pthread_mutex_unlock(&a->lock);
        build_answers(a);
        run_answers(a);
        pthread_mutex_lock(&a->lock);
        a->busy = false;
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* hand_off passes the batch in hand (its jobs, and for committed entries
 * the size, protected header and signature of their receipts) to the
 * answer thread, once it is done with the previous one. Only after the
 * commit returned: that is what makes the receipts durable. Without the
 * thread (it could not start) the batch is answered here. */
static void hand_off(scitt_seq__sequencer_t *s, int fail_rc)
{
    answerer_t *a = &s->ans;
    if (s->seq->sh != NULL) {
        /* no 202 for the batch's direct jobs from here on */
        scitt_seq__shared_answering(s->seq, s->jobs, &s->num_jobs, fail_rc);
    }
    pthread_mutex_lock(&a->lock);
    while (a->busy) {
        pthread_cond_wait(&a->cond, &a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    answer_batch_t *b = &a->b;
    scitt_seq__job_t **jobs = b->jobs;
    b->jobs = s->jobs;
    b->num_jobs = s->num_jobs;
    s->jobs = jobs;
    s->num_jobs = 0;
    b->fail_rc = fail_rc;
    b->size = s->size;
    scitt_buf_reset(&b->prot);
    int rc = fail_rc == 0 ? scitt_buf_append(&b->prot, s->prot.base, s->prot.len) : 0;
    scitt_buf_reset(&b->note);
    if (rc == 0 && fail_rc == 0 && scitt_buf_append(&b->note, s->note.base, s->note.len) != 0) {
        scitt_buf_reset(&b->note); /* build_answers then reads the head from the store */
    }
    if (rc != 0) {
        b->fail_rc = 0;
        b->size = 0; /* the prover then fails: each new entry is answered with an error, retry gets it */
    }
    memcpy(b->sig, s->sig, s->sig_len);
    b->sig_len = s->sig_len;
    if (!a->running) {
        build_answers(a);
        run_answers(a);
        return;
    }
    pthread_mutex_lock(&a->lock);
    a->busy = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

/* has_submissions: the batch in hand holds jobs that are not queue rows. */
static bool has_submissions(const scitt_seq__sequencer_t *s)
{
    for (size_t i = 0; i < s->num_jobs; i++) {
        if (!s->jobs[i]->from_queue) {
            return true;
        }
    }
    return false;
}

static int run_batch(scitt_seq__sequencer_t *s)
{
    atomic_store_explicit(&s->seq->batch_since_ms, (uint64_t)(now_seconds() * 1e3), memory_order_relaxed);
    int rc = s->resync ? rerecover(s) : s->broken ? restore_tree(s) : 0;
    if (rc == 0) {
        scitt_store_read_t *rd;
        rc = scitt_store_read_begin(s->seq->store, &rd);
        if (rc == 0) {
            rc = classify(s, rd);
            scitt_store_read_end(rd);
        }
    }
    if (rc != 0) {
        /* Nothing is known about the batch: answer all of it with the error. */
        for (size_t i = 0; i < s->num_jobs; i++) {
            s->jobs[i]->kind = SCITT_SEQ__NEW;
        }
        s->num_fresh = 0;
    }
    if (rc == 0 && s->num_fresh > 0) {
        int64_t t = (int64_t)time(NULL);
        rc = integrate(s, t > s->time ? t : s->time);
        if (rc == SCITT_ECONFLICT) {
            (void)rerecover(s); /* the log end moved: start again from the store */
        } else if (rc != 0 && rc != SCITT_EINDOUBT && restore_tree(s) != 0) {
            s->broken = true; /* retried before the next batch */
        }
    }
    atomic_fetch_add_explicit(&s->seq->batches, 1, memory_order_relaxed);
    atomic_store_explicit(&s->seq->last_batch_size, s->num_jobs, memory_order_relaxed);
    if (rc != 0 || s->num_fresh > 0) { /* a batch of repeats alone commits nothing */
        atomic_store_explicit(&s->seq->commit_rc, rc, memory_order_relaxed);
    }
    if (rc == SCITT_EINDOUBT && (!s->seq->shared || has_submissions(s))) {
        s->doubt = true; /* held, unanswered, until settle_doubt */
        s->stop_tries = 0;
        atomic_store_explicit(&s->seq->in_doubt, true, memory_order_relaxed);
    } else {
        /* A shared store keeps no batch of queue rows alone in doubt: its
         * rows stay queued until a commit removes them, so after any
         * failure the next batch recovers from the store and takes them
         * again. A batch with submissions of this process (shared.c's
         * direct path: no queue row) is held as above. */
        s->resync = s->resync || (rc != 0 && s->seq->shared);
        hand_off(s, rc);
    }
    atomic_store_explicit(&s->seq->batch_since_ms, 0, memory_order_relaxed);
    return rc;
}

bool scitt_seq__batch_add(scitt_seq__sequencer_t *s, scitt_seq__job_t *job)
{
    if (s->num_jobs == s->cap) {
        return false;
    }
    s->jobs[s->num_jobs++] = job;
    return true;
}

int scitt_seq__batch_run(scitt_seq__sequencer_t *s, uint64_t epoch, const uint8_t (*dequeue)[32], size_t num_dequeue,
                         size_t *out_fresh)
{
    s->epoch = epoch;
    s->dequeue = dequeue;
    s->num_dequeue = num_dequeue;
    int rc = run_batch(s);
    *out_fresh = rc == 0 ? s->num_fresh : 0;
    if (!s->doubt) { /* a batch held in doubt runs again with the same rows */
        s->dequeue = NULL;
        s->num_dequeue = 0;
    }
    return rc;
}

void scitt_seq__resync(scitt_seq__sequencer_t *s)
{
    s->resync = true;
}

/* settle_doubt decides the batch held in doubt once scitt_store_maintain
 * returned 0 (see the top): 0 when it was answered, else the read error
 * (still in doubt; tried again later). */
static int settle_doubt(scitt_seq__sequencer_t *s)
{
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    int rc = scitt_store_read_begin(s->seq->store, &rd);
    if (rc != 0) {
        return rc;
    }
    rc = scitt_store_get_head(rd, s->doubt_size, &head);
    bool committed = rc == 0 && memcmp(head.root, s->doubt_root, 32) == 0, moved = false;
    if (rc == 0 || rc == SCITT_ENOTFOUND) {
        /* Not committed: the log end is where it was, or it moved under us. */
        rc = scitt_store_get_latest_head(rd, &head);
        if (rc == 0) {
            moved = head.size != s->size || memcmp(head.root, s->root, 32) != 0;
        } else if (rc == SCITT_ENOTFOUND) {
            moved = s->size != 0;
            rc = 0;
        }
    }
    scitt_store_read_end(rd);
    if (rc != 0) {
        return rc;
    }
    s->doubt = false;
    atomic_store_explicit(&s->seq->in_doubt, false, memory_order_relaxed);
    if (committed) {
        s->size = s->doubt_size;
        s->time = s->doubt_time;
        memcpy(s->root, s->doubt_root, 32);
        s->broken = false;
        atomic_store_explicit(&s->seq->tree_size, s->size, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->seq->in_doubt_committed, 1, memory_order_relaxed);
        atomic_store_explicit(&s->seq->commit_rc, 0, memory_order_relaxed);
        hand_off(s, 0);
        return 0;
    }
    /* Not committed: the same batch runs again, from the tree restored at
     * `size` (`broken` is still set) or, when the log moved, from the
     * store, so a registration answered 202 while in doubt still ends in its
     * entry (its GET turns 200), never in a 404. */
    atomic_fetch_add_explicit(&s->seq->in_doubt_rolled_back, 1, memory_order_relaxed);
    s->resync = moved;
    (void)run_batch(s);
    return 0;
}

/* give_up_doubt answers a batch still in doubt when the pipeline stops and
 * the store stays out of reach: outcome unknown; recover before any other
 * batch. */
static void give_up_doubt(scitt_seq__sequencer_t *s)
{
    s->doubt = false;
    s->resync = true;
    atomic_store_explicit(&s->seq->in_doubt, false, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->seq->in_doubt_given_up, 1, memory_order_relaxed);
    hand_off(s, SCITT_EINDOUBT);
}

bool scitt_seq__doubt_step(scitt_seq__sequencer_t *s, bool stopping)
{
    if (!s->doubt) {
        return false;
    }
    if (scitt_store_maintain(s->seq->store) == 0 && settle_doubt(s) == 0) {
        return s->doubt; /* a batch run again may be in doubt again */
    }
    if (stopping && ++s->stop_tries > DOUBT_STOP_TRIES) {
        give_up_doubt(s);
        return false;
    }
    return true;
}

/* linger: when verification is the bottleneck (statements wait for a
 * verify worker) and the previous batch had several jobs, wait up to
 * linger_ns for the queue to hold twice that many before taking a batch.
 * Commits cost a fixed amount of CPU (two fsyncs, wakeups of the answer
 * thread and the loop), so fewer, fuller batches leave more of it to
 * verification; the latency added is bounded by linger_ns, and below
 * saturation (nothing waits for a worker) there is none, and the wait ends
 * as soon as nothing does. The workers wake the sequencer only at the
 * target (sq_wake_at) or when the verify queue runs empty, not at every
 * job. Called and returns with sq_lock held. */
static void linger(scitt_seq_t *seq, size_t last, size_t cap)
{
    size_t want = last * 2 < cap ? last * 2 : cap;
    if (seq->linger_ns == 0 || last < 4 || seq->sq.num >= want || seq->sq_closed || seq->hold ||
        atomic_load_explicit(&seq->vq_waiting, memory_order_relaxed) == 0) {
        return;
    }
    struct timespec until;
    scitt_deadline(&until, seq->linger_ns);
    seq->sq_wake_at = want;
    while (seq->sq.num < want && !seq->sq_closed && atomic_load_explicit(&seq->vq_waiting, memory_order_relaxed) != 0 &&
           pthread_cond_timedwait(&seq->sq_cond, &seq->sq_lock, &until) == 0) {
    }
    seq->sq_wake_at = 1;
}

void scitt_seq__answerer_start(scitt_seq__sequencer_t *s)
{
    answerer_t *a = &s->ans;
    a->running = pthread_create(&a->thread, NULL, answerer_main, a) == 0;
    if (!a->running) {
        fprintf(stderr, "scittd: seq: cannot start the answer thread; answering on the sequencer\n");
    }
}

void scitt_seq__answerer_stop(scitt_seq__sequencer_t *s)
{
    answerer_t *a = &s->ans;
    if (a->running) {
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL); /* it answers the batch in hand first */
        a->running = false;
    }
}

void *scitt_seq__sequencer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "sequencer");
    scitt_seq_t *seq = arg;
    scitt_seq__sequencer_t *s = seq->sequencer;
    scitt_seq__answerer_start(s);
    size_t last = 0; /* jobs in the previous batch */
    for (;;) {
        /* The store's repairs first (an entry index broken by a failed
         * insert fails every lookup and with them every classify; a lost
         * connection), and while they fail try again every second even
         * with nothing queued, so lookups (GET by id) come back once the
         * cause is gone. A batch in doubt is settled once they succeed. */
        bool broken = scitt_store_maintain(seq->store) != 0, retry = false;
        if (s->doubt && !broken) {
            broken = settle_doubt(s) != 0;
        }
        pthread_mutex_lock(&seq->sq_lock);
        while (!retry) {
            bool drained = seq->sq_closed && seq->workers_alive == 0;
            if (s->doubt) { /* no other batch; a stop waits DOUBT_STOP_TRIES tries */
                if (drained && s->stop_tries >= DOUBT_STOP_TRIES) {
                    break;
                }
                s->stop_tries += drained;
            } else if ((seq->sq.num > 0 && !seq->hold) || (drained && seq->sq.num == 0)) {
                break;
            }
            if (!broken && !s->doubt) {
                pthread_cond_wait(&seq->sq_cond, &seq->sq_lock);
            } else {
                struct timespec until;
                scitt_deadline(&until, REPAIR_RETRY_NS);
                retry = pthread_cond_timedwait(&seq->sq_cond, &seq->sq_lock, &until) == ETIMEDOUT;
            }
        }
        if (retry || s->doubt) {
            pthread_mutex_unlock(&seq->sq_lock);
            if (!retry) {
                give_up_doubt(s);
            }
            continue;
        }
        linger(seq, last, s->cap);
        if (seq->hold) { /* set while lingering (tests): take nothing yet */
            pthread_mutex_unlock(&seq->sq_lock);
            continue;
        }
        while (s->num_jobs < s->cap && seq->sq.num > 0) {
            s->jobs[s->num_jobs++] = scitt_seq__fifo_pop(&seq->sq);
        }
        pthread_mutex_unlock(&seq->sq_lock);
        if (s->num_jobs == 0) {
            break;
        }
        last = s->num_jobs;
        (void)run_batch(s);
    }
    scitt_seq__answerer_stop(s);
    return NULL;
}
