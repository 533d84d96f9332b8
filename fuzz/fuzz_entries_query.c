/*
 * fuzz_entries_query.c: arbitrary bytes as the query string of GET
 * /entries into the parser (src/frontend/query.c). Invariants: a failure
 * leaves a non-empty printable-ASCII detail (it goes into problem details
 * verbatim); a success has every length within its bound, text that is
 * UTF-8, since <= until, a limit in 1..1000, a kid that prints
 * (scitt_kid_append) to a spelling that reads back as the same bytes, and a
 * cursor that re-encodes to 12 characters that decode to the same leaf.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static scitt_query_t q;
    char detail[192];
    const char *qs = (const char *)data;
    memset(detail, 0x55, sizeof(detail));
    if (scitt_query_parse(&q, qs, size, detail, sizeof(detail)) != 0) {
        size_t n = strnlen(detail, sizeof(detail));
        check(n > 0 && n < sizeof(detail));
        for (size_t i = 0; i < n; i++) {
            check(detail[i] >= 0x20 && detail[i] < 0x7f);
        }
        return 0;
    }
    check(!q.has_iss || (q.iss_len >= 1 && q.iss_len <= SCITT_QUERY_TEXT_MAX));
    check(!q.has_sub || (q.sub_len >= 1 && q.sub_len <= SCITT_QUERY_TEXT_MAX));
    check(!q.has_iss || scitt_utf8_valid(scitt_span(q.iss, q.iss_len)));
    check(!q.has_sub || scitt_utf8_valid(scitt_span(q.sub, q.sub_len)));
    check(!q.has_kid || (q.kid_len >= 1 && q.kid_len <= SCITT_QUERY_KID_MAX));
    if (q.has_kid) {
        scitt_buf_t b;
        uint8_t back[SCITT_QUERY_KID_MAX];
        size_t n = 0;
        scitt_buf_init(&b, NULL, 0);
        check(scitt_kid_append(&b, scitt_span(q.kid, q.kid_len)) == 0);
        check(scitt_kid_parse(back, sizeof(back), &n, (const char *)b.base, b.len) == 0);
        check(n == q.kid_len && memcmp(back, q.kid, n) == 0);
        scitt_buf_cleanup(&b);
    }
    check(!q.has_artifact ||
          (q.artifact_len >= SCITT_QUERY_ARTIFACT_MIN && q.artifact_len <= SCITT_QUERY_ARTIFACT_MAX));
    check(!q.has_since || (q.since >= 0 && q.since <= SCITT_QUERY_TIME_MAX));
    check(!q.has_until || (q.until >= 0 && q.until <= SCITT_QUERY_TIME_MAX));
    check(!(q.has_since && q.has_until) || q.since <= q.until);
    check(q.limit >= 1 && q.limit <= SCITT_QUERY_LIMIT_MAX);
    check(q.has_cursor || q.from == 0);
    if (q.has_cursor) {
        /* The input may hold it percent-encoded ("%30" for '0'), so the
         * check is the round trip, not a search of the input. */
        char c[SCITT_QUERY_CURSOR_LEN + 1];
        uint64_t back = 0;
        scitt_query_cursor_encode(c, q.from);
        check(scitt_query_cursor_decode(&back, c, SCITT_QUERY_CURSOR_LEN) == 0 && back == q.from);
    }
    return 0;
}
