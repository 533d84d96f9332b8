/* latency.c: see latency.h. */
#include "latency.h"

#include <math.h>
#include <stdlib.h>

#include "scitt/core.h"

void bench_lat_init(bench_lat_t *l, size_t cap)
{
    l->ms = scitt_xmalloc((cap != 0 ? cap : 1) * sizeof(double));
    l->num = 0;
    l->cap = cap;
}

void bench_lat_cleanup(bench_lat_t *l)
{
    free(l->ms);
    l->ms = NULL;
    l->num = l->cap = 0;
}

void bench_lat_add(bench_lat_t *l, double ms)
{
    if (l->num < l->cap) {
        l->ms[l->num++] = ms;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* rank returns the nearest-rank percentile `p` (0 < p <= 1) of sorted samples. */
static double rank(const bench_lat_t *l, double p)
{
    size_t k = (size_t)ceil(p * (double)l->num);
    return l->ms[k == 0 ? 0 : k - 1];
}

void bench_lat_summarise(bench_lat_t *l, bench_lat_summary_t *out)
{
    *out = (bench_lat_summary_t){.num = l->num};
    if (l->num == 0) {
        return;
    }
    qsort(l->ms, l->num, sizeof(double), cmp_double);
    out->p50 = rank(l, 0.50);
    out->p90 = rank(l, 0.90);
    out->p99 = rank(l, 0.99);
    out->p999 = rank(l, 0.999);
    out->max = l->ms[l->num - 1];
}
