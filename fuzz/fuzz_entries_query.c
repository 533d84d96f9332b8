/*
 * fuzz_entries_query.c: arbitrary bytes as the query string of GET
 * /entries into the parser (src/frontend/query.c). Invariants: a failure
 * leaves a non-empty printable-ASCII detail (it goes into problem details
 * verbatim); a success has every length within its bound, text that is
 * UTF-8, since <= until, a limit in 1..1000, and a cursor that re-encodes to
 * the same 12 characters the input held.
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
    check(!q.has_artifact ||
          (q.artifact_len >= SCITT_QUERY_ARTIFACT_MIN && q.artifact_len <= SCITT_QUERY_ARTIFACT_MAX));
    check(!q.has_since || (q.since >= 0 && q.since <= SCITT_QUERY_TIME_MAX));
    check(!q.has_until || (q.until >= 0 && q.until <= SCITT_QUERY_TIME_MAX));
    check(!(q.has_since && q.has_until) || q.since <= q.until);
    check(q.limit >= 1 && q.limit <= SCITT_QUERY_LIMIT_MAX);
    check(q.has_cursor || q.from == 0);
    if (q.has_cursor) {
        char c[SCITT_QUERY_CURSOR_LEN + 1];
        scitt_query_cursor_encode(c, q.from);
        check(memmem(data, size, c, SCITT_QUERY_CURSOR_LEN) != NULL);
    }
    return 0;
}
