/*
 * seq.h: the registration pipeline behind POST /entries (DESIGN.md section 1):
 * a verify pool of W threads and one sequencer thread, the only LMDB writer.
 *
 *   scitt_seq_submit ──▶ [verify queue] ──▶ verify pool (policy, signature,
 *   normalise, entry hash) ──▶ [sequencer queue] ──▶ sequencer: repeats, index,
 *   batched Merkle append, one LMDB transaction with the signed tree head,
 *   commit (fsync) ──▶ answer thread: completions with each entry's receipt
 *
 * Natural group commit: while one batch commits, the next accumulates; when
 * the commit returns, everything queued (up to batch_max) is the next batch.
 * Durability: a completion with a receipt is delivered only after the LMDB
 * commit holding its entry returned success.
 *
 * Completions run on a pipeline thread (verify pool for rejections, the
 * sequencer's answer thread for accepted entries: it builds the receipts of
 * a committed batch and runs its completions, in order, while the sequencer
 * commits the next batch); the callback must be quick and must not
 * call back into this module except scitt_seq_is_pending. The HTTP front end
 * posts them to its loop (uv_async_send).
 *
 * Threading: scitt_seq_submit, scitt_seq_is_pending, scitt_seq_stats and
 * scitt_seq_log may be called from any thread at any time between
 * scitt_seq_start and scitt_seq_stop (submit answers SCITT_ESHUTDOWN once
 * stop began). scitt_seq_stop and scitt_seq_free are called once, by the
 * owner, never from a completion callback. The store may be read by other
 * threads meanwhile (read transactions); only the sequencer writes it.
 * Keys and policy are borrowed and must outlive the pipeline.
 */
#ifndef SCITT_SEQ_H
#define SCITT_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#include "scitt/core.h"
#include "scitt/crypto.h"
#include "scitt/log.h"
#include "scitt/note.h"
#include "scitt/store.h"
#include "scitt/verify.h"

/* The service's signing identity, the keyring in the keys folder (issue
 * 21, docs/DECISIONS.md "Key rotation"): the active keys at fixed names,
 * service-es256.pem (receipts) and checkpoint-ed25519.key (checkpoints),
 * and every retired key under retired/, named by its kid. A folder from
 * before rotation is a keyring with no retired keys. */
#define SCITT_SEQ_MAX_OLD_KEYS 64
typedef struct scitt_seq_keys {
    scitt_key_t *receipt_key;              /* ES256, private: the active one */
    uint8_t receipt_kid[SCITT_SHA256_LEN]; /* RFC 9679 thumbprint */
    scitt_key_t *checkpoint_key;           /* Ed25519, private: the active one */
    /* Retired keys, oldest name first (public halves are what is used). */
    size_t num_old_receipt;
    scitt_key_t *old_receipt[SCITT_SEQ_MAX_OLD_KEYS];
    uint8_t old_receipt_kid[SCITT_SEQ_MAX_OLD_KEYS][SCITT_SHA256_LEN];
    size_t num_old_checkpoint;
    scitt_key_t *old_checkpoint[SCITT_SEQ_MAX_OLD_KEYS];
    /* The log's first receipt key (meta receipt_kid): heads stored without
     * a kid were signed by it. */
    uint8_t first_receipt_kid[SCITT_SHA256_LEN];
    /* A checkpoint key rotation's transition: until `cosign_until` (unix
     * seconds) checkpoints are signed by `cosign_key` (one of
     * old_checkpoint, borrowed) as well; NULL when none. */
    const scitt_key_t *cosign_key;
    int64_t cosign_until;
} scitt_seq_keys_t;

/* scitt_seq_keys_load loads the keyring from `dir`, creating the active keys
 * (mode 0600, written atomically) on first start, and checks them against the
 * key ids recorded in the store's meta (recording them the first time): the
 * recorded id must be the active key or a retired one. Refuses
 * (SCITT_EBADKEY / -errno, with a reason) keys that are unreadable or do not
 * match meta. A key file that is missing while meta records an id is
 * refused (SCITT_ENOENT), never recreated; a key file other users may access
 * is refused (SCITT_EACCES). `*out_err_desc` points into a per-thread buffer
 * valid until the next call on that thread. The keys are newly allocated:
 * release them with scitt_seq_keys_cleanup (safe on a zeroed struct). */
int scitt_seq_keys_load(scitt_seq_keys_t *keys, const char *dir, scitt_store_t *st, const char **out_err_desc);
void scitt_seq_keys_cleanup(scitt_seq_keys_t *keys);

/* scitt_seq_keys_receipt_key: the receipt key (active or retired) whose kid
 * is `kid`, the first key's for an empty kid; NULL when none. */
const scitt_key_t *scitt_seq_keys_receipt_key(const scitt_seq_keys_t *keys, scitt_span_t kid);

/* scitt_seq_keys_cosigner: the retired checkpoint key that still signs at
 * unix time `now` (a rotation's transition), or NULL. */
const scitt_key_t *scitt_seq_keys_cosigner(const scitt_seq_keys_t *keys, int64_t now);

/* scitt_seq_keys_verifiers fills `out` (room for 1 + SCITT_SEQ_MAX_OLD_KEYS)
 * with the note verifiers of every checkpoint key, the active one first,
 * named `origin`; `*out_num` says how many. Release them with
 * scitt_note_verifier_cleanup. */
int scitt_seq_keys_verifiers(const scitt_seq_keys_t *keys, const char *origin, scitt_note_verifier_t *out,
                             size_t *out_num);

/* scitt_seq_keys_rotate (`scittd keys rotate`) retires the active receipt
 * and/or checkpoint key of the keyring in `dir` and makes a new one active,
 * under an exclusive flock on dir/keys.lock: the old key is first written to
 * retired/ by kid, then the new one replaces the active file (temporary file,
 * fsync, rename), so a reader sees the old keyring or the new one. A
 * retired checkpoint key co-signs for `transition_s` seconds. `msg` gets a
 * line per key rotated, or the reason of a failure. */
int scitt_seq_keys_rotate(const char *dir, bool receipt, bool checkpoint, int64_t transition_s, char *msg, size_t cap);

typedef struct scitt_seq_config {
    scitt_store_t *store;
    const scitt_seq_keys_t *keys;
    const scitt_policy_t *policy; /* NULL only in tests and benchmarks (scitt_seq_submit then fails) */
    const char *origin;           /* checkpoint origin and receipt iss; default "localhost/scittd" */
    unsigned workers;             /* verify threads; 0 means the number of CPUs */
    size_t batch_max;             /* entries per batch; 0 means 16384; capped at max_pending */
    size_t max_pending;           /* statements accepted but not yet answered; 0 means 100000 */
    size_t max_pending_bytes;     /* and their bytes; 0 means 64 MiB (one statement is always let in) */
    bool bench_no_index;          /* benchmarks only: write no secondary index records (issue 10) */
    /* The log reader whose caches the answer thread fills and which
     * scitt_seq_start and every commit advance (scitt_log_advance); made
     * with the same store, receipt kid and origin. NULL: the pipeline makes
     * its own from the two sizes below and frees it with the pipeline. */
    scitt_log_reader_t *log;
    size_t tile_cache_bytes; /* own reader: full tiles' hashed interiors kept for receipts; 0 means 32 MiB */
    size_t
        receipt_cache_bytes; /* own reader: receipts of the latest leaves kept as built; 0 means 32 MiB, < 4 KiB off */
    uint64_t commit_linger_us; /* a busy sequencer waits up to this long for a fuller batch; 0 means 2000,
                                * SCITT_SEQ_LINGER_OFF none */
    /* guard, when set, approves the store's latest head (NULL: an empty
     * log) at every recovery: at start and whenever the log end moved.
     * Nonzero refuses it (the start fails, or the sequencer stays
     * unrecovered and commits nothing) with a reason in `msg`. Runs on the
     * starting thread or the sequencer thread, with `rd` open. The
     * publisher (src/publish) refuses a database behind what it published. */
    int (*guard)(void *ctx, scitt_store_read_t *rd, const scitt_store_head_t *head, char *msg, size_t cap);
    void *guard_ctx;
    /* A shared store (scitt_store_shared: several processes, one log): the
     * sequencer lease's length; 0 means SCITT_SEQ_DEFAULT_LEASE_MS. */
    unsigned lease_ms;
    /* A shared store: the lease holder commits its own statements directly
     * (no queue row) while its commits are fast; a direct batch still
     * committing after this long is queued as well, so the front end can
     * give its 202. scittd passes --register-wait-ms / 2; 0 means 1000. */
    unsigned direct_rescue_ms;
} scitt_seq_config_t;

/* The default sequencer lease on a shared store (milliseconds). */
#define SCITT_SEQ_DEFAULT_LEASE_MS 3000

/* The default bounds of the caches of the pipeline's own reader (log.h). */
#define SCITT_SEQ_DEFAULT_TILE_CACHE    SCITT_LOG_DEFAULT_TILE_CACHE
#define SCITT_SEQ_DEFAULT_RECEIPT_CACHE SCITT_LOG_DEFAULT_RECEIPT_CACHE
/* The default commit linger (microseconds): see commit_linger_us. */
#define SCITT_SEQ_DEFAULT_LINGER_US 2000
#define SCITT_SEQ_LINGER_OFF        UINT64_MAX

typedef struct scitt_seq scitt_seq_t;

/* The answer to one submission. On success (rc 0) `index` is the entry's
 * leaf index and `receipt` its COSE receipt (borrowed for the callback's
 * duration); `existing` tells a duplicate of an entry already logged. On
 * failure rc is the rejection code (scitt_cose_problem_for maps it) and
 * `err_desc` a static reason. `entry` is set whenever the statement parsed. */
typedef struct scitt_seq_result {
    int rc;
    const char *err_desc;
    bool has_entry;
    uint8_t entry[SCITT_SHA256_LEN];
    uint64_t index;
    bool existing;
    scitt_span_t receipt;
} scitt_seq_result_t;

typedef void (*scitt_seq_done_cb)(void *ctx, const scitt_seq_result_t *res);
/* A statement passed the policy (signature included) and is pending as
 * `entry`: scitt_seq_is_pending reports it from now on. Runs on a verify
 * thread, before `done`, and only for statements that passed. */
typedef void (*scitt_seq_verified_cb)(void *ctx, const uint8_t entry[SCITT_SHA256_LEN]);

/* scitt_seq_start recovers the log (the frontier rebuilt from tiles must
 * reproduce the latest head's root; SCITT_ECORRUPT otherwise, with a reason)
 * and starts the threads. Recovery also checks that the entry at size - 1
 * exists and none at size, that the receipt of the last leaf rebuilt from
 * the store verifies with the service key, and that the latest checkpoint
 * verifies. The origin must equal the one meta recorded when the log was
 * created (SCITT_EINVAL otherwise); an empty log records it. `*out_err_desc`
 * is static text. */
int scitt_seq_start(scitt_seq_t **out, const scitt_seq_config_t *cfg, const char **out_err_desc);

/* A submission that can be taken back while it waits for verification.
 * The caller owns the ticket and keeps it valid until `done` ran or
 * scitt_seq_cancel returned true; the pipeline touches it under its lock. */
typedef struct scitt_seq_ticket {
    void *job; /* the queued submission; NULL once a verify thread took it */
} scitt_seq_ticket_t;

/* scitt_seq_submit queues `body` (copied) for registration. `done` runs
 * exactly once, later, on a pipeline thread; `verified` (may be NULL) runs
 * before it when the policy passed. The body is not looked at on the
 * calling thread: decoding, hashing and the policy run in the verify pool,
 * which also reports the entry id (`verified`, or `done`). Returns SCITT_EFULL without
 * queueing when max_pending statements, or max_pending_bytes of them, are
 * in flight (answer 503), and
 * SCITT_ESHUTDOWN after scitt_seq_stop began, SCITT_ENOMEM; `done` is not
 * called when submit fails.
 *
 * Answers: rc 0 with the receipt; a rejection code from scitt_policy_check;
 * SCITT_ENOSPC (storage full), SCITT_EUNAVAIL (store unreachable),
 * SCITT_ECONFLICT (the log end moved) or another store error when the batch
 * could not be committed (nothing of it was logged: answer 503, the client
 * may retry); rarely, for an entry that IS committed, an error building its
 * receipt (a retry gets the receipt as a duplicate). A commit whose outcome
 * is unknown (SCITT_EINDOUBT: the connection was lost during it) holds its
 * batch unanswered, and the sequencer takes no other batch, until
 * scitt_store_maintain lets it read the store again: then it answers the
 * batch as committed (receipts) or not (SCITT_EUNAVAIL). Only a stop that
 * finds the store still unreachable after a few tries answers SCITT_EINDOUBT
 * (registered or not is unknown; a retry finds out). The first occurrence of
 * a statement has existing = false; a repeat, in the same batch or later,
 * has existing = true, the same index and byte-identical receipt.
 *
 * `ticket` (may be NULL) makes the submission cancellable: see
 * scitt_seq_cancel. */
int scitt_seq_submit(scitt_seq_t *seq, const uint8_t *body, size_t len, scitt_seq_done_cb done,
                     scitt_seq_verified_cb verified, void *ctx, scitt_seq_ticket_t *ticket);

/* scitt_seq_cancel takes a submission back (its client went away) if no
 * verify thread has taken it yet: true, and it left the queue and freed its
 * slot at once, nothing is logged and `done` will not run. False: it is
 * being (or was) verified and is answered as usual. Call it on the thread
 * that submitted, at most once, while the ticket is alive (until the
 * caller has processed `done`; a job a verify thread took has already left
 * the ticket, so a late call is a harmless false). */
bool scitt_seq_cancel(scitt_seq_t *seq, scitt_seq_ticket_t *ticket);

/* scitt_seq_is_pending reports whether an entry is accepted but not yet
 * answered (GET /entries/{id} answers 204 then). Thread-safe. An entry
 * leaves the pending set only after its commit returned, so check pending
 * FIRST and the store second: pending, then 204; not pending and not in the
 * store, then 404 (checked the other way round, an entry committed between
 * the two calls would look absent). */
bool scitt_seq_is_pending(scitt_seq_t *seq, const uint8_t entry[SCITT_SHA256_LEN]);

/* scitt_seq_stop drains both queues: everything submitted before it is
 * verified, committed and answered; then the threads exit. Idempotent.
 * scitt_seq_free stops first when needed; NULL is a no-op. */
void scitt_seq_stop(scitt_seq_t *seq);
void scitt_seq_free(scitt_seq_t *seq);

/* Why a batch's commit failed (scitt_seq_stats_t.commit_failures). */
enum {
    SCITT_SEQ_FAIL_UNAVAIL,  /* the store could not be reached (SCITT_EUNAVAIL) */
    SCITT_SEQ_FAIL_CONFLICT, /* the log end moved (SCITT_ECONFLICT) */
    SCITT_SEQ_FAIL_NOSPACE,  /* storage full (SCITT_ENOSPC) */
    SCITT_SEQ_FAIL_INDOUBT,  /* outcome unknown (SCITT_EINDOUBT), settled later */
    SCITT_SEQ_FAIL_OTHER,    /* any other error (I/O, memory) */
    SCITT_SEQ_FAIL_NUM
};

/* Pipeline gauges for /metrics (approximate, read without locks). */
typedef struct scitt_seq_stats {
    uint64_t tree_size;
    size_t pending;
    uint64_t batches;
    uint64_t last_batch_size;
    double last_commit_seconds;
    size_t tile_cache_bytes;                      /* held by the tile cache */
    uint64_t tile_cache_hits, tile_cache_misses;  /* its tile lookups */
    uint64_t commit_failures[SCITT_SEQ_FAIL_NUM]; /* failed commits by cause */
    /* Commits in doubt, once settled: found committed (answered with
     * receipts) or not (answered 503), or given up at stop. */
    uint64_t in_doubt_committed, in_doubt_rolled_back, in_doubt_given_up;
    bool in_doubt; /* a batch waits for its commit's outcome now */
    /* A shared store: this process holds the sequencer lease; the writer
     * epoch it last held; lease takeovers; statements it queued; rows its
     * last queue_take returned (the hand-off queue as the holder saw it);
     * its own statements it committed directly, without a queue row. */
    bool shared, sequencer;
    uint64_t writer_epoch, lease_takeovers, queue_puts, handoff_depth, direct_commits;
    /* The policy's cache of validated x5chain chains: lookups by result. */
    uint64_t x5chain_cache_hits, x5chain_cache_misses;
} scitt_seq_stats_t;
void scitt_seq_stats(scitt_seq_t *seq, scitt_seq_stats_t *out);

/* scitt_seq_health tells whether the pipeline can register (/healthz): it
 * returns the error of the last batch that could not be committed while
 * none has committed since (0 otherwise), and sets `*out_batch_seconds` to
 * how long the batch in hand has been running (0 when idle; a sequencer
 * stuck in a commit). Lock-free, any thread. */
int scitt_seq_health(scitt_seq_t *seq, double *out_batch_seconds);

/* scitt_seq_set_keys makes `keys` the keyring the pipeline signs with from
 * its next batch on (a keyring reloaded after `scittd keys rotate`); any
 * thread. Both keyrings must outlive the pipeline (the old one may still be
 * in use by a batch being signed). */
void scitt_seq_set_keys(scitt_seq_t *seq, const scitt_seq_keys_t *keys);

/* scitt_seq_log is the log reader the pipeline advances (its own or the
 * configured one): receipts, checkpoints and tiles of the committed log
 * come from it (log.h). Valid until scitt_seq_free. */
scitt_log_reader_t *scitt_seq_log(scitt_seq_t *seq);

#endif /* SCITT_SEQ_H */
