/* mem.c: the default allocator, bounded buffers and the aborting xmalloc. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "scitt/core.h"

static void *libc_malloc(size_t size, void *ud)
{
    (void)ud;
    return malloc(size);
}

static void *libc_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return realloc(ptr, size);
}

static void libc_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

static const scitt_mem_t default_mem = {libc_malloc, libc_realloc, libc_free, NULL};

const scitt_mem_t *scitt_mem_default(void)
{
    return &default_mem;
}

void *scitt_mem_malloc(const scitt_mem_t *mem, size_t size)
{
    return mem->malloc(size == 0 ? 1 : size, mem->ud);
}

void *scitt_mem_calloc(const scitt_mem_t *mem, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    void *p = scitt_mem_malloc(mem, n * size);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

void *scitt_mem_realloc(const scitt_mem_t *mem, void *ptr, size_t size)
{
    return mem->realloc(ptr, size == 0 ? 1 : size, mem->ud);
}

void scitt_mem_free(const scitt_mem_t *mem, void *ptr)
{
    if (ptr != NULL) {
        mem->free(ptr, mem->ud);
    }
}

void *scitt_xmalloc(size_t size)
{
    void *p = malloc(size == 0 ? 1 : size);
    if (p == NULL) {
        fputs("scitt: out of memory\n", stderr);
        abort();
    }
    return p;
}

void scitt_buf_init(scitt_buf_t *buf, const scitt_mem_t *mem, size_t max)
{
    buf->base = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max == 0 ? SIZE_MAX : max;
    buf->mem = mem != NULL ? mem : scitt_mem_default();
}

void scitt_buf_cleanup(scitt_buf_t *buf)
{
    scitt_mem_free(buf->mem, buf->base);
    buf->base = NULL;
    buf->len = buf->cap = 0;
}

int scitt_buf_reserve(scitt_buf_t *buf, size_t extra)
{
    if (extra > buf->max - buf->len) {
        return SCITT_ETOOBIG;
    }
    size_t need = buf->len + extra;
    if (need <= buf->cap) {
        return 0;
    }
    size_t cap = buf->cap < 64 ? 64 : buf->cap;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    if (cap > buf->max) {
        cap = buf->max;
    }
    uint8_t *p = scitt_mem_realloc(buf->mem, buf->base, cap);
    if (p == NULL) {
        return SCITT_ENOMEM;
    }
    buf->base = p;
    buf->cap = cap;
    return 0;
}

int scitt_buf_append_byte(scitt_buf_t *buf, uint8_t byte)
{
    return scitt_buf_append(buf, &byte, 1);
}

int scitt_buf_append_str(scitt_buf_t *buf, const char *s)
{
    return scitt_buf_append(buf, s, strlen(s));
}

int scitt_buf_printf(scitt_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return SCITT_EINVAL;
    }
    /* Reserve room for vsnprintf's NUL, which is not counted in len. */
    int rc = scitt_buf_reserve(buf, (size_t)n + 1);
    if (rc != 0) {
        return rc;
    }
    va_start(ap, fmt);
    vsnprintf((char *)buf->base + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return 0;
}
