/*
 * test_head_kid.c: each stored head records the kid of the receipt key that
 * signed it (issue 21: keys rotate), on both engines; heads stored before
 * (no kid) still read, with an empty kid: the old LMDB value layout decodes,
 * and a PostgreSQL database at schema 2 migrates to 3 keeping its heads.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "engine.h"
#include "fixture.h"
#include "pg.h"
#include "scitt/store.h"

TestSuite(store_head_kid, .init = fx_init, .fini = fx_fini);

#define ENTRY_LEN 40

#define OLD_COLUMN_ADD  "ALTER TABLE scitt_heads ADD COLUMN receipt_kid bytea NOT NULL DEFAULT ''::bytea"
#define OLD_COLUMN_DROP "ALTER TABLE scitt_heads DROP COLUMN receipt_kid"

static void head_is(scitt_store_t *st, uint64_t size, const uint8_t *kid)
{
    scitt_store_read_t *rd;
    scitt_store_head_t h;
    cr_assert_eq(scitt_store_read_begin(st, &rd), 0);
    cr_assert_eq(scitt_store_get_head(rd, size, &h), 0);
    cr_assert_eq(h.size, size);
    cr_assert(h.receipt_sig.len == 3 && memcmp(h.receipt_sig.base, "sig", 3) == 0);
    cr_assert(h.checkpoint.len == 5 && memcmp(h.checkpoint.base, "note\n", 5) == 0);
    if (kid == NULL) {
        cr_assert_eq(h.receipt_kid.len, 0, "a head from before rotation has no kid");
    } else {
        cr_assert(h.receipt_kid.len == 32 && memcmp(h.receipt_kid.base, kid, 32) == 0, "the head's kid reads back");
    }
    scitt_store_read_end(rd);
}

Test(store_head_kid, kid_round_trips_beside_heads_without)
{
    scitt_store_config_t cfg = {0};
    scitt_store_t *st = fx_open(&cfg);
    uint8_t kid[32];
    memset(kid, 0xa7, sizeof(kid));
    cr_assert_eq(fx_commit_batch(st, 0, 3, ENTRY_LEN), 0);
    cr_assert_eq(fx_commit_kid(st, 3, 2, ENTRY_LEN, kid), 0);
    head_is(st, 3, NULL);
    head_is(st, 5, kid);
    scitt_store_close(st);
    st = fx_open(&cfg);
    head_is(st, 3, NULL);
    head_is(st, 5, kid);
    fx_check_log(st, 5, ENTRY_LEN);
    scitt_store_close(st);
}

/* The LMDB value as scittd wrote it before issue 21: root || time || sig
 * length || sig || checkpoint, no kid. */
Test(store_head_kid, old_head_value_decodes)
{
    uint8_t v[32 + 8 + 2 + 3 + 5];
    memset(v, 0x11, 32);
    scitt_store_be64(v + 32, 1700000000);
    scitt_store_be16(v + 40, 3);
    memcpy(v + 42, "sig", 3);
    memcpy(v + 45, "note\n", 5);
    scitt_store_head_t h;
    cr_assert_eq(scitt_store__head_decode(9, v, sizeof(v), &h), 0);
    cr_assert_eq(h.size, 9);
    cr_assert_eq(h.time, 1700000000);
    cr_assert(h.receipt_sig.len == 3 && memcmp(h.receipt_sig.base, "sig", 3) == 0);
    cr_assert(h.checkpoint.len == 5 && memcmp(h.checkpoint.base, "note\n", 5) == 0);
    cr_assert_eq(h.receipt_kid.len, 0);
    /* and the new layout round-trips, its kid flag set */
    uint8_t kid[32], out[32 + 8 + 2 + 3 + 32 + 5];
    memset(kid, 0x5c, sizeof(kid));
    h.receipt_kid = scitt_span(kid, 32);
    cr_assert_eq(scitt_store__head_check(&h), 0);
    cr_assert_eq(scitt_store__head_len(&h), sizeof(out));
    scitt_store__head_put(out, &h);
    scitt_store_head_t g;
    cr_assert_eq(scitt_store__head_decode(9, out, sizeof(out), &g), 0);
    cr_assert(g.receipt_kid.len == 32 && memcmp(g.receipt_kid.base, kid, 32) == 0);
    cr_assert(g.checkpoint.len == 5 && memcmp(g.checkpoint.base, "note\n", 5) == 0);
    cr_assert_eq(scitt_store__head_decode(9, out, 42 + 3 + 31, &g), SCITT_ECORRUPT, "a kid cut short");
}

/* A database written at schema 2 (before rotation) opens at 3: its heads
 * read with no kid, new heads record theirs. */
Test(store_head_kid, schema_2_migrates_to_3)
{
    FX_PG_ONLY();
#ifdef SCITT_HAVE_POSTGRESQL
    scitt_store_config_t cfg = {0};
    scitt_store__pg_schema_cap(2);
    scitt_store_t *st = fx_open(&cfg);
    scitt_store__pg_schema_cap(0);
    /* Today's code writes the column; the heads it writes here have no kid,
     * as version 2 wrote them, and the column goes before the migration. */
    fx_sql(OLD_COLUMN_ADD);
    cr_assert_eq(fx_commit_batch(st, 0, 4, ENTRY_LEN), 0);
    scitt_store_close(st);
    fx_sql(OLD_COLUMN_DROP);
    cr_assert_eq(fx_sql_value("SELECT version FROM scitt_schema"), 2);
    st = fx_open(&cfg);
    cr_assert_eq(fx_sql_value("SELECT version FROM scitt_schema"), 3);
    head_is(st, 4, NULL);
    uint8_t kid[32];
    memset(kid, 0x3e, sizeof(kid));
    cr_assert_eq(fx_commit_kid(st, 4, 1, ENTRY_LEN, kid), 0);
    head_is(st, 5, kid);
    fx_check_log(st, 5, ENTRY_LEN);
    scitt_store_close(st);
#endif
}
