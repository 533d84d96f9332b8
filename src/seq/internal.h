/*
 * internal.h: what the files of src/seq share, and the internal entry points
 * the tests and the benchmark use (never the front end).
 *
 * A submission travels as one scitt_seq__job_t, allocated by the submitting
 * thread and freed by whichever pipeline thread answers it: a verify thread
 * for a rejection, the sequencer for everything accepted. Between the
 * threads it moves only through the two mutex-protected FIFOs, so exactly one
 * thread owns a job at any time.
 */
#ifndef SCITT_SRC_SEQ_INTERNAL_H
#define SCITT_SRC_SEQ_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "scitt/merkle.h"
#include "scitt/note.h"
#include "scitt/seq.h"

#define SCITT_SEQ__DEFAULT_ORIGIN      "localhost/scittd"
#define SCITT_SEQ__DEFAULT_BATCH_MAX   16384
#define SCITT_SEQ__DEFAULT_MAX_PENDING 100000

/* Meta keys this module owns (hex of 32-byte thumbprints, and the origin). */
#define SCITT_SEQ__META_RECEIPT_KID    "receipt_kid"
#define SCITT_SEQ__META_CHECKPOINT_KID "checkpoint_kid"
#define SCITT_SEQ__META_ORIGIN         "origin"

/* Index keys per statement: iss, signing key, sub, artifact. */
#define SCITT_SEQ__MAX_KEYS SCITT_STORE_INDEX_FIELDS

/* How the sequencer classified a job. */
enum { SCITT_SEQ__NEW, SCITT_SEQ__DUP_BATCH, SCITT_SEQ__DUP_STORE };

typedef struct scitt_seq__job {
    struct scitt_seq__job *next, *prev;
    scitt_seq_done_cb done;
    scitt_seq_verified_cb verified; /* may be NULL */
    void *ctx;
    scitt_seq_ticket_t *ticket; /* of a cancellable submission, while in the verify queue */
    uint8_t entry[SCITT_SHA256_LEN];
    uint64_t index;   /* set by the sequencer */
    uint8_t kind;     /* SCITT_SEQ__NEW etc., set by the sequencer */
    bool in_pending;  /* counted in the pending set */
    uint8_t num_keys; /* index keys of the statement (issue 10) */
    uint64_t keys[SCITT_SEQ__MAX_KEYS];
    size_t len; /* bytes in data: the body, then the normalised statement */
    size_t cap; /* room in data; body length + 1 (normalising may add the tag) */
    /* A shared store (shared.c). */
    bool from_queue;                  /* a row of the hand-off queue: never counted as pending */
    uint64_t seen_size;               /* the log size known when it was queued (held jobs) */
    struct scitt_seq__job *held_next; /* its bucket's chain in the held set */
    uint8_t data[];
} scitt_seq__job_t;

typedef struct scitt_seq__fifo {
    scitt_seq__job_t *head, *tail;
    size_t num;
} scitt_seq__fifo_t;

void scitt_seq__fifo_push(scitt_seq__fifo_t *q, scitt_seq__job_t *job);
scitt_seq__job_t *scitt_seq__fifo_pop(scitt_seq__fifo_t *q);
/* scitt_seq__fifo_unlink takes `job` out of `q`, wherever it is. */
void scitt_seq__fifo_unlink(scitt_seq__fifo_t *q, scitt_seq__job_t *job);

/* The pending set: entry hash -> number of accepted, uncommitted jobs with
 * that entry, an open-addressing table sized at start for max_pending
 * entries so inserting never allocates. Guarded by its own mutex. */
typedef struct scitt_seq__pendset {
    pthread_mutex_t lock;
    struct scitt_seq__pend_slot *slots;
    size_t mask;
} scitt_seq__pendset_t;

int scitt_seq__pendset_init(scitt_seq__pendset_t *ps, size_t max_entries);
void scitt_seq__pendset_cleanup(scitt_seq__pendset_t *ps);
void scitt_seq__pendset_add(scitt_seq__pendset_t *ps, const uint8_t entry[32]);
/* scitt_seq__pendset_remove_batch removes the entries of every job of the
 * list that is counted (in_pending) under one lock. */
void scitt_seq__pendset_remove_jobs(scitt_seq__pendset_t *ps, scitt_seq__job_t *const *jobs, size_t num);
bool scitt_seq__pendset_has(scitt_seq__pendset_t *ps, const uint8_t entry[32]);

typedef struct scitt_seq__sequencer scitt_seq__sequencer_t;
typedef struct scitt_seq__shared scitt_seq__shared_t;

struct scitt_seq {
    scitt_store_t *store;
    /* Swapped by scitt_seq_set_keys (a keyring reloaded on SIGHUP); each
     * use loads it once. */
    _Atomic(const scitt_seq_keys_t *) keys;
    const scitt_policy_t *policy;
    char *origin;
    size_t batch_max;
    size_t max_pending;
    size_t max_pending_bytes; /* statement bytes held by pending jobs (job->cap) */
    atomic_size_t pending_bytes;
    unsigned workers;
    bool bench_no_index;     /* benchmarks only: no index records */
    scitt_log_reader_t *log; /* its tile cache and recent receipts, fed by the answer thread */
    bool own_log;            /* made by scitt_seq_start, freed with the pipeline */
    int (*guard)(void *ctx, scitt_store_read_t *rd, const scitt_store_head_t *head, char *msg, size_t cap);
    void *guard_ctx; /* scitt_seq_config_t.guard */

    /* Submissions accepted and not yet answered (both queues and the batch
     * in hand). Bounded by max_pending. */
    atomic_size_t pending;
    atomic_size_t vq_waiting; /* statements queued for verification, not yet taken by a worker */

    /* Verify queue: submit -> verify pool. */
    pthread_mutex_t vq_lock;
    pthread_cond_t vq_cond;
    scitt_seq__fifo_t vq;
    bool stopping; /* no more submissions; pool threads exit once vq is empty */

    /* Sequencer queue: verify pool (and scitt_seq__submit_entry) -> sequencer. */
    pthread_mutex_t sq_lock;
    pthread_cond_t sq_cond;
    scitt_seq__fifo_t sq;
    unsigned workers_alive; /* the sequencer exits when 0, sq_closed and sq is empty */
    bool sq_closed;
    bool hold;          /* tests: the sequencer takes no batch while set */
    size_t sq_wake_at;  /* queue_verified wakes the sequencer at this many queued jobs */
    uint64_t linger_ns; /* how long a busy sequencer waits for a fuller batch */

    scitt_seq__pendset_t pendset;

    pthread_t *pool_threads;
    unsigned num_pool_threads;
    pthread_t seq_thread;
    bool seq_thread_started;
    bool stopped;

    scitt_seq__sequencer_t *sequencer; /* sequencer-thread state */

    /* A shared store (several processes, one log: shared.c). */
    bool shared;
    unsigned lease_ms;
    scitt_seq__shared_t *sh;
    atomic_bool is_sequencer; /* holds the lease now */
    atomic_uint_fast64_t writer_epoch, lease_takeovers, queue_puts, handoff_depth;
    atomic_uint_fast64_t direct_commits; /* submissions the holder committed without a queue row */
    unsigned rescue_ms;                  /* a direct batch still committing after this long is queued too (shared.c) */

    /* Gauges (relaxed atomics). */
    atomic_uint_fast64_t tree_size;
    atomic_uint_fast64_t batches;
    atomic_uint_fast64_t last_batch_size;
    atomic_uint_fast64_t last_commit_ns;
    /* Health (/healthz): the error of the last batch that could not commit
     * while none has committed since (else 0), and when the batch in hand
     * began (CLOCK_MONOTONIC milliseconds; 0 when idle). */
    atomic_int commit_rc;
    atomic_uint_fast64_t batch_since_ms;
    /* Failed commits by cause, and commits in doubt (scitt_seq_stats_t). */
    atomic_uint_fast64_t commit_failures[SCITT_SEQ_FAIL_NUM];
    atomic_uint_fast64_t in_doubt_committed, in_doubt_rolled_back, in_doubt_given_up;
    atomic_bool in_doubt;
};

/* scitt_seq__job_new allocates a job holding a copy of `len` bytes. */
scitt_seq__job_t *scitt_seq__job_new(const uint8_t *body, size_t len, scitt_seq_done_cb done, void *ctx);

/* scitt_seq__job_keys sets the job's index keys from the decoded statement
 * `s` (each audit field that is present; none when bench_no_index). */
void scitt_seq__job_keys(const scitt_seq_t *seq, scitt_seq__job_t *job, const scitt_cose_sign1_t *s);

/* scitt_seq__pend puts a job's entry in the pending set (GET answers 204
 * for it), once: unpend takes it out again. */
void scitt_seq__pend(scitt_seq_t *seq, scitt_seq__job_t *job);
/* scitt_seq__unpend is called just before `num` jobs are answered: it
 * takes them out of the pending set and the pending count, so a client
 * that hears back can submit again at once and a waiter that looks at the
 * gauges after its answer sees them settled. */
void scitt_seq__unpend(scitt_seq_t *seq, scitt_seq__job_t *const *jobs, size_t num);
/* scitt_seq__free_jobs frees `num` answered jobs. */
void scitt_seq__free_jobs(scitt_seq__job_t *const *jobs, size_t num);

/* Pool (pool.c). */
int scitt_seq__pool_start(scitt_seq_t *seq);
void *scitt_seq__pool_main(void *arg);
/* scitt_seq__queue_verified hands an accepted job to the sequencer:
 * SCITT_ESHUTDOWN once the sequencer queue is closed. */
int scitt_seq__queue_verified(scitt_seq_t *seq, scitt_seq__job_t *job);

/* Sequencer (sequencer.c). scitt_seq__sequencer_new recovers the log from
 * the store (SCITT_ECORRUPT with a reason when it is inconsistent). */
int scitt_seq__sequencer_new(scitt_seq_t *seq, const char **out_err_desc);
void scitt_seq__sequencer_free(scitt_seq__sequencer_t *s);
void *scitt_seq__sequencer_main(void *arg);

/* The pieces of the sequencer shared.c drives on a shared store: the
 * answer thread (started and stopped by the thread that runs batches);
 * adding a job to the batch in hand (false when it is full); running it
 * (classify, integrate, commit with `epoch` and `dequeue`, hand-off to the
 * answer thread): 0, or the error every new entry was answered with, and
 * `*out_fresh` the entries it committed; and `resync`, which makes the next
 * batch recover from the store first. */
void scitt_seq__answerer_start(scitt_seq__sequencer_t *s);
void scitt_seq__answerer_stop(scitt_seq__sequencer_t *s);
bool scitt_seq__batch_add(scitt_seq__sequencer_t *s, scitt_seq__job_t *job);
int scitt_seq__batch_run(scitt_seq__sequencer_t *s, uint64_t epoch, const uint8_t (*dequeue)[32], size_t num_dequeue,
                         size_t *out_fresh);
void scitt_seq__resync(scitt_seq__sequencer_t *s);
/* scitt_seq__doubt_step: while a batch with submissions of this process is
 * held in doubt (a shared store), one try to settle it (maintain, then read
 * the head back; a stop gives up after a few tries): true while it is still
 * held, and then no other batch may run. */
bool scitt_seq__doubt_step(scitt_seq__sequencer_t *s, bool stopping);

/* Shared store (shared.c): the pipeline's back half when several processes
 * write one log. shared_new sets seq->sh (and the event thread it needs);
 * shared_main replaces sequencer_main; shared_free after both stopped. */
int scitt_seq__shared_new(scitt_seq_t *seq);
void scitt_seq__shared_free(scitt_seq_t *seq);
void *scitt_seq__shared_main(void *arg);
/* scitt_seq__shared_answering: the sequencer is about to answer its batch
 * in hand (`*num` jobs, failed with fail_rc or 0); a rescue of its direct
 * jobs (shared.c) finishes first and none starts after. A failed batch
 * whose jobs a rescue queued gives them up (`*num` shrinks): shared.c
 * holds them until the log has them. */
void scitt_seq__shared_answering(scitt_seq_t *seq, scitt_seq__job_t **jobs, size_t *num, int fail_rc);

/* ------------------------------------------------------------------------ */
/* Entry points for tests and the benchmark                                  */

/* scitt_seq__submit_entry queues an already verified, normalised statement
 * `stmt` (copied) with its entry hash, bypassing the verify pool. Same
 * answers as scitt_seq_submit (SCITT_EFULL, SCITT_ESHUTDOWN). */
int scitt_seq__submit_entry(scitt_seq_t *seq, const uint8_t *stmt, size_t len, const uint8_t entry[32],
                            scitt_seq_done_cb done, void *ctx);

/* scitt_seq__hold stops (true) or resumes (false) the sequencer taking new
 * batches, so a test can make several submissions land in one batch. */
void scitt_seq__hold(scitt_seq_t *seq, bool hold);

#endif /* SCITT_SRC_SEQ_INTERNAL_H */
