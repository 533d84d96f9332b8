/*
 * test_ratelimit.c: the per-address token buckets (src/frontend/ratelimit.c,
 * issue 19): burst, refill arithmetic, the wait reported, separate kinds,
 * and that the table never tracks more addresses than its slots.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "ratelimit.h"
#include "scitt/core.h"

static void key_of(uint8_t key[16], uint32_t n)
{
    memset(key, 0, 16);
    key[10] = key[11] = 0xff;
    memcpy(key + 12, &n, 4);
}

static scitt_rl_t *make(uint32_t rate, uint32_t burst, size_t slots)
{
    scitt_rl_t *rl = NULL;
    cr_assert_eq(scitt_rl_new(&rl, rate, burst, slots, 42), 0);
    return rl;
}

Test(ratelimit, burst_then_wait)
{
    scitt_rl_t *rl = make(10, 5, 64);
    uint8_t k[16];
    key_of(k, 1);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 1000), 0, "token %d of the burst", i);
    }
    /* 10 per second: a token every 100 ms. */
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 1000), 100);
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 1040), 60);
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 1100), 0);
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 1100), 100);
    /* Refill is capped at the burst: a long pause gives 5, not more. */
    int got = 0;
    while (scitt_rl_take(rl, k, SCITT_RL_POST, 1000000) == 0) {
        got++;
    }
    cr_assert_eq(got, 5);
    scitt_rl_free(rl);
}

Test(ratelimit, fractional_refill_accumulates)
{
    /* 3 per second: 333.3 ms a token; refills in 1 ms steps add up exactly. */
    scitt_rl_t *rl = make(3, 1, 64);
    uint8_t k[16];
    key_of(k, 2);
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 0), 0);
    uint64_t t = 0;
    while (scitt_rl_take(rl, k, SCITT_RL_POST, t) != 0) {
        t++;
    }
    cr_assert_eq(t, 334, "a token after ceil(1000/3) ms, got %llu", (unsigned long long)t);
    /* The wait is rounded up, never 0 while no token is there. */
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, t), 334);
    scitt_rl_free(rl);
}

Test(ratelimit, kinds_and_addresses_are_separate)
{
    scitt_rl_t *rl = make(1, 2, 64);
    uint8_t a[16], b[16];
    key_of(a, 1);
    key_of(b, 2);
    cr_assert_eq(scitt_rl_take(rl, a, SCITT_RL_POST, 0), 0);
    cr_assert_eq(scitt_rl_take(rl, a, SCITT_RL_POST, 0), 0);
    cr_assert_gt(scitt_rl_take(rl, a, SCITT_RL_POST, 0), 0);
    cr_assert_eq(scitt_rl_take(rl, a, SCITT_RL_PENDING, 0), 0, "polls have their own bucket");
    cr_assert_eq(scitt_rl_take(rl, b, SCITT_RL_POST, 0), 0, "another address has its own");
    cr_assert_eq(scitt_rl_tracked(rl), 2);
    scitt_rl_free(rl);
}

Test(ratelimit, large_values_do_not_overflow)
{
    scitt_rl_t *rl = make(SCITT_RL_MAX, SCITT_RL_MAX, 8);
    uint8_t k[16];
    key_of(k, 3);
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 0), 0);
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, UINT64_MAX / 2), 0);
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, UINT64_MAX), 0);
    /* Time going backwards refills nothing and breaks nothing. */
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 5), 0);
    scitt_rl_free(rl);
    scitt_rl_t *bad = NULL;
    cr_assert_eq(scitt_rl_new(&bad, 0, 1, 8, 0), SCITT_EINVAL);
    cr_assert_eq(scitt_rl_new(&bad, 1, 0, 8, 0), SCITT_EINVAL);
    cr_assert_eq(scitt_rl_new(&bad, SCITT_RL_MAX + 1, 1, 8, 0), SCITT_EINVAL);
}

Test(ratelimit, table_is_bounded)
{
    scitt_rl_t *rl = make(1, 1, 1000);
    size_t slots = scitt_rl_slots(rl);
    cr_assert_eq(slots, 1024);
    uint8_t k[16];
    /* A million addresses, each draining its bucket: never more tracked
     * than the slots, and every call still answers. */
    for (uint32_t i = 0; i < 1000000; i++) {
        key_of(k, i);
        cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 1000 + i / 1000), 0);
        cr_assert_leq(scitt_rl_tracked(rl), slots);
    }
    cr_assert_eq(scitt_rl_tracked(rl), slots, "the table filled up");
    scitt_rl_free(rl);
}

/* drain empties `key`'s registration bucket at `now` and says how many
 * tokens it held: 1000 (the burst) for an address the table did not hold. */
static int drain(scitt_rl_t *rl, const uint8_t key[16], uint64_t now)
{
    int n = 0;
    while (scitt_rl_take(rl, key, SCITT_RL_POST, now) == 0) {
        n++;
    }
    return n;
}

Test(ratelimit, eviction_prefers_full_buckets_then_oldest)
{
    /* One set of 8 ways: the 9th address evicts. 1 token per second, a
     * burst of 1000. */
    scitt_rl_t *rl = make(1, 1000, 8);
    uint8_t x[16], k[16];
    key_of(x, 999);
    cr_assert_eq(drain(rl, x, 0), 1000); /* the oldest entry, far from full */
    for (uint32_t i = 0; i < 7; i++) {
        key_of(k, i);
        cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 1000), 0); /* full again at 2000 */
    }
    key_of(k, 100);
    cr_assert_eq(scitt_rl_take(rl, k, SCITT_RL_POST, 2000), 0);
    cr_assert_eq(scitt_rl_tracked(rl), 8);
    cr_assert_eq(drain(rl, x, 2000), 2, "a full entry went, not the drained oldest one");
    /* Seven more drained addresses take the full entries' ways; then none
     * is full and the least recently seen (x) goes. */
    for (uint32_t i = 200; i < 207; i++) {
        key_of(k, i);
        cr_assert_eq(drain(rl, k, 3000 + i), 1000);
    }
    key_of(k, 300);
    cr_assert_eq(drain(rl, k, 3300), 1000);
    cr_assert_eq(scitt_rl_tracked(rl), 8);
    key_of(k, 206);
    cr_assert_lt(drain(rl, k, 3300), 2, "a recent drained address is still tracked");
    cr_assert_eq(drain(rl, x, 3300), 1000, "the least recently seen was evicted");
    scitt_rl_free(rl);
}
