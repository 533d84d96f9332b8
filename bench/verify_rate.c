/*
 * verify_rate.c: the verification ceiling of this machine: signature
 * verifications per second with the crypto backend alone (scitt_sig_verify,
 * no parsing, no HTTP) on every core at once, one thread per core, each
 * checking the same signature over a Sig_structure-sized message for a
 * fixed time. Registration throughput is judged against this figure.
 *
 *   verify_rate [--alg ES256] [--threads N] [--seconds S]
 *
 * Last line: VERIFY alg=<alg> threads=<n> rate=<all threads>
 * single=<one thread alone> backend=<boringssl|openssl>
 */
#include <getopt.h>
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

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"alg", 1, 0, 'a'}, {"threads", 1, 0, 't'}, {"seconds", 1, 0, 's'}, {0, 0, 0, 0}};
    int alg = SCITT_ALG_ES256, ch;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus > 0 ? (unsigned)cpus : 1;
    double seconds = 3;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (ch == 'a' && scitt_alg_from_name(optarg, &alg) == 0) {
            continue;
        } else if (ch == 't') {
            threads = (unsigned)strtoul(optarg, NULL, 10);
        } else if (ch == 's') {
            seconds = strtod(optarg, NULL);
        } else {
            fprintf(stderr, "usage: verify_rate [--alg ES256|EdDSA|PS256] [--threads N] [--seconds S]\n");
            return 2;
        }
    }
    if (threads == 0 || threads > 256 || seconds <= 0 || seconds > 60) {
        fprintf(stderr, "verify_rate: 1..256 threads, 0..60 seconds\n");
        return 2;
    }
    scitt_key_t *key;
    uint8_t msg[256], sig[512];
    size_t sig_len;
    memset(msg, 0x5c, sizeof(msg));
    if (scitt_key_generate(&key, alg) != 0 ||
        scitt_sig_sign(key, alg, msg, sizeof(msg), sig, sizeof(sig), &sig_len) != 0) {
        fprintf(stderr, "verify_rate: cannot make a key and a signature\n");
        return 1;
    }
    job_t proto = {.key = key, .alg = alg, .msg = msg, .msg_len = sizeof(msg), .sig = sig, .sig_len = sig_len};
    double single = run(&proto, 1, seconds / 2);
    double all = run(&proto, threads, seconds);
#if defined(SCITT_CRYPTO_OPENSSL)
    const char *backend = "openssl";
#else
    const char *backend = "boringssl";
#endif
    printf("verify_rate: %s, %u threads: %.0f verifications/s (one thread alone: %.0f/s, scaling %.2fx)\n",
           scitt_alg_name(alg), threads, all, single, all / single);
    printf("VERIFY alg=%s threads=%u rate=%.0f single=%.0f backend=%s\n", scitt_alg_name(alg), threads, all, single,
           backend);
    scitt_key_free(key);
    return 0;
}
