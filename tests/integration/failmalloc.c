/*
 * failmalloc: an LD_PRELOAD library for tests that need the server to run
 * out of memory at one place: malloc of a size from $SCITT_FAILMALLOC_MIN
 * to $SCITT_FAILMALLOC_MAX (inclusive) fails with ENOMEM, every other call
 * goes to the next malloc (libc's, or the sanitizer's). A test picks a
 * range only the allocation it means can fall in (e.g. the copy of a
 * request body of a size no other buffer has).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

static void *(*next_malloc)(size_t);
static size_t fail_min = 1, fail_max; /* empty until set */

__attribute__((constructor)) static void setup(void)
{
    next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    const char *lo = getenv("SCITT_FAILMALLOC_MIN"), *hi = getenv("SCITT_FAILMALLOC_MAX");
    if (lo != NULL && hi != NULL) {
        fail_min = strtoull(lo, NULL, 10);
        fail_max = strtoull(hi, NULL, 10);
    }
}

void *malloc(size_t n)
{
    if (next_malloc == NULL) {
        setup();
    }
    if (n >= fail_min && n <= fail_max) {
        errno = ENOMEM;
        return NULL;
    }
    return next_malloc(n);
}
