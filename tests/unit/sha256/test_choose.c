/*
 * test_choose.c: the start-up measurement (src/sha256/choose.c) picks the
 * fastest supported kernel and never one the CPU lacks. Fake kernels with
 * known costs stand in for the real ones, so the answer does not depend on
 * this machine or its load.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <time.h>

#include "../../../src/sha256/internal.h"

static bool yes(void)
{
    return true;
}

static bool no(void)
{
    return false;
}

/* spin burns about `us` microseconds per call, whatever the batch size. */
static void spin(double us)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) * 1e6 + (double)(t.tv_nsec - t0.tv_nsec) / 1e3 < us);
}

static void slow_nodes(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num)
{
    (void)out, (void)children, (void)num;
    spin(40);
}

static void fast_nodes(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num)
{
    (void)out, (void)children, (void)num;
    spin(2);
}

static void must_not_run(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num)
{
    (void)out, (void)children, (void)num;
    abort();
}

static const scitt_sha256__kernel_t slow = {"slow", yes, NULL, NULL, slow_nodes};
static const scitt_sha256__kernel_t fast = {"fast", yes, NULL, NULL, fast_nodes};
static const scitt_sha256__kernel_t absent = {"absent", no, NULL, NULL, must_not_run};

Test(sha256_choose, fastest_supported_wins)
{
    const scitt_sha256__kernel_t *k[] = {&slow, NULL, &absent, &fast, &slow};
    cr_assert_eq(scitt_sha256__fastest(k, 5), 3);
    const scitt_sha256__kernel_t *first[] = {&fast, &slow, &absent};
    cr_assert_eq(scitt_sha256__fastest(first, 3), 0);
}

Test(sha256_choose, only_the_fallback)
{
    const scitt_sha256__kernel_t *k[] = {&slow, &absent, NULL};
    cr_assert_eq(scitt_sha256__fastest(k, 3), 0);
}
