/* cond.c: condition variables and deadlines on the monotonic clock (cond.h). */
#include "scitt/cond.h"

int scitt_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0) {
        return -rc;
    }
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0) {
        rc = pthread_cond_init(cond, &attr);
    }
    pthread_condattr_destroy(&attr);
    return -rc;
}

void scitt_deadline(struct timespec *out, uint64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, out);
    uint64_t sum = (uint64_t)out->tv_nsec + ns % 1000000000u;
    out->tv_sec += (time_t)(ns / 1000000000u + sum / 1000000000u);
    out->tv_nsec = (long)(sum % 1000000000u);
}
