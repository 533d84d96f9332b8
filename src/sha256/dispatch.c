/*
 * dispatch.c: choose a kernel once (by measurement, or SCITT_SHA256_KERNEL) and
 * route the batch calls to it. The x86 kernels exist only in x86-64 builds
 * (SCITT_SHA256_X86); elsewhere their slots stay NULL and report unsupported.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static const scitt_sha256__kernel_t *const kernels[SCITT_SHA256_NUM_KERNELS] = {
    [SCITT_SHA256_PORTABLE] = &scitt_sha256__portable,
#ifdef SCITT_SHA256_X86
    [SCITT_SHA256_SHANI] = &scitt_sha256__shani,   /* 2 ways */
    [SCITT_SHA256_AVX2] = &scitt_sha256__avx2,     /* 8 lanes */
    [SCITT_SHA256_AVX512] = &scitt_sha256__avx512, /* 16 lanes */
    [SCITT_SHA256_SHANI4] = &scitt_sha256__shani4, /* 4 ways */
#endif
};

/* -1 until the first call picks a kernel. */
static _Atomic int active = -1;

const char *scitt_sha256_kernel_name(scitt_sha256_kernel_t k)
{
    static const char *const names[] = {"portable", "shani", "avx2", "avx512", "shani4"};
    return (unsigned)k < SCITT_SHA256_NUM_KERNELS ? names[k] : "unknown";
}

bool scitt_sha256_kernel_supported(scitt_sha256_kernel_t k)
{
    return (unsigned)k < SCITT_SHA256_NUM_KERNELS && kernels[k] != NULL && kernels[k]->supported();
}

/* The fastest supported kernel (choose.c), unless the environment names
 * another. */
static int pick(void)
{
    const char *env = getenv("SCITT_SHA256_KERNEL");
    if (env != NULL && *env != '\0') {
        for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
            if (strcmp(env, scitt_sha256_kernel_name((scitt_sha256_kernel_t)k)) == 0 &&
                scitt_sha256_kernel_supported((scitt_sha256_kernel_t)k)) {
                return k;
            }
        }
        fprintf(stderr, "scitt: SCITT_SHA256_KERNEL=%s is unknown or unsupported here; choosing by measurement\n", env);
    }
    return scitt_sha256__fastest(kernels, SCITT_SHA256_NUM_KERNELS);
}

static const scitt_sha256__kernel_t *current(void)
{
    int k = atomic_load_explicit(&active, memory_order_relaxed);
    if (k < 0) {
        k = pick();
        atomic_store_explicit(&active, k, memory_order_relaxed);
    }
    return kernels[k];
}

scitt_sha256_kernel_t scitt_sha256_active_kernel(void)
{
    current();
    return (scitt_sha256_kernel_t)atomic_load_explicit(&active, memory_order_relaxed);
}

int scitt_sha256_set_kernel(scitt_sha256_kernel_t k)
{
    if (!scitt_sha256_kernel_supported(k)) {
        return SCITT_EINVAL;
    }
    atomic_store_explicit(&active, (int)k, memory_order_relaxed);
    return 0;
}

void scitt_sha256_batch(uint8_t (*out)[32], const scitt_span_t *msgs, size_t num)
{
    current()->batch(out, msgs, num);
}

void scitt_sha256_leaves(uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num)
{
    current()->leaves(out, entries, num);
}

void scitt_sha256_nodes(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num)
{
    current()->nodes(out, children, num);
}

void scitt_sha256_batch_with(scitt_sha256_kernel_t k, uint8_t (*out)[32], const scitt_span_t *msgs, size_t num)
{
    kernels[k]->batch(out, msgs, num);
}

void scitt_sha256_leaves_with(scitt_sha256_kernel_t k, uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num)
{
    kernels[k]->leaves(out, entries, num);
}

void scitt_sha256_nodes_with(scitt_sha256_kernel_t k, uint8_t (*out)[32], const uint8_t (*children)[32], size_t num)
{
    kernels[k]->nodes(out, children, num);
}
