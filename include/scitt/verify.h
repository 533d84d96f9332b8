/*
 * verify.h: the registration policy, and the whole check of one submitted
 * statement as the verify pool runs it.
 *
 * scitt_policy_check takes the request body and either rejects it with a
 * code that scitt_cose_problem_for() maps to an HTTP status and SCRAPI title
 * (plus a one-sentence reason), or accepts it and yields the log entry hash.
 * Order: size limit, strict decode, RFC 9943 statement rules and accepted
 * algorithms, iss/sub allow-lists, issuer identification (kid against the
 * trusted issuer keys, or x5chain validated against the trust roots), and
 * last the signature, the one expensive step.
 *
 * Thread safety: a policy is immutable once made; any number of threads may
 * call scitt_policy_check on it at once. Its one mutable part, the cache of
 * validated x5chain chains, has its own lock.
 */
#ifndef SCITT_VERIFY_H
#define SCITT_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "scitt/cose.h"

typedef struct scitt_policy_config {
    const int *algs; /* accepted COSE algorithms; NULL means all seven */
    size_t num_algs;
    size_t max_statement_len; /* 0 means 1 MiB */
    /* Every *.pem public key in issuer_keys_dir is a trusted issuer, named by
     * kid = its RFC 9679 thumbprint. An optional NAME.iss beside NAME.pem
     * lists (one per line) the CWT iss values that key may claim; without
     * it the key may claim any iss. NULL: no issuer keys. */
    const char *issuer_keys_dir;
    const char *trust_roots_file; /* PEM bundle of roots for x5chain issuers; NULL: none */
    bool allow_unknown_issuers;   /* development only: trust a statement's own x5chain leaf */
    const char *const *iss_allow; /* when num_iss_allow > 0, iss must be one of these */
    size_t num_iss_allow;
    const char *const *sub_allow;
    size_t num_sub_allow;
    /* Validated x5chain chains kept (bounded, least recently used evicted),
     * so a chain seen again costs a SHA-256 of its bytes instead of a path
     * validation; a hit still needs the same trust roots and a time inside
     * every certificate's validity. 0: no cache. */
    size_t x5chain_cache_entries;
} scitt_policy_config_t;

typedef struct scitt_policy scitt_policy_t;

/* scitt_policy_new loads the issuer keys and trust roots named by `cfg`.
 * `*out` is newly allocated. Errors: SCITT_ENOENT / -errno for a folder or
 * file that cannot be read, SCITT_EBADKEY for a PEM file that holds no
 * supported public key, SCITT_ECERT for a bad roots bundle; `*out_err_desc`
 * then names the file (it points into a static buffer of this thread). */
int scitt_policy_new(scitt_policy_t **out, const scitt_policy_config_t *cfg, const char **out_err_desc);
void scitt_policy_free(scitt_policy_t *p);

/* scitt_policy_num_issuer_keys returns how many trusted issuer keys loaded. */
size_t scitt_policy_num_issuer_keys(const scitt_policy_t *p);

/* The x5chain cache's counters (all zero without a cache). */
typedef struct scitt_x5chain_cache_stats {
    uint64_t hits, misses, evictions;
    size_t entries, capacity;
} scitt_x5chain_cache_stats_t;

void scitt_policy_x5chain_cache_stats(const scitt_policy_t *p, scitt_x5chain_cache_stats_t *out);

/* The outcome of a check. `stmt` spans point into the body given to
 * scitt_policy_check and live as long as it. `decoded` and `entry` are set
 * whenever the body decoded as a COSE_Sign1, also when a later check
 * rejected it. */
typedef struct scitt_verified {
    scitt_cose_sign1_t stmt;
    bool decoded;
    uint8_t entry[SCITT_SHA256_LEN]; /* SHA-256 of the normalised statement */
} scitt_verified_t;

/* scitt_policy_check runs every check on `body` at time `now` (Unix seconds,
 * for certificate validity). `scratch` is reused for the Sig_structure.
 * Returns 0 or the rejection code (see scitt_cose_problem_for) with a reason
 * in `*out_err_desc`. */
int scitt_policy_check(const scitt_policy_t *p, const uint8_t *body, size_t len, int64_t now, scitt_verified_t *out,
                       scitt_buf_t *scratch, const char **out_err_desc);

#endif /* SCITT_VERIFY_H */
