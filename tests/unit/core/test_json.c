#include <criterion/criterion.h>

#include "scitt/core.h"

/* json_of returns the JSON string for `len` bytes of `in` (static buffer). */
static const char *json_of(const char *in, size_t len)
{
    static char text[256];
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_json_put_string(&b, scitt_span(in, len)), 0);
    cr_assert_lt(b.len, sizeof(text));
    memcpy(text, b.base, b.len);
    text[b.len] = '\0';
    scitt_buf_cleanup(&b);
    return text;
}

Test(core_json, plain_text_is_quoted)
{
    cr_assert_str_eq(json_of("", 0), "\"\"");
    cr_assert_str_eq(json_of("did:web:example.com", 19), "\"did:web:example.com\"");
}

Test(core_json, escapes_quotes_backslash_and_controls)
{
    cr_assert_str_eq(json_of("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    cr_assert_str_eq(json_of("\n\r\t", 3), "\"\\n\\r\\t\"");
    cr_assert_str_eq(json_of("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
    cr_assert_str_eq(json_of("a\0b", 3), "\"a\\u0000b\"");
}

Test(core_json, keeps_valid_utf8)
{
    /* U+00E9, U+20AC, U+1F600 */
    cr_assert_str_eq(json_of("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
}

Test(core_json, replaces_invalid_utf8)
{
    /* A lone continuation byte, an overlong '/', a surrogate, above U+10FFFF,
     * a truncated sequence at the end: each bad byte becomes U+FFFD. */
    cr_assert_str_eq(json_of("a\x80z", 3), "\"a\xef\xbf\xbdz\"");
    cr_assert_str_eq(json_of("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
    cr_assert_str_eq(json_of("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    cr_assert_str_eq(json_of("\xf4\x90\x80\x80", 4), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
    cr_assert_str_eq(json_of("x\xe2\x82", 3), "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
}

Test(core_json, utf8_valid)
{
    cr_assert(scitt_utf8_valid(scitt_span_str("plain")));
    cr_assert(scitt_utf8_valid(scitt_span("\xf0\x9f\x98\x80", 4)));
    cr_assert_not(scitt_utf8_valid(scitt_span("\xe2\x82", 2)));
    cr_assert_not(scitt_utf8_valid(scitt_span("\xff", 1)));
}

Test(core_json, too_big_leaves_buffer_unchanged)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 4);
    cr_assert_eq(scitt_buf_append(&b, "ab", 2), 0);
    cr_assert_eq(scitt_json_put_string(&b, scitt_span_str("long text")), SCITT_ETOOBIG);
    cr_assert_eq(b.len, 2);
    scitt_buf_cleanup(&b);
}

Test(core_json, escapes_c1_controls_and_line_separators)
{
    /* U+009B (CSI to a terminal), U+0080, U+009F; U+00A0 is printable. */
    cr_assert_str_eq(json_of("\xc2\x9b[2J\xc2\x80\xc2\x9f\xc2\xa0", 11), "\"\\u009b[2J\\u0080\\u009f\xc2\xa0\"");
    /* U+2028 and U+2029 end lines for some readers; U+2027 and U+202A stay. */
    cr_assert_str_eq(json_of("\xe2\x80\xa8\xe2\x80\xa9", 6), "\"\\u2028\\u2029\"");
    cr_assert_str_eq(json_of("\xe2\x80\xa7\xe2\x80\xaa", 6), "\"\xe2\x80\xa7\xe2\x80\xaa\"");
}
