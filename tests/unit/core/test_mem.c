#include <criterion/criterion.h>
#include <stdlib.h>

#include "scitt/core.h"
#include "testutil.h"

Test(core_mem, buf_grows_and_respects_max)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 100);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(scitt_buf_append_byte(&b, (uint8_t)i), 0);
    }
    cr_assert_eq(b.len, 100);
    cr_assert_eq(scitt_buf_append_byte(&b, 1), SCITT_ETOOBIG);
    cr_assert_eq(b.len, 100);
    cr_assert_eq(b.base[99], 99);
    scitt_buf_reset(&b);
    cr_assert_eq(scitt_buf_printf(&b, "%s-%d", "x", 42), 0);
    cr_assert_eq(b.len, 4);
    cr_assert_arr_eq(b.base, "x-42", 4);
    scitt_buf_cleanup(&b);
    cr_assert_null(b.base);
}

Test(core_mem, buf_reports_allocation_failure_and_keeps_contents)
{
    tu_failmem_t f;
    tu_failmem_init(&f, 1);
    scitt_buf_t b;
    scitt_buf_init(&b, &f.mem, 0);
    cr_assert_eq(scitt_buf_append(&b, "abc", 3), 0);
    uint8_t big[1000] = {0};
    cr_assert_eq(scitt_buf_append(&b, big, sizeof(big)), SCITT_ENOMEM);
    cr_assert_eq(b.len, 3);
    cr_assert_arr_eq(b.base, "abc", 3);
    scitt_buf_cleanup(&b);
}

Test(core_mem, calloc_checks_overflow)
{
    cr_assert_null(scitt_mem_calloc(scitt_mem_default(), SIZE_MAX / 2, 4));
    uint8_t *p = scitt_mem_calloc(scitt_mem_default(), 4, 4);
    cr_assert_not_null(p);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(p[i], 0);
    }
    scitt_mem_free(scitt_mem_default(), p);
}

Test(core_mem, span_within)
{
    uint8_t buf[10];
    scitt_span_t outer = scitt_span(buf, 10);
    cr_assert(scitt_span_within(scitt_span(buf + 2, 8), outer));
    cr_assert_not(scitt_span_within(scitt_span(buf + 2, 9), outer));
    cr_assert(scitt_span_within(scitt_span(NULL, 0), outer));
    cr_assert(scitt_span_eq(scitt_span_str("ab"), scitt_span("ab", 2)));
}
