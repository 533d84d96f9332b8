/*
 * auth.c: bearer token hashes (see include/scitt/auth.h).
 */
#include "scitt/auth.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scitt/core.h"
#include "scitt/crypto.h"

/* A token file of more lines than this is refused (each line is compared
 * on every authenticated request). */
#define MAX_TOKENS 4096

struct scitt_auth_tokens {
    size_t num;
    uint8_t (*hash)[SCITT_SHA256_LEN];
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int scitt_auth_tokens_parse(scitt_auth_tokens_t **out, const char *text, size_t len, char *err, size_t err_cap)
{
    scitt_auth_tokens_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, err_cap, "out of memory");
        return SCITT_ENOMEM;
    }
    size_t cap = 0, line_no = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = nl != NULL ? nl : end;
        p = nl != NULL ? nl + 1 : end;
        line_no++;
        while (a < b && is_blank(*a)) {
            a++;
        }
        while (b > a && is_blank(b[-1])) {
            b--;
        }
        if (a == b || *a == '#') {
            continue;
        }
        uint8_t h[SCITT_SHA256_LEN];
        size_t n = 0;
        if (scitt_hex_decode(h, sizeof(h), &n, a, (size_t)(b - a)) != 0 || n != sizeof(h)) {
            snprintf(err, err_cap, "line %zu: not a SHA-256 hash (64 hex digits)", line_no);
            scitt_auth_tokens_free(t);
            return SCITT_EINVAL;
        }
        if (t->num == MAX_TOKENS) {
            snprintf(err, err_cap, "more than %d token hashes", MAX_TOKENS);
            scitt_auth_tokens_free(t);
            return SCITT_EINVAL;
        }
        if (t->num == cap) {
            cap = cap == 0 ? 16 : 2 * cap;
            void *grown = realloc(t->hash, cap * sizeof(*t->hash));
            if (grown == NULL) {
                snprintf(err, err_cap, "out of memory");
                scitt_auth_tokens_free(t);
                return SCITT_ENOMEM;
            }
            t->hash = grown;
        }
        memcpy(t->hash[t->num++], h, sizeof(h));
    }
    if (t->num == 0) {
        snprintf(err, err_cap, "no token hash in the file");
        scitt_auth_tokens_free(t);
        return SCITT_EINVAL;
    }
    *out = t;
    return 0;
}

int scitt_auth_tokens_load(scitt_auth_tokens_t **out, const char *path, char *err, size_t err_cap)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, (size_t)1 << 20);
    int rc = scitt_read_file(path, &b);
    if (rc != 0) {
        snprintf(err, err_cap, "cannot read it (%s)", scitt_strerror(rc));
    } else {
        rc = scitt_auth_tokens_parse(out, (const char *)b.base, b.len, err, err_cap);
    }
    scitt_buf_cleanup(&b);
    return rc;
}

void scitt_auth_tokens_free(scitt_auth_tokens_t *t)
{
    if (t != NULL) {
        free(t->hash);
        free(t);
    }
}

size_t scitt_auth_tokens_count(const scitt_auth_tokens_t *t)
{
    return t->num;
}

static bool is_b64token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/';
}

int scitt_auth_bearer(const scitt_auth_tokens_t *t, const char *value, size_t len)
{
    if (len < 7 || strncasecmp(value, "bearer", 6) != 0 || value[6] != ' ') {
        return SCITT_AUTH_NONE;
    }
    const char *p = value + 6, *end = value + len;
    while (p < end && *p == ' ') {
        p++;
    }
    const char *tok = p;
    while (p < end && is_b64token_char(*p)) {
        p++;
    }
    if (p == tok) {
        return SCITT_AUTH_INVALID;
    }
    while (p < end && *p == '=') {
        p++;
    }
    size_t tok_len = (size_t)(p - tok);
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p != end || t == NULL) {
        return SCITT_AUTH_INVALID;
    }
    uint8_t h[SCITT_SHA256_LEN];
    scitt_sha256(h, tok, tok_len);
    /* Every line is compared, whichever matches. */
    unsigned match = 0;
    for (size_t i = 0; i < t->num; i++) {
        match |= (unsigned)scitt_ct_eq(h, t->hash[i], sizeof(h));
    }
    scitt_cleanse(h, sizeof(h));
    return match != 0 ? SCITT_AUTH_OK : SCITT_AUTH_INVALID;
}
