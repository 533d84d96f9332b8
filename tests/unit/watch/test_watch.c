/*
 * test_watch.c: the watch file parser (every rule, every error with its
 * line, limits, truncation, failing allocation) and the alert rules
 * (matching by kid, iss and sub; each flag).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/watch.h"
#include "testutil.h"

#define KID "8b1be2cf0c42fb4cd575a3eaa91c0421204c1ea45569f7de7c5a9a6c6d702ee8"

static const char owner[] = "# the owner's CI\r\n"
                            "\n"
                            "kid " KID "\n"
                            "  iss\thttps://owner.example  \n"
                            "sub pkg:owner/release notes #1\n"
                            "expect-sub pkg:owner/*\n"
                            "expect-iss https://owner.example\n"
                            "expect-hours 8-18 UTC\n"
                            "expect-hours 22-06";

static int parse(scitt_watch_t *w, const char *text, unsigned *line, const char **why)
{
    return scitt_watch_parse(w, NULL, (const uint8_t *)text, strlen(text), line, why);
}

static scitt_span_t kid_bytes(void)
{
    static uint8_t kid[32];
    size_t n;
    cr_assert_eq(scitt_hex_decode(kid, sizeof(kid), &n, KID, strlen(KID)), 0);
    return scitt_span(kid, n);
}

Test(watch, parses_every_rule)
{
    scitt_watch_t w;
    unsigned line = 99;
    const char *why = NULL;
    cr_assert_eq(parse(&w, owner, &line, &why), 0, "%s", why);
    cr_assert_eq(line, 0);
    cr_assert_eq(w.num_rules, 7);
    cr_assert_eq(w.rules[0].kind, SCITT_WATCH_KID);
    cr_assert_eq(w.rules[0].line, 3);
    cr_assert(scitt_span_eq(scitt_span(w.rules[0].kid, w.rules[0].kid_len), kid_bytes()));
    cr_assert_eq(w.rules[1].kind, SCITT_WATCH_ISS);
    cr_assert(scitt_span_eq(w.rules[1].value, scitt_span_str("https://owner.example")), "trailing blanks trimmed");
    cr_assert(scitt_span_eq(w.rules[2].value, scitt_span_str("pkg:owner/release notes #1")), "blanks and # kept");
    cr_assert(w.rules[3].prefix);
    cr_assert(scitt_span_eq(w.rules[3].value, scitt_span_str("pkg:owner/")));
    cr_assert(!w.rules[4].prefix);
    cr_assert_eq(w.rules[5].from_hour, 8);
    cr_assert_eq(w.rules[5].to_hour, 18);
    cr_assert_eq(w.rules[6].from_hour, 22);
    cr_assert_eq(w.rules[6].to_hour, 6);
    cr_assert_eq(w.rules[6].line, 9);
    cr_assert_eq(w.num_by_kind[SCITT_WATCH_EXPECT_HOURS], 2);
    scitt_watch_cleanup(&w);
}

/* The kid scitt keygen prints (unpadded base64url) is the kid a watch file
 * takes, verbatim; the 64 hex digits of the same thumbprint still work
 * (issue 15). */
Test(watch, kid_as_keygen_prints_it)
{
    scitt_watch_t w;
    const char *why = NULL;
    cr_assert_eq(parse(&w, "kid ixvizwxC-0zVdaPqqRwEISBMHqRVaffefFqabG1wLug\nkid " KID "\n", NULL, &why), 0, "%s", why);
    cr_assert_eq(w.num_rules, 2);
    cr_assert(scitt_span_eq(scitt_span(w.rules[0].kid, w.rules[0].kid_len), kid_bytes()));
    cr_assert(scitt_span_eq(scitt_span(w.rules[1].kid, w.rules[1].kid_len), kid_bytes()));
    scitt_watch_entry_t e = {.key_id = kid_bytes()};
    scitt_watch_hit_t hit;
    cr_assert(scitt_watch_check(&w, &e, &hit) && hit.matched == SCITT_WATCH_BY_KID && hit.line == 1);
    scitt_watch_cleanup(&w);
}

Test(watch, errors_name_their_line)
{
    static const struct {
        const char *text;
        unsigned line;
        int rc;
    } cases[] = {
        {"kid qw\nbogus x\n", 2, SCITT_EMALFORMED},
        {"kid abcde\n", 1, SCITT_EMALFORMED}, /* no base64url is 5 characters long */
        {"kid zz\n", 1, SCITT_EMALFORMED},    /* unused bits set */
        {"kid ab\n", 1, SCITT_EMALFORMED},    /* the same */
        {"kid qw==\n", 1, SCITT_EMALFORMED},  /* padded */
        {"kid q+\n", 1, SCITT_EMALFORMED},    /* base64, not base64url */
        {"kid " KID "0\n", 1, SCITT_EMALFORMED},
        {"iss\n", 1, SCITT_EMALFORMED},
        {"sub   \n", 1, SCITT_EMALFORMED},
        {"kid qw\n\nexpect-hours 9-9\n", 3, SCITT_EMALFORMED},
        {"kid qw\nexpect-hours 0-0\n", 2, SCITT_EMALFORMED},
        {"kid qw\nexpect-hours 24-3\n", 2, SCITT_EMALFORMED},
        {"kid qw\nexpect-hours 3-25\n", 2, SCITT_EMALFORMED},
        {"kid qw\nexpect-hours 003-5\n", 2, SCITT_EMALFORMED},
        {"kid qw\nexpect-hours 3-5 CET\n", 2, SCITT_EMALFORMED},
        {"kid qw\nexpect-hours 3-5UTC\n", 2, SCITT_EMALFORMED},
        {"kid qw\nexpect-hours 3 5\n", 2, SCITT_EMALFORMED},
        {"kid qw\nsub a\x01z\n", 2, SCITT_EMALFORMED},
        {"kid qw\nsub a\rz\n", 2, SCITT_EMALFORMED},
        {"KID qw\n", 1, SCITT_EMALFORMED},
        {"kid\tqw\nexpect-sub *\n# only expectations below\nexpect-iss x\n", 0, 0},
        {"# nothing\n\nexpect-sub x\n", 0, SCITT_EINVAL},
        {"", 0, SCITT_EINVAL},
    };
    for (size_t i = 0; i < scitt_countof(cases); i++) {
        scitt_watch_t w;
        unsigned line = 99;
        const char *why = NULL;
        int rc = parse(&w, cases[i].text, &line, &why);
        cr_assert_eq(rc, cases[i].rc, "case %zu: rc %d", i, rc);
        cr_assert_eq(line, cases[i].line, "case %zu: line %u", i, line);
        cr_assert(rc == 0 || (why != NULL && why[0] != '\0'), "case %zu has a reason", i);
        scitt_watch_cleanup(&w);
    }
}

Test(watch, limits)
{
    char kid[2 * 65 + 8] = "kid ";
    memset(kid + 4, 'a', 130);
    scitt_watch_t w;
    unsigned line;
    const char *why;
    cr_assert_eq(parse(&w, kid, &line, &why), SCITT_ETOOBIG, "a 65-byte kid");
    scitt_watch_cleanup(&w);

    size_t n = SCITT_WATCH_MAX_LINE + 16;
    char *text = malloc(n + 1);
    memcpy(text, "sub ", 4);
    memset(text + 4, 'x', n - 4);
    text[n] = '\0';
    cr_assert_eq(parse(&w, text, &line, &why), SCITT_ETOOBIG);
    cr_assert_eq(line, 1);
    scitt_watch_cleanup(&w);
    free(text);

    /* SCITT_WATCH_MAX_RULES rules are fine, one more is not. */
    size_t cap = (SCITT_WATCH_MAX_RULES + 1) * 8 + 1;
    text = malloc(cap);
    for (size_t i = 0; i <= SCITT_WATCH_MAX_RULES; i++) {
        memcpy(text + 8 * i, "sub abc\n", 8);
    }
    text[(SCITT_WATCH_MAX_RULES + 1) * 8] = '\0';
    cr_assert_eq(parse(&w, text, &line, &why), SCITT_ETOOBIG);
    cr_assert_eq(line, SCITT_WATCH_MAX_RULES + 1);
    scitt_watch_cleanup(&w);
    text[SCITT_WATCH_MAX_RULES * 8] = '\0';
    cr_assert_eq(parse(&w, text, &line, &why), 0);
    cr_assert_eq(w.num_rules, SCITT_WATCH_MAX_RULES);
    scitt_watch_cleanup(&w);
    free(text);
}

/* Every prefix parses or fails cleanly, never reading past its end. */
Test(watch, every_prefix_is_safe)
{
    size_t len = strlen(owner);
    for (size_t n = 0; n <= len; n++) {
        uint8_t *copy = malloc(n + 1);
        memcpy(copy, owner, n);
        scitt_watch_t w;
        unsigned line;
        const char *why;
        int rc = scitt_watch_parse(&w, NULL, copy, n, &line, &why);
        cr_assert(rc == 0 || rc == SCITT_EINVAL || rc == SCITT_EMALFORMED, "prefix %zu: %d", n, rc);
        for (size_t i = 0; i < w.num_rules; i++) {
            cr_assert(w.rules[i].value.len == 0 || scitt_span_within(w.rules[i].value, scitt_span(copy, n)));
        }
        scitt_watch_cleanup(&w);
        free(copy);
    }
}

Test(watch, failing_allocation)
{
    char text[40 * 10 + 1];
    for (int i = 0; i < 40; i++) {
        memcpy(text + 10 * i, "sub pkg:x\n", 10);
    }
    text[40 * 10] = '\0';
    for (int budget = 0;; budget++) {
        tu_failmem_t f;
        tu_failmem_init(&f, budget);
        scitt_watch_t w;
        int rc = scitt_watch_parse(&w, &f.mem, (const uint8_t *)text, strlen(text), NULL, NULL);
        scitt_watch_cleanup(&w);
        if (rc == 0) {
            cr_assert_gt(budget, 1, "the rules grow more than once");
            break;
        }
        cr_assert_eq(rc, SCITT_ENOMEM);
    }
}

#define NO_TIME INT64_MIN

static scitt_watch_entry_t entry(scitt_span_t kid, const char *iss, const char *sub, int64_t t)
{
    return (scitt_watch_entry_t){.key_id = kid,
                                 .iss = iss != NULL ? scitt_span_str(iss) : scitt_span(NULL, 0),
                                 .sub = sub != NULL ? scitt_span_str(sub) : scitt_span(NULL, 0),
                                 .has_time = t != NO_TIME,
                                 .time = t};
}

#define AT(h) ((int64_t)1700000000 / 86400 * 86400 + (h)*3600 + 59)

Test(watch, flags)
{
    scitt_watch_t w;
    cr_assert_eq(parse(&w, owner, NULL, NULL), 0);
    scitt_watch_hit_t hit;
    scitt_span_t other = scitt_span_str("another key");

    scitt_watch_entry_t e = entry(kid_bytes(), "https://owner.example", "pkg:owner/app", AT(9));
    cr_assert(scitt_watch_check(&w, &e, &hit));
    cr_assert_eq(hit.matched, SCITT_WATCH_BY_KID | SCITT_WATCH_BY_ISS);
    cr_assert_eq(hit.flags, 0, "the owner's own statement");
    cr_assert_eq(hit.line, 3);

    e = entry(kid_bytes(), "https://owner.example", "pkg:evil/x", AT(23));
    cr_assert(scitt_watch_check(&w, &e, &hit));
    cr_assert_eq(hit.flags, SCITT_WATCH_UNEXPECTED_SUBJECT, "the stolen key, in the 22-06 window");

    e = entry(kid_bytes(), "https://thief.example", NULL, AT(19));
    cr_assert(scitt_watch_check(&w, &e, &hit));
    cr_assert_eq(hit.flags, SCITT_WATCH_UNEXPECTED_SUBJECT | SCITT_WATCH_UNEXPECTED_ISSUER | SCITT_WATCH_OUTSIDE_HOURS);
    char text[96];
    scitt_watch_flags_text(text, sizeof(text), hit.flags);
    cr_assert_str_eq(text, "unexpected-subject,unexpected-issuer,outside-hours");

    e = entry(other, "https://owner.example", "pkg:owner/app", NO_TIME);
    cr_assert(scitt_watch_check(&w, &e, &hit));
    cr_assert_eq(hit.matched, SCITT_WATCH_BY_ISS);
    cr_assert_eq(hit.line, 4);
    cr_assert_eq(hit.flags, SCITT_WATCH_UNEXPECTED_KEY | SCITT_WATCH_TIME_UNKNOWN, "an impostor's key");

    e = entry(other, "https://elsewhere.example", "pkg:owner/release notes #1", AT(12));
    cr_assert(scitt_watch_check(&w, &e, &hit));
    cr_assert_eq(hit.matched, SCITT_WATCH_BY_SUB);
    cr_assert_eq(hit.flags, SCITT_WATCH_UNEXPECTED_KEY | SCITT_WATCH_UNEXPECTED_ISSUER);

    e = entry(other, "https://elsewhere.example", "pkg:owner/app", AT(12));
    cr_assert(!scitt_watch_check(&w, &e, &hit), "expectations alone match nothing");
    e = entry(scitt_span(NULL, 0), NULL, NULL, NO_TIME);
    cr_assert(!scitt_watch_check(&w, &e, &hit), "absent fields match nothing");
    scitt_watch_cleanup(&w);

    scitt_watch_flags_text(text, sizeof(text), 0);
    cr_assert_str_eq(text, "expected");
}

Test(watch, hours_bounds)
{
    scitt_watch_t w;
    cr_assert_eq(parse(&w, "sub s\nexpect-hours 0-24\n", NULL, NULL), 0);
    scitt_watch_hit_t hit;
    for (int h = 0; h < 24; h++) {
        scitt_watch_entry_t e = entry(scitt_span(NULL, 0), NULL, "s", AT(h));
        cr_assert(scitt_watch_check(&w, &e, &hit));
        cr_assert_eq(hit.flags, 0, "hour %d is in 0-24", h);
    }
    scitt_watch_cleanup(&w);
    cr_assert_eq(parse(&w, "sub s\nexpect-hours 23-24\n", NULL, NULL), 0);
    scitt_watch_entry_t e = entry(scitt_span(NULL, 0), NULL, "s", AT(23));
    cr_assert(scitt_watch_check(&w, &e, &hit) && hit.flags == 0);
    e = entry(scitt_span(NULL, 0), NULL, "s", AT(0));
    cr_assert(scitt_watch_check(&w, &e, &hit) && hit.flags == SCITT_WATCH_OUTSIDE_HOURS);
    e = entry(scitt_span(NULL, 0), NULL, "s", -3600 * 2 + 5); /* 22:00:05 on 1969-12-31 */
    cr_assert(scitt_watch_check(&w, &e, &hit) && hit.flags == SCITT_WATCH_OUTSIDE_HOURS);
    scitt_watch_cleanup(&w);
}

/* A bare '*' expects any subject, even none (found by fuzz_watch: an
 * empty prefix compared against an absent subject). */
Test(watch, bare_star_fits_an_absent_subject)
{
    scitt_watch_t w;
    cr_assert_eq(parse(&w, "kid qw\nexpect-sub *\n", NULL, NULL), 0);
    static const uint8_t kid[] = {0xab};
    scitt_watch_entry_t e = entry(scitt_span(kid, 1), NULL, NULL, NO_TIME);
    scitt_watch_hit_t hit;
    cr_assert(scitt_watch_check(&w, &e, &hit));
    cr_assert_eq(hit.flags, 0);
    scitt_watch_cleanup(&w);
}
