#include <criterion/criterion.h>

#include "scitt/err.h"

Test(core_err, names_and_messages)
{
    cr_assert_str_eq(scitt_err_name(SCITT_EBADSIG), "SCITT_EBADSIG");
    cr_assert_str_eq(scitt_strerror(SCITT_EBADSIG), "signature does not verify");
    cr_assert_str_eq(scitt_strerror(0), "success");
    cr_assert_str_eq(scitt_err_name(-1999), "SCITT_EUNKNOWN");
    cr_assert_str_eq(scitt_strerror(-EPIPE), strerror(EPIPE));
    cr_assert_eq(SCITT_ENOMEM, -ENOMEM);
}

Test(core_err, fatal_classification)
{
    cr_assert(scitt_err_is_fatal(SCITT_ENOMEM));
    cr_assert(scitt_err_is_fatal(SCITT_ECORRUPT));
    cr_assert_not(scitt_err_is_fatal(SCITT_EBADSIG));
    cr_assert_not(scitt_err_is_fatal(SCITT_EMALFORMED));
    /* A commit that lost the compare-and-swap wrote nothing: not fatal. */
    cr_assert_not(scitt_err_is_fatal(SCITT_ECONFLICT));
    cr_assert_str_eq(scitt_err_name(SCITT_ECONFLICT), "SCITT_ECONFLICT");
}
