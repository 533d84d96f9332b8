/* test_query.c: the GET /entries query string (src/frontend/query.c). */
#include <criterion/criterion.h>

#include "query.h"

static scitt_query_t q;
static char detail[192];

static int parse(const char *qs)
{
    detail[0] = '\0';
    return scitt_query_parse(&q, qs, strlen(qs), detail, sizeof(detail));
}

/* rejects checks a 400 whose detail mentions `word`. */
static void rejects(const char *qs, const char *word)
{
    cr_assert_eq(parse(qs), SCITT_EMALFORMED, "accepted %s", qs);
    cr_assert(strstr(detail, word) != NULL, "%s: detail \"%s\" lacks \"%s\"", qs, detail, word);
}

Test(frontend_query, empty_means_every_entry)
{
    cr_assert_eq(parse(""), 0);
    cr_assert_not(q.has_iss || q.has_sub || q.has_kid || q.has_artifact || q.has_since || q.has_until);
    cr_assert_eq(q.limit, SCITT_QUERY_LIMIT_DEFAULT);
    cr_assert_eq(q.from, 0);
}

Test(frontend_query, percent_decoding)
{
    cr_assert_eq(parse("iss=did%3Aweb%3Aexample.com&sub=a+b%20c%2b%C3%A9"), 0);
    cr_assert(q.has_iss && q.has_sub);
    cr_assert_eq(q.iss_len, 19);
    cr_assert_arr_eq(q.iss, "did:web:example.com", 19);
    cr_assert_eq(q.sub_len, 8);
    cr_assert_arr_eq(q.sub, "a+b c+\xc3\xa9", 8); /* '+' stays a plus */
    cr_assert_eq(parse("iss=a=b"), 0);            /* '=' in a value is literal */
    cr_assert_arr_eq(q.iss, "a=b", 3);
    cr_assert_eq(parse("sub=%00"), 0);
    cr_assert_eq(q.sub_len, 1);
}

Test(frontend_query, bad_encoding)
{
    rejects("iss=%", "iss is not valid percent-encoding");
    rejects("iss=%4", "iss is not valid percent-encoding");
    rejects("iss=%zz", "iss");
    rejects("sub=a b", "sub is not valid percent-encoding");
    rejects("sub=a#b", "sub");
    rejects("sub=\xc3\xa9", "sub"); /* raw non-ASCII */
    rejects("iss=%C3", "iss is not UTF-8");
    rejects("iss=%ED%A0%80", "iss is not UTF-8");
}

Test(frontend_query, text_length_bound)
{
    char qs[4 + 1025 + 1] = "iss=";
    memset(qs + 4, 'a', 1024);
    qs[4 + 1024] = '\0';
    cr_assert_eq(parse(qs), 0);
    cr_assert_eq(q.iss_len, 1024);
    qs[4 + 1024] = 'a';
    qs[4 + 1025] = '\0';
    rejects(qs, "longer than 1024");
}

/* A kid is typed as scitt keygen prints it, unpadded base64url (issue
 * 15), or as the 64 hex digits of a thumbprint; kids of any other length
 * are base64url only. */
Test(frontend_query, kid_base64url_and_artifact_hex)
{
    static const uint8_t thumb[32] = {0x8b, 0x1b, 0xe2, 0xcf, 0x0c, 0x42, 0xfb, 0x4c, 0xd5, 0x75, 0xa3,
                                      0xea, 0xa9, 0x1c, 0x04, 0x21, 0x20, 0x4c, 0x1e, 0xa4, 0x55, 0x69,
                                      0xf7, 0xde, 0x7c, 0x5a, 0x9a, 0x6c, 0x6d, 0x70, 0x2e, 0xe8};
    cr_assert_eq(parse("kid=ixvizwxC-0zVdaPqqRwEISBMHqRVaffefFqabG1wLug"), 0);
    cr_assert_eq(q.kid_len, 32);
    cr_assert_arr_eq(q.kid, thumb, 32);
    cr_assert_eq(parse("kid=8B1BE2CF0C42FB4CD575A3EAA91C0421204C1EA45569F7DE7C5A9A6C6D702EE8"), 0);
    cr_assert_eq(q.kid_len, 32);
    cr_assert_arr_eq(q.kid, thumb, 32);
    cr_assert_eq(parse("kid=AQI"), 0);
    cr_assert_eq(q.kid_len, 2);
    cr_assert_eq(q.kid[0], 0x01);
    cr_assert_eq(q.kid[1], 0x02);
    cr_assert_eq(parse("kid=0aFF"), 0); /* base64url of 3 bytes, not hex of 2 */
    cr_assert_eq(q.kid_len, 3);
    rejects("kid=0", "kid must be the key id in unpadded base64url");
    rejects("kid=AQI=", "kid must be");
    rejects("kid=AQI%3D", "kid must be");
    rejects("kid=AQJ", "kid must be"); /* unused bits set: not the one spelling */
    rejects("kid=a%2Bb", "kid must be");
    char big[4 + 87 + 1] = "kid=";
    memset(big + 4, 'A', 86);
    big[4 + 86] = '\0';
    cr_assert_eq(parse(big), 0); /* 64 bytes */
    cr_assert_eq(q.kid_len, 64);
    big[4 + 86] = 'A';
    big[4 + 87] = '\0';
    rejects(big, "kid"); /* 65 bytes */
    char art[9 + 64 + 1] = "artifact=";
    memset(art + 9, 'B', 64);
    art[9 + 64] = '\0';
    cr_assert_eq(parse(art), 0);
    cr_assert_eq(q.artifact_len, 32);
    cr_assert_eq(q.artifact[0], 0xbb);
    rejects("artifact=00112233445566778899aabbccddee", "artifact"); /* 15 bytes */
}

Test(frontend_query, times)
{
    int64_t t;
    cr_assert_eq(scitt_query_parse_time(&t, "0", 1), 0);
    cr_assert_eq(t, 0);
    cr_assert_eq(scitt_query_parse_time(&t, "1700000000", 10), 0);
    cr_assert_eq(t, 1700000000);
    cr_assert_eq(scitt_query_parse_time(&t, "1970-01-01T00:00:00Z", 20), 0);
    cr_assert_eq(t, 0);
    cr_assert_eq(scitt_query_parse_time(&t, "2023-11-14T22:13:20Z", 20), 0);
    cr_assert_eq(t, 1700000000);
    cr_assert_eq(scitt_query_parse_time(&t, "2024-02-29T12:00:00Z", 20), 0);
    cr_assert_eq(t, 1709208000);
    cr_assert_eq(scitt_query_parse_time(&t, "9999-12-31T23:59:59Z", 20), 0);
    cr_assert_eq(t, SCITT_QUERY_TIME_MAX);
    const char *bad[] = {"",
                         "-1",
                         "01",
                         "1.5",
                         "253402300800",
                         "99999999999999999999",
                         "2023-02-29T00:00:00Z",
                         "1900-02-29T00:00:00Z",
                         "1969-12-31T23:59:59Z",
                         "2023-13-01T00:00:00Z",
                         "2023-04-31T00:00:00Z",
                         "2023-01-01T24:00:00Z",
                         "2023-01-01T00:60:00Z",
                         "2023-01-01T00:00:60Z",
                         "2023-01-01t00:00:00Z",
                         "2023-01-01T00:00:00z",
                         "2023-01-01T00:00:00+00:00",
                         "2023-01-01 00:00:00Z",
                         "2023-1-01T00:00:00Z"};
    for (size_t i = 0; i < scitt_countof(bad); i++) {
        cr_assert_eq(scitt_query_parse_time(&t, bad[i], strlen(bad[i])), SCITT_EMALFORMED, "accepted %s", bad[i]);
    }
    cr_assert_eq(parse("since=2023-11-14T22:13:20Z&until=1700000001"), 0);
    cr_assert(q.has_since && q.has_until);
    cr_assert_eq(q.since, 1700000000);
    cr_assert_eq(q.until, 1700000001);
    cr_assert_eq(parse("since=5&until=5"), 0); /* empty range, not an error */
    rejects("since=6&until=5", "since is after until");
    rejects("since=yesterday", "since must be");
    rejects("until=2023-11-14T22:13:20%2B01", "until");
}

Test(frontend_query, limit_bounds)
{
    cr_assert_eq(parse("limit=1"), 0);
    cr_assert_eq(q.limit, 1);
    cr_assert_eq(parse("limit=1000"), 0);
    cr_assert_eq(q.limit, 1000);
    rejects("limit=0", "limit must be");
    rejects("limit=1001", "limit");
    rejects("limit=010", "limit");
    rejects("limit=-1", "limit");
    rejects("limit=99999999999999999999999", "limit");
}

Test(frontend_query, cursor_round_trip)
{
    uint64_t leaves[] = {0, 1, 255, 1u << 20, UINT64_MAX - 1};
    for (size_t i = 0; i < scitt_countof(leaves); i++) {
        char c[SCITT_QUERY_CURSOR_LEN + 1], qs[64];
        scitt_query_cursor_encode(c, leaves[i]);
        cr_assert_eq(strlen(c), SCITT_QUERY_CURSOR_LEN);
        snprintf(qs, sizeof(qs), "cursor=%s", c);
        cr_assert_eq(parse(qs), 0);
        cr_assert(q.has_cursor);
        cr_assert_eq(q.from, leaves[i]);
    }
    /* version 1, leaf 5: AQAAAAAAAAAF */
    cr_assert_eq(parse("cursor=AQAAAAAAAAAF"), 0);
    cr_assert_eq(q.from, 5);
    rejects("cursor=AgAAAAAAAAAF", "cursor is not a cursor"); /* version 2 */
    rejects("cursor=AQAAAAAAAAA", "cursor");                  /* short */
    rejects("cursor=AQAAAAAAAAAFAA", "cursor");               /* long */
    rejects("cursor=AQAAAAAAAAA%3D", "cursor");               /* padding */
    rejects("cursor=AQAAAAAAAAA+", "cursor");                 /* std alphabet */
}

Test(frontend_query, unknown_repeated_and_empty)
{
    rejects("foo=1", "unknown parameter \"foo\"");
    rejects("ISS=a", "unknown parameter \"ISS\"");
    rejects("%69ss=a", "unknown parameter");
    rejects("iss=a&iss=a", "iss is given more than once");
    rejects("limit=2&limit=3", "limit is given more than once");
    rejects("iss=", "iss has an empty value");
    rejects("iss", "iss has an empty value");
    rejects("kid=", "kid has an empty value");
    rejects("iss=a&", "empty parameter name");
    rejects("&iss=a", "empty parameter name");
    rejects("=a", "empty parameter name");
    rejects("iss=a&&sub=b", "empty parameter name");
    rejects("\x01=a", "unknown parameter");
}

Test(frontend_query, every_filter_together)
{
    cr_assert_eq(parse("iss=i&sub=s&kid=AQ&artifact=00112233445566778899aabbccddeeff&since=1&until=2&limit=7"
                       "&cursor=AQAAAAAAAAAK"),
                 0);
    cr_assert(q.has_iss && q.has_sub && q.has_kid && q.has_artifact && q.has_since && q.has_until && q.has_cursor);
    cr_assert_eq(q.limit, 7);
    cr_assert_eq(q.from, 10);
    cr_assert_eq(q.artifact_len, 16);
}

Test(frontend_query, detail_is_printable_and_bounded)
{
    char small[16];
    cr_assert_eq(scitt_query_parse(&q, "nosuchparameter=1", 17, small, sizeof(small)), SCITT_EMALFORMED);
    cr_assert_eq(strlen(small), sizeof(small) - 1);
    rejects("a\"b=1", "unknown parameter");
    cr_assert(strchr(detail, '"') == NULL);
}
