/* test_problem.c: RFC 9290 concise problem details encoding. */
#include <stdlib.h>

#include "cases.h"

Test(cose_problem, encodes_title_detail_and_code)
{
    scitt_buf_t buf;
    size_t want_len;
    scitt_buf_init(&buf, NULL, 0);
    cr_assert_eq(scitt_cose_problem_encode(&buf, "Payload Missing", "no payload", 0), 0);
    /* {-1: "Payload Missing", -2: "no payload"} */
    uint8_t *want = tu_hex("a2206f5061796c6f6164204d697373696e67216a6e6f207061796c6f6164", &want_len);
    cr_assert(scitt_span_eq(scitt_buf_span(&buf), scitt_span(want, want_len)));
    free(want);

    scitt_buf_reset(&buf);
    cr_assert_eq(scitt_cose_problem_encode(&buf, "Rejected", "", 400), 0);
    /* {-1: "Rejected", -2: "", -4: 400} */
    want = tu_hex("a32068"
                  "52656a6563746564"
                  "2160"
                  "23190190",
                  &want_len);
    cr_assert(scitt_span_eq(scitt_buf_span(&buf), scitt_span(want, want_len)));
    free(want);

    /* A full buffer leaves the output untouched. */
    scitt_buf_t small;
    scitt_buf_init(&small, NULL, 4);
    cr_assert_eq(scitt_cose_problem_encode(&small, "Rejected", "why", 0), SCITT_ETOOBIG);
    cr_assert_eq(small.len, 0);
    scitt_buf_cleanup(&small);
    scitt_buf_cleanup(&buf);
}
