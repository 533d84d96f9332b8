/*
 * test_tilepath.c: C2SP tile paths: the spec's examples, round trips over
 * many indexes, and a table of malformed paths that must all be rejected.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common.h"
#include "scitt/merkle.h"

static void expect_encode(scitt_tile_path_t tp, const char *want)
{
    char buf[SCITT_MERKLE_TILE_PATH_MAX + 1];
    size_t len;
    cr_assert_eq(scitt_merkle_tile_path_encode(buf, sizeof(buf), &len, &tp), 0, "%s", want);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(len, strlen(want));
    scitt_tile_path_t back;
    cr_assert_eq(scitt_merkle_tile_path_parse(&back, want, strlen(want)), 0, "%s", want);
    cr_expect(back.entries == tp.entries && back.level == tp.level && back.index == tp.index && back.width == tp.width,
              "%s", want);
}

Test(merkle_tilepath, examples)
{
    expect_encode((scitt_tile_path_t){false, 0, 1234067, 0}, "tile/0/x001/x234/067");
    expect_encode((scitt_tile_path_t){false, 0, 5, 0}, "tile/0/005");
    expect_encode((scitt_tile_path_t){false, 1, 0, 17}, "tile/1/000.p/17");
    expect_encode((scitt_tile_path_t){false, 2, 0, 1}, "tile/2/000.p/1");
    expect_encode((scitt_tile_path_t){false, 63, 1000, 255}, "tile/63/x001/000.p/255");
    expect_encode((scitt_tile_path_t){false, 10, 999, 0}, "tile/10/999");
    expect_encode((scitt_tile_path_t){true, 0, 0, 15}, "tile/entries/000.p/15");
    expect_encode((scitt_tile_path_t){true, 0, 272, 0}, "tile/entries/272");
    expect_encode((scitt_tile_path_t){false, 0, UINT64_MAX, 255}, "tile/0/x018/x446/x744/x073/x709/x551/615.p/255");
    expect_encode((scitt_tile_path_t){true, 0, UINT64_MAX, 255},
                  "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255");
}

Test(merkle_tilepath, round_trips)
{
    uint64_t seed = 99;
    char buf[SCITT_MERKLE_TILE_PATH_MAX + 1];
    for (int i = 0; i < 100000; i++) {
        scitt_tile_path_t tp = {0}, back;
        tp.entries = test_rand(&seed) % 4 == 0;
        tp.level = tp.entries ? 0 : (unsigned)(test_rand(&seed) % 64);
        tp.index = test_rand(&seed) >> (test_rand(&seed) % 64);
        tp.width = (unsigned)(test_rand(&seed) % 2 ? test_rand(&seed) % 256 : 0);
        size_t len;
        cr_assert_eq(scitt_merkle_tile_path_encode(buf, sizeof(buf), &len, &tp), 0);
        cr_assert_eq(scitt_merkle_tile_path_parse(&back, buf, len), 0, "%s", buf);
        cr_assert(back.entries == tp.entries && back.level == tp.level && back.index == tp.index &&
                      back.width == tp.width,
                  "%s", buf);
        /* Every proper prefix is rejected, except the one that drops ".p/W"
         * entirely or shortens W to another valid width. */
        for (size_t k = 0; k < len; k++) {
            int rc = scitt_merkle_tile_path_parse(&back, buf, k);
            if (rc == 0) {
                bool drops_width = buf[k] == '.';
                bool shortens_width = memchr(buf, '.', k) != NULL;
                cr_assert(tp.width != 0 && (drops_width || shortens_width), "%.*s", (int)k, buf);
            }
        }
    }
}

Test(merkle_tilepath, encode_limits)
{
    char buf[SCITT_MERKLE_TILE_PATH_MAX + 1];
    size_t len;
    scitt_tile_path_t tp = {false, 64, 0, 0};
    cr_expect_eq(scitt_merkle_tile_path_encode(buf, sizeof(buf), &len, &tp), SCITT_EINVAL);
    tp = (scitt_tile_path_t){false, 0, 0, 256};
    cr_expect_eq(scitt_merkle_tile_path_encode(buf, sizeof(buf), &len, &tp), SCITT_EINVAL);
    tp = (scitt_tile_path_t){true, 1, 0, 0};
    cr_expect_eq(scitt_merkle_tile_path_encode(buf, sizeof(buf), &len, &tp), SCITT_EINVAL);
    tp = (scitt_tile_path_t){false, 0, 5, 0};
    cr_expect_eq(scitt_merkle_tile_path_encode(buf, 10, &len, &tp), SCITT_ETOOBIG);
    cr_expect_eq(scitt_merkle_tile_path_encode(buf, 11, &len, &tp), 0);
    cr_expect_eq(scitt_merkle_tile_path_encode(buf, 0, &len, &tp), SCITT_ETOOBIG);
}

Test(merkle_tilepath, rejects_malformed)
{
    static const char *const bad[] = {
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "/tile/0/000",
        "tiles/0/000",
        "Tile/0/000",
        "tile/00/000", /* leading zero in L */
        "tile/01/000",
        "tile/64/000", /* L > 63 */
        "tile/100/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/ 1/000",
        "tile/a/000",
        "tile//000",
        "tile/0//000", /* extra slash */
        "tile/0/000/",
        "tile/0/00", /* group widths */
        "tile/0/0",
        "tile/0/0000",
        "tile/0/x01/234",
        "tile/0/x0001/234",
        "tile/0/x001/23",
        "tile/0/x001/2345",
        "tile/0/x001", /* missing last group */
        "tile/0/x001/",
        "tile/0/001/234", /* missing x */
        "tile/0/x001x234",
        "tile/0/x001/x234",
        "tile/0/X001/234",
        "tile/0/x000/005", /* non-canonical: leading zero group */
        "tile/0/x000/x001/005",
        "tile/0/x018/x446/x744/x073/x709/x551/616", /* UINT64_MAX + 1 */
        "tile/0/x999/x999/x999/x999/x999/x999/999",
        "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
        "tile/0/000.p/0",   /* W = 0 */
        "tile/0/000.p/256", /* W = 256 */
        "tile/0/000.p/00",
        "tile/0/000.p/01",
        "tile/0/000.p/1000",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000.",
        "tile/0/000.q/1",
        "tile/0/000.p/1/",
        "tile/0/000.p/1x",
        "tile/0/000.p/-1",
        "tile/0/000.p//1",
        "tile/0/000x",
        "tile/0/000 ",
        "tile/0/000\n",
        "tile/entries",
        "tile/entries/",
        "tile/entries/0",
        "tile/entries/0/000",
        "tile/entries//000",
        "tile/Entries/000",
        "tile/entries/000.p/0",
        "tile/entries/x000/001",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        scitt_tile_path_t tp;
        cr_expect_eq(scitt_merkle_tile_path_parse(&tp, bad[i], strlen(bad[i])), SCITT_EMALFORMED, "accepted \"%s\"",
                     bad[i]);
    }
    /* An embedded NUL is just a wrong byte. */
    scitt_tile_path_t tp;
    cr_expect_eq(scitt_merkle_tile_path_parse(&tp, "tile/0/000\0", 11), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_tile_path_parse(&tp, "tile/0/0\0000", 10), SCITT_EMALFORMED);
    cr_expect_eq(scitt_merkle_tile_path_parse(&tp, NULL, 0), SCITT_EMALFORMED);
}
