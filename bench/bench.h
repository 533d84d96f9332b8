/*
 * bench.h: timing helpers shared by the benchmarks. The machine is shared
 * and noisy, so a benchmark reports ratios against a baseline measured in
 * the same run, taking the best of several repetitions of each.
 */
#ifndef SCITT_BENCH_H
#define SCITT_BENCH_H

#include <stdint.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* bench_rate runs `fn(arg)` (which performs `ops` operations) `reps` times
 * and returns the best observed rate in operations per second. */
static inline double bench_rate(void (*fn)(void *arg), void *arg, double ops, int reps)
{
    double best = 0;
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now();
        fn(arg);
        double dt = bench_now() - t0;
        if (dt > 0 && ops / dt > best) {
            best = ops / dt;
        }
    }
    return best;
}

#endif
