/*
 * pq.c: loads libpq into its own symbol scope (see pq.h).
 */
#define SCITT_PQ_IMPL
#include "pq.h"

#include <dlfcn.h>
#include <pthread.h>

#include "scitt/err.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_DEEPBIND 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define NO_DEEPBIND 1
#endif
#endif

scitt_pq_t scitt_pq;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *failed;

static void load(void)
{
    int flags = RTLD_NOW | RTLD_LOCAL;
#ifndef NO_DEEPBIND
    flags |= RTLD_DEEPBIND;
#endif
    void *h = dlopen("libpq.so.5", flags);
    if (h == NULL) {
        failed = "cannot load libpq.so.5 (the PostgreSQL client library; Debian: libpq5)";
        return;
    }
#define SCITT_PQ_LOAD(f)                                                                                               \
    if ((*(void **)&scitt_pq.f = dlsym(h, #f)) == NULL) {                                                              \
        failed = "libpq.so.5 lacks " #f;                                                                               \
        return;                                                                                                        \
    }
    SCITT_PQ_FUNCS(SCITT_PQ_LOAD)
#undef SCITT_PQ_LOAD
}

int scitt_pq_load(const char **why)
{
    pthread_once(&once, load);
    if (failed != NULL) {
        *why = failed;
        return SCITT_ENOENT;
    }
    return 0;
}
