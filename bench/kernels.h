/*
 * kernels.h: the SHA-256 batch kernels against the plain one-call-per-node
 * loop, measured in the same run (see bench.h for why).
 */
#ifndef SCITT_BENCH_KERNELS_H
#define SCITT_BENCH_KERNELS_H

typedef struct {
    const char *best_kernel;   /* scitt_sha256_kernel_name() of the fastest */
    double best_nodes_per_s;   /* its interior-node rate */
    double plain_nodes_per_s;  /* scitt_sha256() called once per 65-byte node */
    double ratio;              /* best / plain */
    const char *chosen_kernel; /* the kernel the start-up measurement chose */
} bench_kernels_result_t;

/* bench_kernels measures the interior-node rate (65-byte messages, through
 * scitt_sha256_nodes_with) of every kernel this CPU supports and of the plain
 * loop, prints one line for each, and fills `out`. Takes a few seconds. */
void bench_kernels(bench_kernels_result_t *out);

#endif
