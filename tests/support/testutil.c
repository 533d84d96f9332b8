/* testutil.c: see testutil.h. Test code: aborts on allocation failure. */
#include "testutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/cond.h"
#include "scitt/core.h"

char *tu_testdata_path(const char *fmt, ...)
{
    const char *root = getenv("SCITT_TESTDATA");
    if (root == NULL) {
        root = "../shared/testdata";
    }
    char rel[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    size_t n = strlen(root) + strlen(rel) + 2;
    char *out = scitt_xmalloc(n);
    snprintf(out, n, "%s/%s", root, rel);
    return out;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    if (scitt_read_file(path, &buf) != 0 || scitt_buf_append_byte(&buf, 0) != 0) {
        scitt_buf_cleanup(&buf);
        return NULL;
    }
    *len = buf.len - 1;
    return buf.base;
}

static void *fail_malloc(size_t size, void *ud)
{
    tu_failmem_t *f = ud;
    return f->budget-- > 0 ? malloc(size) : NULL;
}

static void *fail_realloc(void *p, size_t size, void *ud)
{
    tu_failmem_t *f = ud;
    return f->budget-- > 0 ? realloc(p, size) : NULL;
}

static void fail_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

void tu_failmem_init(tu_failmem_t *f, int budget)
{
    f->mem = (scitt_mem_t){fail_malloc, fail_realloc, fail_free, f};
    f->budget = budget;
}

uint8_t *tu_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    uint8_t *out = scitt_xmalloc(n / 2 + 1);
    if (scitt_hex_decode(out, n / 2, len, hex, n) != 0) {
        abort();
    }
    return out;
}

/* A recursive-descent JSON reader: enough for the vector manifests, strict
 * enough that a malformed manifest fails the test instead of passing it. */
typedef struct {
    const char *p, *end;
} tj_cursor_t;

static void skip_ws(tj_cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) {
        c->p++;
    }
}

static tj_t *new_value(tj_type_t type)
{
    tj_t *v = scitt_xmalloc(sizeof(*v));
    memset(v, 0, sizeof(*v));
    v->type = type;
    return v;
}

static void put_utf8(scitt_buf_t *b, unsigned cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6);
        u[1] = (uint8_t)(0x80 | (cp & 63));
        n = 2;
    } else {
        u[0] = (uint8_t)(0xe0 | cp >> 12);
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 63));
        u[2] = (uint8_t)(0x80 | (cp & 63));
        n = 3;
    }
    scitt_buf_append(b, u, n);
}

static char *parse_string(tj_cursor_t *c, size_t *len)
{
    if (c->p >= c->end || *c->p != '"') {
        return NULL;
    }
    c->p++;
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch != '\\') {
            scitt_buf_append_byte(&b, (uint8_t)ch);
            continue;
        }
        if (c->p >= c->end) {
            break;
        }
        char e = *c->p++;
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != 0 && simple != NULL) {
            static const char repl[] = "\"\\/\b\f\n\r\t";
            scitt_buf_append_byte(&b, (uint8_t)repl[simple - "\"\\/bfnrt"]);
        } else if (e == 'u' && c->end - c->p >= 4) {
            uint8_t two[2];
            size_t n;
            if (scitt_hex_decode(two, 2, &n, c->p, 4) != 0) {
                break;
            }
            put_utf8(&b, (unsigned)two[0] << 8 | two[1]);
            c->p += 4;
        } else {
            break;
        }
    }
    if (c->p >= c->end) {
        scitt_buf_cleanup(&b);
        return NULL;
    }
    c->p++;
    *len = b.len;
    scitt_buf_append_byte(&b, 0);
    return (char *)b.base;
}

static tj_t *parse_value(tj_cursor_t *c, int depth);

static tj_t *parse_container(tj_cursor_t *c, int depth, bool is_obj)
{
    tj_t *v = new_value(is_obj ? TJ_OBJ : TJ_ARR);
    char close = is_obj ? '}' : ']';
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        size_t key_len;
        skip_ws(c);
        if (is_obj) {
            key = parse_string(c, &key_len);
            skip_ws(c);
            if (key == NULL || c->p >= c->end || *c->p != ':') {
                free(key);
                goto fail;
            }
            c->p++;
        }
        tj_t *item = parse_value(c, depth + 1);
        if (item == NULL) {
            free(key);
            goto fail;
        }
        v->items = realloc(v->items, (v->len + 1) * sizeof(*v->items));
        v->items[v->len] = item;
        if (is_obj) {
            v->keys = realloc(v->keys, (v->len + 1) * sizeof(*v->keys));
            v->keys[v->len] = key;
        }
        v->len++;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return v;
        }
        goto fail;
    }
fail:
    tj_free(v);
    return NULL;
}

static bool take_word(tj_cursor_t *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return true;
    }
    return false;
}

static tj_t *parse_value(tj_cursor_t *c, int depth)
{
    skip_ws(c);
    if (c->p >= c->end || depth > 64) {
        return NULL;
    }
    tj_t *v;
    switch (*c->p) {
    case '{':
    case '[':
        return parse_container(c, depth, *c->p == '{');
    case '"':
        v = new_value(TJ_STR);
        v->str = parse_string(c, &v->len);
        if (v->str == NULL) {
            free(v);
            return NULL;
        }
        return v;
    default:
        if (take_word(c, "null")) {
            return new_value(TJ_NULL);
        }
        if (take_word(c, "true") || take_word(c, "false")) {
            v = new_value(TJ_BOOL);
            v->b = c->p[-1] == 'e' && c->p[-2] == 'u';
            return v;
        }
        char tmp[64];
        size_t n = 0;
        while (c->p + n < c->end && n < sizeof(tmp) - 1 && strchr("+-0123456789.eE", c->p[n]) != NULL) {
            n++;
        }
        if (n == 0) {
            return NULL;
        }
        memcpy(tmp, c->p, n);
        tmp[n] = 0;
        c->p += n;
        v = new_value(TJ_NUM);
        v->num = strtod(tmp, NULL);
        v->i = strtoll(tmp, NULL, 10);
        return v;
    }
}

tj_t *tj_parse(const char *text, size_t len)
{
    tj_cursor_t c = {text, text + len};
    tj_t *v = parse_value(&c, 0);
    skip_ws(&c);
    if (v != NULL && c.p != c.end) {
        tj_free(v);
        return NULL;
    }
    return v;
}

tj_t *tj_parse_file(const char *path)
{
    size_t len;
    uint8_t *text = tu_read_file(path, &len);
    if (text == NULL) {
        return NULL;
    }
    tj_t *v = tj_parse((const char *)text, len);
    free(text);
    return v;
}

const tj_t *tj_get(const tj_t *obj, const char *key)
{
    if (obj == NULL || obj->type != TJ_OBJ) {
        return NULL;
    }
    for (size_t i = 0; i < obj->len; i++) {
        if (strcmp(obj->keys[i], key) == 0) {
            return obj->items[i];
        }
    }
    return NULL;
}

void tj_free(tj_t *v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < v->len && v->items != NULL; i++) {
        tj_free(v->items[i]);
        if (v->keys != NULL) {
            free(v->keys[i]);
        }
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool tu_cond_waits_monotonic(pthread_cond_t *cond, pthread_mutex_t *lock)
{
    struct timespec until;
    double due = mono_seconds() + 0.05;
    scitt_deadline(&until, 50000000);
    pthread_mutex_lock(lock);
    int rc = 0;
    while (rc == 0) { /* a stray wake-up is not the deadline: wait again */
        rc = pthread_cond_timedwait(cond, lock, &until);
    }
    pthread_mutex_unlock(lock);
    return rc == ETIMEDOUT && mono_seconds() >= due - 0.001;
}
