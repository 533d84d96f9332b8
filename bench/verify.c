/*
 * verify.c: signature verifications per second with the crypto backend
 * alone (scitt_sig_verify, no parsing, no HTTP), one thread per core, each
 * checking the same signature for a fixed time (bench/verify.h).
 */
#include "verify.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "scitt/crypto.h"

typedef struct job {
    pthread_t thread;
    const scitt_key_t *key;
    int alg;
    const uint8_t *msg, *sig;
    size_t msg_len, sig_len;
    double seconds;
    uint64_t count;
    atomic_bool *go;
} job_t;

static void *verify_loop(void *arg)
{
    job_t *j = arg;
    while (!atomic_load(j->go)) {
    }
    double end = bench_now() + j->seconds;
    uint64_t n = 0;
    while (bench_now() < end) {
        for (int i = 0; i < 16; i++) {
            if (scitt_sig_verify(j->key, j->alg, j->msg, j->msg_len, j->sig, j->sig_len) != 0) {
                fprintf(stderr, "verify_rate: a valid signature did not verify\n");
                exit(1);
            }
        }
        n += 16;
    }
    j->count = n;
    return NULL;
}

/* run verifies on `num` threads for `seconds` and returns the total rate. */
static double run(job_t *proto, unsigned num, double seconds)
{
    job_t *jobs = calloc(num, sizeof(job_t));
    atomic_bool go = false;
    if (jobs == NULL) {
        exit(1);
    }
    for (unsigned t = 0; t < num; t++) {
        jobs[t] = *proto;
        jobs[t].seconds = seconds;
        jobs[t].go = &go;
        if (pthread_create(&jobs[t].thread, NULL, verify_loop, &jobs[t]) != 0) {
            exit(1);
        }
    }
    atomic_store(&go, true);
    uint64_t total = 0;
    for (unsigned t = 0; t < num; t++) {
        pthread_join(jobs[t].thread, NULL);
        total += jobs[t].count;
    }
    free(jobs);
    return (double)total / seconds;
}

int verify_measure(int alg, unsigned threads, double seconds, verify_rates_t *out)
{
    scitt_key_t *key;
    uint8_t msg[256], sig[512];
    size_t sig_len;
    memset(msg, 0x5c, sizeof(msg));
    if (scitt_key_generate(&key, alg) != 0 ||
        scitt_sig_sign(key, alg, msg, sizeof(msg), sig, sizeof(sig), &sig_len) != 0) {
        return -1;
    }
    job_t proto = {.key = key, .alg = alg, .msg = msg, .msg_len = sizeof(msg), .sig = sig, .sig_len = sig_len};
    out->single = run(&proto, 1, seconds / 2);
    out->all = run(&proto, threads, seconds);
    scitt_key_free(key);
    return 0;
}

double verify_all_cores(int alg, double seconds)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    verify_rates_t r;
    return verify_measure(alg, cpus > 0 ? (unsigned)cpus : 1, seconds, &r) == 0 ? r.all : 0;
}
