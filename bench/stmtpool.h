/*
 * stmtpool.h: the load generator's issuer keys and its pool of pre-signed,
 * distinct statements, made before any load is offered so signing never
 * competes with the server for the CPU during a measurement.
 *
 * An issuer folder DIR holds private keys per algorithm, DIR/<ALG>.key and,
 * for more issuers, DIR/<ALG>-1.key ... (created on first use, mode 0600),
 * and their public keys DIR/keys/<ALG>[-N].pem: give DIR/keys to scittd's
 * --issuer-keys (it then trusts every key made so far in DIR).
 */
#ifndef SCITT_BENCH_STMTPOOL_H
#define SCITT_BENCH_STMTPOOL_H

#include "scitt/crypto.h"

/* bench_issuer_keys loads `num` distinct issuer keys of DIR into out[0..num),
 * making those not there yet: DIR/<alg>.key, then DIR/<alg>-1.key and so
 * on (each with its DIR/keys/....pem). Each out[i] is newly allocated: free
 * them with bench_issuer_keys_free. Returns 0 or an error code (nothing is
 * left allocated); `*out_what` says which step failed. */
int bench_issuer_keys(scitt_key_t **out, size_t num, const char *dir, int alg, const char **out_what);
void bench_issuer_keys_free(scitt_key_t **keys, size_t num);

typedef struct bench_pool {
    scitt_buf_t *stmts; /* num statements, each a tagged COSE_Sign1 */
    size_t num;
    /* Set before bench_pool_init (bench_x5chain_load): the statements carry
     * this chain (leaf first) in the protected header instead of a kid. */
    scitt_span_t x5chain[2];
    size_t num_x5chain;
} bench_pool_t;

/* bench_x5chain_load reads the CI-identity PKI that bench/x5pki DIR made:
 * the leaf's private key DIR/x5chain/leaf.key into `*out` (newly
 * allocated) and the chain DIR/x5chain/{leaf,intermediate}.der into
 * pool->x5chain (freed by bench_pool_cleanup). scittd trusts it with
 * --trust-roots DIR/x5chain/root.pem. */
int bench_x5chain_load(bench_pool_t *pool, scitt_key_t **out, const char *dir, const char **out_what);

/* bench_pool_init signs `num` statements on `num_threads` threads, statement
 * i with keys[i % num_keys] (kid: its thumbprint). Each payload is `payload_len` bytes (at least 40) holding a
 * random run tag and the statement's number, so every statement is distinct
 * from every other, in this run and in any earlier one. Aborts when out of
 * memory (a tool). Free with bench_pool_cleanup. */
void bench_pool_init(bench_pool_t *pool, scitt_key_t *const *keys, size_t num_keys, int alg, size_t num,
                     size_t payload_len, unsigned num_threads);
void bench_pool_cleanup(bench_pool_t *pool);

#endif
