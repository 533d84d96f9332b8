/*
 * test_auth.c: the bearer token file and the Authorization header
 * (src/frontend/auth.c, issue 19).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scitt/auth.h"
#include "scitt/core.h"

static scitt_auth_tokens_t *parse_ok(const char *text)
{
    scitt_auth_tokens_t *t = NULL;
    char err[128] = "";
    cr_assert_eq(scitt_auth_tokens_parse(&t, text, strlen(text), err, sizeof(err)), 0, "%s", err);
    return t;
}

static void parse_fails(const char *text, const char *why)
{
    scitt_auth_tokens_t *t = NULL;
    char err[128] = "";
    cr_assert_eq(scitt_auth_tokens_parse(&t, text, strlen(text), err, sizeof(err)), SCITT_EINVAL, "accepted %s", text);
    cr_assert(strstr(err, why) != NULL, "error \"%s\" lacks \"%s\"", err, why);
}

static int judge(const scitt_auth_tokens_t *t, const char *value)
{
    return scitt_auth_bearer(t, value, strlen(value));
}

Test(auth, file_format)
{
    scitt_auth_tokens_t *t = parse_ok("# tokens of the CI farm\n"
                                      "\n"
                                      "  e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  \r\n"
                                      "C3AB8FF13720E8AD9047DD39466B3C8974E592C2FA383D4A3960714CAEF0C4F2\n");
    cr_assert_eq(scitt_auth_tokens_count(t), 2);
    /* SHA-256("") and SHA-256("foobar") (upper case in the file). */
    cr_assert_eq(judge(t, "Bearer foobar"), SCITT_AUTH_OK);
    scitt_auth_tokens_free(t);
    parse_fails("", "no token hash");
    parse_fails("# only a comment\n", "no token hash");
    parse_fails("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85\n", "line 1");
    parse_fails("ok\n", "line 1");
    parse_fails("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nfoobar\n", "line 2");
}

Test(auth, errors_never_show_the_line)
{
    scitt_auth_tokens_t *t = NULL;
    char err[128] = "";
    const char *text = "my-plain-secret-token\n";
    cr_assert_neq(scitt_auth_tokens_parse(&t, text, strlen(text), err, sizeof(err)), 0);
    cr_assert(strstr(err, "secret") == NULL, "%s", err);
}

Test(auth, bearer_header)
{
    /* SHA-256("foobar") */
    scitt_auth_tokens_t *t = parse_ok("c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2\n");
    cr_assert_eq(judge(t, "Bearer foobar"), SCITT_AUTH_OK);
    cr_assert_eq(judge(t, "bearer   foobar"), SCITT_AUTH_OK, "scheme in any case, several spaces");
    cr_assert_eq(judge(t, "BEARER foobar "), SCITT_AUTH_OK, "trailing space");
    cr_assert_eq(judge(t, "Bearer foobaR"), SCITT_AUTH_INVALID);
    cr_assert_eq(judge(t, "Bearer foobar2"), SCITT_AUTH_INVALID);
    cr_assert_eq(judge(t, "Bearer fooba"), SCITT_AUTH_INVALID);
    cr_assert_eq(judge(t, "Bearer "), SCITT_AUTH_INVALID, "no token");
    cr_assert_eq(judge(t, "Bearer foo bar"), SCITT_AUTH_INVALID, "not one b64token");
    cr_assert_eq(judge(t, "Bearer foo\"bar"), SCITT_AUTH_INVALID);
    cr_assert_eq(judge(t, "Bearer a=b"), SCITT_AUTH_INVALID, "'=' only at the end");
    cr_assert_eq(judge(t, "Basic Zm9vOmJhcg=="), SCITT_AUTH_NONE, "another scheme is no bearer credential");
    cr_assert_eq(judge(t, "Bearerfoobar"), SCITT_AUTH_NONE);
    cr_assert_eq(judge(t, ""), SCITT_AUTH_NONE);
    scitt_auth_tokens_free(t);
    /* b64token characters and '=' padding. */
    t = parse_ok("# SHA-256(\"a-._~+/b==\")\n"
                 "8b9d9e3f83ff78b73bc6484094830a098539d7636de726d93dae8a30552623f5\n");
    cr_assert_eq(judge(t, "Bearer a-._~+/b=="), SCITT_AUTH_OK);
    cr_assert_eq(judge(t, "Bearer a-._~+/b="), SCITT_AUTH_INVALID);
    scitt_auth_tokens_free(t);
}
