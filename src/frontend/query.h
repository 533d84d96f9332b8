/*
 * query.h: the query string of GET /entries (issue 10), parsed without the
 * loop or the store so that unit tests and the fuzzer reach it directly.
 *
 *   iss, sub   percent-encoded UTF-8 (RFC 3986; '+' is a literal plus),
 *              1..SCITT_QUERY_TEXT_MAX bytes decoded
 *   kid        the key id, 1..64 bytes, as unpadded base64url (the form
 *              scitt keygen prints), or 64 hex digits (scitt_kid_parse)
 *   artifact   hex of the digest, 16..64 bytes (either case)
 *   since      inclusive, until exclusive: unix seconds (decimal) or RFC
 *   until      3339 UTC "YYYY-MM-DDTHH:MM:SSZ"
 *   limit      1..SCITT_QUERY_LIMIT_MAX, default SCITT_QUERY_LIMIT_DEFAULT
 *   cursor     the opaque "next" of an earlier page: unpadded base64url of
 *              a version byte (1) and the leaf to resume from (u64 BE)
 *
 * Every value is percent-decoded before it is read (so "since=...%3A..."
 * works). Unknown, repeated or empty parameters, bad encodings, out-of-range values
 * and since > until are errors, with a detail naming the parameter.
 */
#ifndef SCITT_SRC_FRONTEND_QUERY_H
#define SCITT_SRC_FRONTEND_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/core.h"

#define SCITT_QUERY_TEXT_MAX      1024
#define SCITT_QUERY_KID_MAX       64
#define SCITT_QUERY_ARTIFACT_MIN  16
#define SCITT_QUERY_ARTIFACT_MAX  64
#define SCITT_QUERY_LIMIT_DEFAULT 100
#define SCITT_QUERY_LIMIT_MAX     1000
#define SCITT_QUERY_CURSOR_LEN    12 /* base64url of 9 bytes */
#define SCITT_QUERY_CURSOR_V1     1
/* Latest accepted time: 9999-12-31T23:59:59Z. */
#define SCITT_QUERY_TIME_MAX 253402300799LL

typedef struct scitt_query {
    bool has_iss, has_sub, has_kid, has_artifact, has_since, has_until, has_cursor;
    uint8_t iss[SCITT_QUERY_TEXT_MAX];
    size_t iss_len;
    uint8_t sub[SCITT_QUERY_TEXT_MAX];
    size_t sub_len;
    uint8_t kid[SCITT_QUERY_KID_MAX];
    size_t kid_len;
    uint8_t artifact[SCITT_QUERY_ARTIFACT_MAX];
    size_t artifact_len;
    int64_t since, until; /* unix seconds, when has_* */
    size_t limit;
    uint64_t from; /* the cursor's leaf; 0 without a cursor */
} scitt_query_t;

/* scitt_query_parse parses `len` bytes of a query string (what follows the
 * '?', without it; may be empty) into `out`. Returns 0, or SCITT_EMALFORMED
 * with `detail` (capacity `detail_cap`, NUL-terminated, printable ASCII)
 * naming the parameter and the problem. */
int scitt_query_parse(scitt_query_t *out, const char *qs, size_t len, char *detail, size_t detail_cap);

/* scitt_query_parse_time reads unix seconds or "YYYY-MM-DDTHH:MM:SSZ"
 * (years 1970..9999, a real calendar date, seconds 00..59). 0 or
 * SCITT_EMALFORMED. */
int scitt_query_parse_time(int64_t *out, const char *s, size_t len);

/* scitt_query_cursor_encode writes the cursor for resuming at `leaf` and a
 * NUL into `out`; scitt_query_cursor_decode reads one back (exactly the
 * encoder's output; anything else is SCITT_EMALFORMED). */
void scitt_query_cursor_encode(char out[SCITT_QUERY_CURSOR_LEN + 1], uint64_t leaf);
int scitt_query_cursor_decode(uint64_t *out, const char *s, size_t len);

#endif /* SCITT_SRC_FRONTEND_QUERY_H */
