/* test_stored.c: scitt_cose_sign1_decode_stored, the decoder that serves what
 * the log already holds. A log written before registration refused text that
 * is not UTF-8, wide floats and repeated keys in nested maps may hold such
 * entries; they are served, while registration (scitt_cose_sign1_decode)
 * refuses them. The profile of heads stays: a stored entry is still one
 * definite, minimal COSE_Sign1. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "scitt/cose.h"
#include "testutil.h"

/* decode_both decodes `hex` with the registration decoder (its result in
 * `*strict`) and the serving one (returned; `*out` holds its fields). */
static int decode_both(const char *hex, int *strict, scitt_cose_fields_t *out)
{
    size_t len;
    uint8_t *data = tu_hex(hex, &len);
    scitt_cose_sign1_t s;
    *strict = scitt_cose_sign1_decode(&s, data, len, 0, NULL);
    int rc = scitt_cose_sign1_decode_stored(&s, data, len);
    if (rc == 0 && out != NULL) {
        scitt_cose_fields(&s, out);
        /* the fields point into `data`: keep what the tests look at */
        static uint8_t iss[16];
        cr_assert_leq(out->iss.len, sizeof(iss));
        memcpy(iss, out->iss.base, out->iss.len);
        out->iss.base = iss;
    }
    free(data);
    return rc;
}

/* 18([<<{1: -8, 15: {1: "a\xff"}}>>, {}, h'616263', h'00000000']) */
Test(cose_stored, iss_not_utf8_is_served_not_registered)
{
    int strict;
    scitt_cose_fields_t f;
    cr_assert_eq(decode_both("d28449a201270fa1016261ffa0436162634400000000", &strict, &f), 0);
    cr_assert_eq(strict, SCITT_EMALFORMED);
    cr_assert(scitt_span_eq(f.iss, scitt_span("a\xff", 2)));
}

/* A float64 that a float16 holds (1.0) under a private label. */
Test(cose_stored, wide_float_is_served_not_registered)
{
    int strict;
    cr_assert_eq(decode_both("d28451a201273a0001116ffb3ff0000000000000a0436162634400000000", &strict, NULL), 0);
    cr_assert_eq(strict, SCITT_EMALFORMED);
}

/* {-70000: {1: 1, 1: 1}} nested in the protected header. */
Test(cose_stored, nested_repeated_key_is_served_not_registered)
{
    int strict;
    cr_assert_eq(decode_both("d2844da201273a0001116fa201010101a0436162634400000000", &strict, NULL), 0);
    cr_assert_eq(strict, SCITT_EDUPKEY);
}

/* What no release accepted stays refused: a non-minimal head, a repeated
 * header label, trailing bytes. */
Test(cose_stored, the_profile_of_heads_stays)
{
    int strict;
    cr_assert_neq(decode_both("d2980443a10127a0436162634400000000", &strict, NULL), 0);
    cr_assert_neq(decode_both("d28445a201270127a0436162634400000000", &strict, NULL), 0);
    cr_assert_neq(decode_both("d28443a10127a043616263440000000000", &strict, NULL), 0);
    cr_assert_eq(decode_both("d28443a10127a0436162634400000000", &strict, NULL), 0);
    cr_assert_eq(strict, 0);
}
