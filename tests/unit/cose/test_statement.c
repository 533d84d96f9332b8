/* test_statement.c: RFC 9943 signed-statement rules and their SCRAPI titles. */
#include <stdlib.h>

#include "cases.h"

static const struct {
    const char *name;
    int rc;
} rules[] = {
    {"good", 0},
    {"crit_ok", 0},
    {"x5t_uri", 0},
    {"x5chain_one", 0},
    {"he_ok", 0},
    {"typ_ctype", 0},
    {"no_alg", SCITT_EBADALG},
    {"alg_unknown", SCITT_EBADALG},
    {"empty_prot", SCITT_EBADALG},
    {"detached", SCITT_EPAYLOAD},
    {"no_cwt", SCITT_EHEADER},
    {"cwt_no_sub", SCITT_EHEADER},
    {"no_kid", SCITT_ECONFIRM},
    {"empty_kid", SCITT_ECONFIRM},
    {"kid_unprot", SCITT_ECONFIRM},
    {"x5t_not_uri", SCITT_EHEADER},
    {"crit_unknown", SCITT_ECRIT},
    {"crit_absent", SCITT_ECRIT},
    {"crit_unprot", SCITT_ECRIT},
    {"he_ctype", SCITT_EHEADER},
    {"he_unprot", SCITT_EHEADER},
    {"he_no258", SCITT_EHEADER},
    {"prot_receipts", SCITT_EHEADER}, /* the log adds 394, unprotected (issue 16 A) */
    {"nested_ok", 0},                 /* UTF-8 text, distinct keys and a float16 key, nested */
};

Test(cose_statement, each_rule_gives_its_code)
{
    for (size_t i = 0; i < scitt_countof(rules); i++) {
        size_t len;
        uint8_t *data = cose_case(rules[i].name, &len);
        scitt_cose_sign1_t s;
        const char *why = NULL;
        cr_assert_eq(scitt_cose_sign1_decode(&s, data, len, 0, &why), 0, "%s: %s", rules[i].name, why);
        int rc = scitt_cose_statement_check(&s, NULL, 0, &why);
        cr_assert_eq(rc, rules[i].rc, "%s: got %s", rules[i].name, scitt_err_name(rc));
        if (rc != 0) {
            cr_assert_not_null(why);
        }
        free(data);
    }
}

Test(cose_statement, accepted_alg_list)
{
    size_t len;
    uint8_t *data = cose_case("good", &len);
    scitt_cose_sign1_t s;
    const int eddsa_only[] = {SCITT_ALG_EDDSA};
    const int es256[] = {SCITT_ALG_EDDSA, SCITT_ALG_ES256};
    cr_assert_eq(scitt_cose_sign1_decode(&s, data, len, 0, NULL), 0);
    cr_assert_eq(scitt_cose_statement_check(&s, eddsa_only, 1, NULL), SCITT_EBADALG);
    cr_assert_eq(scitt_cose_statement_check(&s, es256, 2, NULL), 0);
    free(data);
}

Test(cose_statement, codes_map_to_scrapi_titles)
{
    static const struct {
        int rc;
        int status;
        const char *title;
    } want[] = {
        {SCITT_EBADALG, 400, "Bad Signature Algorithm"},
        {SCITT_ECONFIRM, 400, "Confirmation Missing"},
        {SCITT_EPAYLOAD, 400, "Payload Missing"},
        {SCITT_EPOLICY, 400, "Rejected"},
        {SCITT_EBADSIG, 400, "Rejected"},
        {SCITT_EMALFORMED, 400, "Malformed request"},
        {SCITT_EHEADER, 400, "Malformed request"},
        {SCITT_ECRIT, 400, "Malformed request"},
        {SCITT_EDUPKEY, 400, "Malformed request"},
        {SCITT_ETOOBIG, 413, "Content Too Large"},
        {SCITT_ENOMEM, 500, "Internal Server Error"},
    };
    for (size_t i = 0; i < scitt_countof(want); i++) {
        int status;
        const char *title;
        scitt_cose_problem_for(want[i].rc, &status, &title);
        cr_assert_eq(status, want[i].status, "%s", scitt_err_name(want[i].rc));
        cr_assert_str_eq(title, want[i].title);
    }
}
