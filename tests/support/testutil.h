/*
 * testutil.h: helpers shared by the Criterion tests: files, the shared test
 * vectors in ../shared/testdata, and a small JSON reader for their manifests.
 */
#ifndef SCITT_TESTS_TESTUTIL_H
#define SCITT_TESTS_TESTUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/core.h"

/* tu_testdata_path returns a newly allocated path under the shared test data
 * folder ($SCITT_TESTDATA, which meson sets to ../shared/testdata). */
char *tu_testdata_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tu_read_file returns the newly allocated contents of `path` (NUL-terminated,
 * `*len` excludes the NUL), or NULL if it cannot be read. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* tu_hex decodes `hex` into a newly allocated buffer; aborts on bad input. */
uint8_t *tu_hex(const char *hex, size_t *len);

/* tu_failmem_t is an allocator for failing-allocation tests (STYLE.md
 * section 5): every malloc or realloc after the first `budget` fails.
 * Initialise with tu_failmem_init and pass `&f->mem`. */
typedef struct tu_failmem {
    scitt_mem_t mem;
    int budget;
} tu_failmem_t;

void tu_failmem_init(tu_failmem_t *f, int budget);

/* tu_cond_waits_monotonic reports whether timed waits on `cond` (with
 * `lock`, not held) count against CLOCK_MONOTONIC: it waits, unsignalled,
 * for a deadline 50 ms ahead on that clock. A CLOCK_REALTIME condvar reads
 * that deadline as decades past and times out at once. */
bool tu_cond_waits_monotonic(pthread_cond_t *cond, pthread_mutex_t *lock);

/* A parsed JSON value. Objects keep their keys in order. */
typedef enum { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ } tj_type_t;
typedef struct tj {
    tj_type_t type;
    bool b;
    double num;
    long long i; /* num as an integer when it has no fraction */
    char *str;   /* TJ_STR: NUL-terminated, `len` bytes */
    size_t len;  /* TJ_STR: bytes; TJ_ARR/TJ_OBJ: count */
    struct tj **items;
    char **keys; /* TJ_OBJ only */
} tj_t;

tj_t *tj_parse(const char *text, size_t len);
tj_t *tj_parse_file(const char *path);
/* tj_get returns the member `key` of an object, or NULL. */
const tj_t *tj_get(const tj_t *obj, const char *key);
void tj_free(tj_t *v);

#endif
