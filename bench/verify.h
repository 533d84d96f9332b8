/*
 * verify.h: the machine's signature verification rate with the crypto
 * backend alone, the baseline that registration and sequencer throughput
 * are judged against (bench/verify_rate, bench/bench_seq).
 */
#ifndef SCITT_BENCH_VERIFY_H
#define SCITT_BENCH_VERIFY_H

/* The result of one measurement, verifications per second. */
typedef struct verify_rates {
    double all;    /* on `threads` threads at once */
    double single; /* on one thread alone (for half the time) */
} verify_rates_t;

/* verify_measure verifies one signature of algorithm `alg` (SCITT_ALG_*)
 * over a Sig_structure-sized message on one thread for seconds/2, then on
 * `threads` threads at once for `seconds`. Returns 0, or -1 when no key or
 * signature could be made. Exits the process when a valid signature fails. */
int verify_measure(int alg, unsigned threads, double seconds, verify_rates_t *out);

/* verify_all_cores is verify_measure's `all` figure on one thread per
 * online CPU (0 on failure). */
double verify_all_cores(int alg, double seconds);

#endif
