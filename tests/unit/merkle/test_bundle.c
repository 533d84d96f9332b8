/*
 * test_bundle.c: entry bundles: round trips, strict bounds on decode (every
 * truncation is rejected), and encode limits.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/merkle.h"

Test(merkle_bundle, round_trip_and_truncations)
{
    static uint8_t big[65535];
    memset(big, 0xab, sizeof(big));
    scitt_span_t entries[4] = {scitt_span("abc", 3), scitt_span("", 0), scitt_span(big, sizeof(big)),
                               scitt_span("z", 1)};
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    cr_assert_eq(scitt_merkle_bundle_encode(&buf, entries, 4), 0);
    cr_assert_eq(buf.len, 2 * 4 + 3 + 0 + 65535 + 1);
    cr_expect_eq(memcmp(buf.base,
                        "\x00\x03"
                        "abc\x00\x00\xff\xff",
                        9),
                 0);
    scitt_span_t out[4];
    size_t num;
    cr_assert_eq(scitt_merkle_bundle_decode(out, 4, &num, buf.base, buf.len), 0);
    cr_assert_eq(num, 4);
    for (size_t i = 0; i < 4; i++) {
        cr_expect(scitt_span_eq(out[i], entries[i]));
        cr_expect(scitt_span_within(out[i], scitt_span(buf.base, buf.len)) || out[i].len == 0);
    }
    cr_expect_eq(scitt_merkle_bundle_decode(out, 3, &num, buf.base, buf.len), SCITT_ETOOBIG);
    /* Every proper prefix either is a shorter valid bundle (cut exactly at
     * an entry boundary) or is rejected as truncated. */
    size_t boundaries[] = {5, 7, 7 + 2 + 65535};
    for (size_t k = 1; k < buf.len; k += (k < 100 || k > buf.len - 100) ? 1 : 997) {
        int rc = scitt_merkle_bundle_decode(out, 4, &num, buf.base, k);
        bool boundary = k == boundaries[0] || k == boundaries[1] || k == boundaries[2];
        cr_expect_eq(rc, boundary ? 0 : SCITT_ETRUNCATED, "prefix %zu", k);
    }
    cr_expect_eq(scitt_merkle_bundle_decode(out, 4, &num, buf.base, 0), SCITT_EMALFORMED);
    scitt_buf_cleanup(&buf);
}

Test(merkle_bundle, encode_limits)
{
    static uint8_t big[65536];
    scitt_span_t e[257];
    for (size_t i = 0; i < 257; i++) {
        e[i] = scitt_span("x", 1);
    }
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    cr_expect_eq(scitt_merkle_bundle_encode(&buf, e, 0), SCITT_EINVAL);
    cr_expect_eq(scitt_merkle_bundle_encode(&buf, e, 257), SCITT_EINVAL);
    cr_expect_eq(scitt_merkle_bundle_encode(&buf, e, 256), 0);
    cr_expect_eq(buf.len, 256 * 3);
    e[1] = scitt_span(big, sizeof(big));
    cr_expect_eq(scitt_merkle_bundle_encode(&buf, e, 2), SCITT_ETOOBIG);
    cr_expect_eq(buf.len, 256 * 3, "a failed encode leaves the buffer as it was");
    scitt_buf_cleanup(&buf);

    scitt_buf_init(&buf, NULL, 10);
    e[1] = scitt_span("x", 1);
    cr_expect_eq(scitt_merkle_bundle_encode(&buf, e, 4), SCITT_ETOOBIG);
    cr_expect_eq(buf.len, 0);
    cr_expect_eq(scitt_merkle_bundle_encode(&buf, e, 3), 0);
    scitt_buf_cleanup(&buf);
}
