/*
 * harness.h: a data folder, an issuer, a policy and a running pipeline for
 * the src/seq tests, plus waiters that collect completions and checks that a
 * receipt verifies against its head. Aborts the test (Criterion asserts) on
 * any unexpected failure.
 */
#ifndef SCITT_TESTS_SEQ_HARNESS_H
#define SCITT_TESTS_SEQ_HARNESS_H

#include <pthread.h>

#include "internal.h"
#include "scitt/receipt.h"

#define H_ORIGIN "test.example/log"

typedef struct h_env {
    char dir[256];        /* the data folder (LMDB environment and keys) */
    char issuer_dir[256]; /* trusted issuer public keys for the policy */
    scitt_key_t *issuer;  /* Ed25519: cheap to sign and verify */
    uint8_t issuer_kid[32];
    scitt_policy_t *policy;
    scitt_store_t *store;
    scitt_seq_keys_t keys;
    scitt_note_verifier_t note_v;
    scitt_seq_t *seq;
    size_t tile_cache_bytes;    /* for h_start; 0 means the default */
    size_t receipt_cache_bytes; /* for h_start; 0 means the default, 1 off */
    uint64_t linger_us;         /* for h_start; 0 means the default */
} h_env_t;

/* h_setup makes the folders, the issuer key and the policy. */
void h_setup(h_env_t *e);
/* h_teardown stops everything still running and removes the folders. */
void h_teardown(h_env_t *e);

/* h_open opens the store (map limits as given, 0 for defaults) and loads
 * the keys. */
void h_open(h_env_t *e, size_t map_size, size_t map_size_max);
/* h_start starts the pipeline on the open store. */
void h_start(h_env_t *e, size_t batch_max, size_t max_pending, unsigned workers);
/* h_close stops and frees the pipeline, the keys and the store. */
void h_close(h_env_t *e);

/* h_statement appends a statement by the issuer with subject `sub`; with
 * `noise` it carries an unprotected header that normalisation removes. */
void h_statement(h_env_t *e, scitt_buf_t *out, const char *sub, bool noise);
/* h_entry computes the log entry of a statement (SHA-256 of its normalised form). */
void h_entry(const scitt_buf_t *stmt, uint8_t out[32]);

/* One answer, copied out of the callback. */
typedef struct h_result {
    struct h_waiter *w;
    bool done;
    int rc;
    bool has_entry;
    uint8_t entry[32];
    uint64_t index;
    bool existing;
    uint8_t *receipt;
    size_t receipt_len;
} h_result_t;

typedef struct h_waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t num, answered;
    h_result_t *results;
    size_t twice; /* callbacks for a result already answered (must stay 0) */
} h_waiter_t;

void h_waiter_init(h_waiter_t *w, size_t num);
void h_waiter_cleanup(h_waiter_t *w);
/* h_done is the scitt_seq_done_cb; its ctx is an h_result_t of a waiter. */
void h_done(void *ctx, const scitt_seq_result_t *res);
/* h_wait waits until `n` results are answered (or fails the test after `seconds`). */
void h_wait(h_waiter_t *w, size_t n, double seconds);

/* h_submit submits `stmt` for result i (retrying while SCITT_EFULL). */
void h_submit(h_env_t *e, h_waiter_t *w, size_t i, const scitt_buf_t *stmt);
/* h_submit_entry feeds a pre-verified statement (bypasses the pool). */
void h_submit_entry(h_env_t *e, h_waiter_t *w, size_t i, const uint8_t *stmt, size_t len);

/* h_check_receipt checks a successful answer: the entry is stored at its
 * index and hashes to `entry`, the receipt decodes and verifies with the
 * service key against the head of its tree size (same root, iat = head
 * time), the head's checkpoint verifies and has the same root, and
 * scitt_log_store_receipt rebuilds the receipt byte for byte, as does
 * scitt_log_receipt (through the tile cache) while a pipeline runs.
 * Returns the tree size the receipt is for. */
uint64_t h_check_receipt(h_env_t *e, const uint8_t entry[32], uint64_t index, const uint8_t *receipt, size_t len);

/* h_check_log checks every pair of heads: each checkpoint verifies and has
 * its head's root, the root recomputed from the tiles equals it, and a
 * consistency proof from each head to every later one verifies. Returns the
 * number of heads. */
size_t h_check_log(h_env_t *e);

/* h_tree_size returns the latest head's size (0 for an empty log). */
uint64_t h_tree_size(h_env_t *e);

#endif
