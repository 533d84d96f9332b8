/*
 * auth.h: bearer tokens for registration (issue 19, `scittd --tokens FILE`).
 *
 * The token file holds one SHA-256 hash per line, as 64 hex digits (either
 * case); blank lines and lines starting with '#' are skipped, surrounding
 * spaces ignored. scittd never holds the tokens themselves: a request's
 * `Authorization: Bearer <token>` (RFC 6750 section 2.1) is hashed and the
 * hash compared in constant time with every line, so neither the timing
 * nor the file tells a token.
 *
 * Thread safety: a token set is read-only once loaded.
 */
#ifndef SCITT_AUTH_H
#define SCITT_AUTH_H

#include <stddef.h>
#include <stdint.h>

typedef struct scitt_auth_tokens scitt_auth_tokens_t;

/* scitt_auth_tokens_parse reads the text of a token file (`len` bytes).
 * On failure it returns SCITT_EINVAL (a line that is not 64 hex digits, or
 * no hash at all) or SCITT_ENOMEM, and writes a reason naming the line
 * number, never its content, into `err` (capacity `err_cap`). */
int scitt_auth_tokens_parse(scitt_auth_tokens_t **out, const char *text, size_t len, char *err, size_t err_cap);

/* scitt_auth_tokens_load reads and parses the file at `path`. */
int scitt_auth_tokens_load(scitt_auth_tokens_t **out, const char *path, char *err, size_t err_cap);

void scitt_auth_tokens_free(scitt_auth_tokens_t *t);
size_t scitt_auth_tokens_count(const scitt_auth_tokens_t *t);

/* Verdicts on an Authorization header value. */
enum {
    SCITT_AUTH_NONE,   /* no Bearer credential (absent, or another scheme) */
    SCITT_AUTH_OK,     /* a Bearer token whose hash is in the set */
    SCITT_AUTH_INVALID /* a Bearer credential that is malformed or not in the set */
};

/* scitt_auth_bearer judges the Authorization value `value` (`len` bytes):
 * "Bearer" (any case), one or more spaces, a b64token (RFC 6750 2.1). */
int scitt_auth_bearer(const scitt_auth_tokens_t *t, const char *value, size_t len);

#endif /* SCITT_AUTH_H */
