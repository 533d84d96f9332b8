#include <criterion/criterion.h>

#include "scitt/store.h"

/* One derivation serves registrations (src/seq) and queries (src/frontend). */
Test(store_index_keys, one_key_per_non_empty_field_in_field_order)
{
    uint64_t keys[SCITT_STORE_INDEX_FIELDS];
    scitt_store_index_values_t v = {.iss = scitt_span_str("https://ci.example"),
                                    .kid = scitt_span("\x01\x02", 2),
                                    .sub = scitt_span_str("pkg:x"),
                                    .artifact = scitt_span("0123456789abcdef", 16)};
    cr_assert_eq(scitt_store_index_keys(&v, keys), 4);
    cr_assert_eq(keys[0], scitt_store_index_key(SCITT_INDEX_ISS, v.iss.base, v.iss.len));
    cr_assert_eq(keys[1], scitt_store_index_key(SCITT_INDEX_KEY, v.kid.base, v.kid.len));
    cr_assert_eq(keys[2], scitt_store_index_key(SCITT_INDEX_SUB, v.sub.base, v.sub.len));
    cr_assert_eq(keys[3], scitt_store_index_key(SCITT_INDEX_ARTIFACT, v.artifact.base, v.artifact.len));

    scitt_store_index_values_t some = {.sub = v.sub};
    cr_assert_eq(scitt_store_index_keys(&some, keys), 1);
    cr_assert_eq(keys[0], scitt_store_index_key(SCITT_INDEX_SUB, v.sub.base, v.sub.len));
    scitt_store_index_values_t none = {0};
    cr_assert_eq(scitt_store_index_keys(&none, keys), 0);
}

Test(store_index_keys, the_field_is_part_of_the_key)
{
    uint64_t a[SCITT_STORE_INDEX_FIELDS], b[SCITT_STORE_INDEX_FIELDS];
    scitt_store_index_values_t iss = {.iss = scitt_span_str("x")}, sub = {.sub = scitt_span_str("x")};
    scitt_store_index_keys(&iss, a);
    scitt_store_index_keys(&sub, b);
    cr_assert_neq(a[0], b[0]);
}
