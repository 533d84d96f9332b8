/*
 * cond.h: timed waits on the monotonic clock.
 *
 * A condition variable that is ever waited on with a deadline is made by
 * scitt_cond_init, and the deadline by scitt_deadline: both use
 * CLOCK_MONOTONIC, so a step of the wall clock (NTP, an operator, a VM
 * resumed) neither stretches nor cuts a wait. (libuv's uv_cond_timedwait
 * does the same on Linux.)
 */
#ifndef SCITT_COND_H
#define SCITT_COND_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* scitt_cond_init initialises `cond` for waits against CLOCK_MONOTONIC
 * deadlines; 0 or a negative errno. Destroy with pthread_cond_destroy. */
int scitt_cond_init(pthread_cond_t *cond);

/* scitt_deadline sets `*out` to `ns` nanoseconds from now on CLOCK_MONOTONIC,
 * the deadline for pthread_cond_timedwait on a scitt_cond_init condvar. */
void scitt_deadline(struct timespec *out, uint64_t ns);

#endif
