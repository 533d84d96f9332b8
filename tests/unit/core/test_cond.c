/*
 * test_cond.c: timed waits on the monotonic clock (cond.h): a condvar from
 * scitt_cond_init times out at a scitt_deadline (not at once, as a
 * CLOCK_REALTIME one would, and not much later), and a deadline lies the
 * asked time ahead on CLOCK_MONOTONIC with nanoseconds carried.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "scitt/cond.h"
#include "testutil.h"

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

Test(core_cond, condvar_waits_on_the_monotonic_clock)
{
    pthread_cond_t c;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    cr_assert_eq(scitt_cond_init(&c), 0);
    cr_assert(tu_cond_waits_monotonic(&c, &m));
    pthread_cond_destroy(&c);
    /* The probe tells the clocks apart: a default condvar fails it. */
    cr_assert_eq(pthread_cond_init(&c, NULL), 0);
    cr_assert_not(tu_cond_waits_monotonic(&c, &m));
    pthread_cond_destroy(&c);
}

Test(core_cond, timed_wait_returns_on_time)
{
    pthread_cond_t c;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    cr_assert_eq(scitt_cond_init(&c), 0);
    struct timespec until;
    double t0 = mono_now();
    scitt_deadline(&until, 200000000);
    pthread_mutex_lock(&m);
    int rc = 0;
    while (rc == 0) {
        rc = pthread_cond_timedwait(&c, &m, &until);
    }
    pthread_mutex_unlock(&m);
    double waited = mono_now() - t0;
    cr_assert_eq(rc, ETIMEDOUT);
    cr_assert_geq(waited, 0.199, "returned after %.3f s", waited);
    cr_assert_lt(waited, 5.0, "returned after %.3f s", waited); /* generous: a loaded 2-core VM */
    pthread_cond_destroy(&c);
}

Test(core_cond, deadline_carries_nanoseconds)
{
    struct timespec now, d;
    scitt_deadline(&d, 2999999999u);
    clock_gettime(CLOCK_MONOTONIC, &now);
    cr_assert_lt(d.tv_nsec, 1000000000L);
    cr_assert_geq(d.tv_nsec, 0);
    double ahead = (double)(d.tv_sec - now.tv_sec) + (double)(d.tv_nsec - now.tv_nsec) * 1e-9;
    cr_assert(ahead > 2.5 && ahead <= 3.0, "deadline %.3f s ahead", ahead);
}
