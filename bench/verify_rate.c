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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "scitt/crypto.h"
#include "verify.h"

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
    verify_rates_t r;
    if (verify_measure(alg, threads, seconds, &r) != 0) {
        fprintf(stderr, "verify_rate: cannot make a key and a signature\n");
        return 1;
    }
    double single = r.single, all = r.all;
#if defined(SCITT_CRYPTO_OPENSSL)
    const char *backend = "openssl";
#else
    const char *backend = "boringssl";
#endif
    printf("verify_rate: %s, %u threads: %.0f verifications/s (one thread alone: %.0f/s, scaling %.2fx)\n",
           scitt_alg_name(alg), threads, all, single, all / single);
    printf("VERIFY alg=%s threads=%u rate=%.0f single=%.0f backend=%s\n", scitt_alg_name(alg), threads, all, single,
           backend);
    return 0;
}
