/*
 * latency.h: a latency recorder for the load generator: every sample kept
 * (a run is bounded in count), percentiles by sorting once at the end.
 */
#ifndef SCITT_BENCH_LATENCY_H
#define SCITT_BENCH_LATENCY_H

#include <stddef.h>

typedef struct bench_lat {
    double *ms; /* samples in milliseconds */
    size_t num, cap;
} bench_lat_t;

typedef struct bench_lat_summary {
    size_t num;
    double p50, p90, p99, p999, max; /* milliseconds; 0 when empty */
} bench_lat_summary_t;

/* bench_lat_init makes room for `cap` samples (more are dropped); aborts
 * when out of memory. */
void bench_lat_init(bench_lat_t *l, size_t cap);
void bench_lat_cleanup(bench_lat_t *l);
void bench_lat_add(bench_lat_t *l, double ms);

/* bench_lat_summarise sorts the samples and reads the percentiles (nearest
 * rank). */
void bench_lat_summarise(bench_lat_t *l, bench_lat_summary_t *out);

#endif
