/*
 * test_clock.c: the sequencer's timed wait (the commit linger) counts on the
 * monotonic clock, so a step of the wall clock cannot stretch a linger: its
 * condition variable times out at a CLOCK_MONOTONIC deadline.
 */
#include <criterion/criterion.h>

#include "harness.h"
#include "testutil.h"

static h_env_t env;

static void setup(void)
{
    h_setup(&env);
}

static void teardown(void)
{
    h_teardown(&env);
}

TestSuite(seq_clock, .init = setup, .fini = teardown, .timeout = 60);

Test(seq_clock, linger_waits_on_the_monotonic_clock)
{
    h_open(&env, 0, 0);
    h_start(&env, 64, 1024, 1);
    /* The sequencer idles in an untimed wait on the same condvar: nothing
     * signals it while nothing is submitted. */
    cr_assert(tu_cond_waits_monotonic(&env.seq->sq_cond, &env.seq->sq_lock));
    h_close(&env);
}
