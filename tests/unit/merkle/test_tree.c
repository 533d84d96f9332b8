/*
 * test_tree.c: the growing tree. Tiles and roots against the tessera test
 * log; batch appends against one-leaf appends with random split points;
 * restore from tiles at random sizes; allocation failure.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "memstore.h"
#include "scitt/merkle.h"
#include "testutil.h"

static const char *const tessera_entries[15] = {"one",  "two", "three",  "four",  "five",     "six",     "seven", "eit",
                                                "nain", "ten", "ileven", "twelf", "threeten", "fourten", "fivten"};

/* checkpoint_root reads the base64 root (third line) of checkpoint.<n>. */
static void checkpoint_root(uint8_t out[32], size_t n)
{
    char *path = tu_testdata_path("merkle/tlog-tiles-tessera-testlog/checkpoint.%zu", n);
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    cr_assert(text != NULL, "%s", path);
    char *line = text;
    for (int i = 0; i < 2; i++) {
        line = strchr(line, '\n');
        cr_assert(line != NULL);
        line++;
    }
    char *end = strchr(line, '\n');
    cr_assert(end != NULL);
    size_t root_len;
    cr_assert_eq(scitt_base64_decode(out, 32, &root_len, line, (size_t)(end - line), SCITT_B64_STD), 0);
    cr_assert_eq(root_len, 32);
    free(text);
    free(path);
}

Test(merkle_tree, tessera_testlog)
{
    scitt_merkle_t *t;
    cr_assert_eq(scitt_merkle_new(&t, NULL), 0);
    uint8_t root[32], want[32];
    scitt_merkle_root(t, root);
    checkpoint_root(want, 0);
    cr_expect_eq(memcmp(root, want, 32), 0, "size 0");
    scitt_span_t entries[15];
    for (size_t n = 1; n <= 15; n++) {
        const char *e = tessera_entries[n - 1];
        entries[n - 1] = scitt_span_str(e);
        uint8_t leaf[32];
        scitt_merkle_leaf_hash(leaf, (const uint8_t *)e, strlen(e));
        const scitt_merkle_tile_t *tiles;
        size_t num_tiles;
        cr_assert_eq(scitt_merkle_append(t, (const uint8_t(*)[32])leaf, 1, &tiles, &num_tiles, root), 0);
        checkpoint_root(want, n);
        cr_expect_eq(memcmp(root, want, 32), 0, "root at size %zu", n);

        /* The one changed tile is level 0, index 0, width n, byte for byte. */
        cr_assert_eq(num_tiles, 1);
        cr_expect_eq(tiles[0].level, 0);
        cr_expect_eq(tiles[0].index, 0);
        cr_assert_eq(tiles[0].width, n);
        char *path = tu_testdata_path("merkle/tlog-tiles-tessera-testlog/tile/0/000.p/%zu", n);
        size_t len;
        uint8_t *stored = tu_read_file(path, &len);
        cr_assert(stored != NULL, "%s", path);
        cr_expect_eq(len, n * 32);
        cr_expect_eq(memcmp(stored, tiles[0].hashes, n * 32), 0, "tile at size %zu", n);
        free(stored);
        free(path);

        /* Our entry bundle equals the stored one, and decodes back. */
        scitt_buf_t buf;
        scitt_buf_init(&buf, NULL, 0);
        cr_assert_eq(scitt_merkle_bundle_encode(&buf, entries, n), 0);
        path = tu_testdata_path("merkle/tlog-tiles-tessera-testlog/tile/entries/000.p/%zu", n);
        stored = tu_read_file(path, &len);
        cr_assert(stored != NULL, "%s", path);
        cr_expect(len == buf.len && memcmp(stored, buf.base, len) == 0, "bundle at size %zu", n);
        scitt_span_t back[256];
        size_t num_back;
        cr_assert_eq(scitt_merkle_bundle_decode(back, 256, &num_back, stored, len), 0);
        cr_assert_eq(num_back, n);
        for (size_t i = 0; i < n; i++) {
            cr_expect(scitt_span_eq(back[i], entries[i]));
        }
        free(stored);
        free(path);
        scitt_buf_cleanup(&buf);
    }
    scitt_merkle_free(t);
}

/* make_leaves returns leaf hashes 0..n-1 (newly allocated). */
static uint8_t (*make_leaves(size_t n))[32]
{
    uint8_t(*leaves)[32] = malloc(n * 32 + 32);
    cr_assert(leaves != NULL);
    for (size_t i = 0; i < n; i++) {
        test_leaf(leaves[i], i);
    }
    return leaves;
}

/* One run: N single appends (recording every root) against batches with
 * random split points, comparing roots at each batch end and the stored
 * tiles at the end; then restores at random sizes. */
static void batch_vs_single(size_t n, uint64_t seed)
{
    uint8_t(*leaves)[32] = make_leaves(n);
    uint8_t(*roots)[32] = malloc((n + 1) * 32);
    memstore_t single, batched;
    memstore_init(&single);
    memstore_init(&batched);
    scitt_merkle_t *a, *b;
    cr_assert_eq(scitt_merkle_new(&a, NULL), 0);
    cr_assert_eq(scitt_merkle_new(&b, NULL), 0);
    const scitt_merkle_tile_t *tiles;
    size_t num_tiles;

    scitt_merkle_root(a, roots[0]);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(scitt_merkle_append(a, (const uint8_t(*)[32])(leaves + i), 1, &tiles, &num_tiles, roots[i + 1]),
                     0);
        cr_assert(memstore_write(&single, tiles, num_tiles), "tile rewrite is not an extension at %zu", i);
    }

    size_t done = 0, batches = 0;
    while (done < n) {
        /* Mix tiny, tile-sized and huge batches. */
        uint64_t r = test_rand(&seed) % 4;
        size_t max = r == 0 ? 3 : r == 1 ? 300 : r == 2 ? 5000 : 70000;
        size_t k = (size_t)test_rand_range(&seed, 0, max);
        if (k > n - done) {
            k = n - done;
        }
        uint8_t root[32];
        cr_assert_eq(scitt_merkle_append(b, (const uint8_t(*)[32])(leaves + done), k, &tiles, &num_tiles, root), 0);
        cr_assert(memstore_write(&batched, tiles, num_tiles));
        done += k;
        batches++;
        cr_assert_eq(scitt_merkle_size(b), done);
        cr_assert_eq(memcmp(root, roots[done], 32), 0, "root after batch ending at %zu", done);
    }
    cr_expect(memstore_equal(&single, &batched), "stored tiles differ (n=%zu, %zu batches)", n, batches);

    /* Restore at random sizes from the final store (partial tiles are
     * prefixes of what is stored), then continue to n. */
    scitt_tile_reader_t rd = memstore_reader(&batched);
    for (int i = 0; i < 40; i++) {
        size_t s = (size_t)test_rand_range(&seed, 0, n);
        if (i == 0) {
            s = n;
        } else if (i == 1) {
            s = n & ~(size_t)255;
        }
        scitt_merkle_t *c;
        cr_assert_eq(scitt_merkle_new(&c, NULL), 0);
        cr_assert_eq(scitt_merkle_restore(c, &rd, s), 0, "restore at %zu", s);
        uint8_t root[32];
        scitt_merkle_root(c, root);
        cr_assert_eq(memcmp(root, roots[s], 32), 0, "restored root at %zu", s);
        cr_assert_eq(scitt_merkle_append(c, (const uint8_t(*)[32])(leaves + s), n - s, &tiles, &num_tiles, root), 0);
        cr_assert_eq(memcmp(root, roots[n], 32), 0);
        /* Every tile the continuation writes is what the store holds. */
        for (size_t j = 0; j < num_tiles; j++) {
            const memstore_level_t *lv = &batched.lv[tiles[j].level];
            cr_assert(tiles[j].index < lv->num && lv->widths[tiles[j].index] == tiles[j].width);
            cr_assert_eq(memcmp(lv->tiles[tiles[j].index], tiles[j].hashes, tiles[j].width * 32), 0);
        }
        scitt_merkle_free(c);
    }

    scitt_merkle_free(a);
    scitt_merkle_free(b);
    memstore_cleanup(&single);
    memstore_cleanup(&batched);
    free(roots);
    free(leaves);
}

Test(merkle_tree, batch_equals_singles_100k, .timeout = 240)
{
    batch_vs_single(100000, 0x9e3779b97f4a7c15ULL);
}

Test(merkle_tree, batch_equals_singles_random_sizes, .timeout = 240)
{
    uint64_t seed = 0xd1b54a32d192ed03ULL;
    for (int i = 0; i < 6; i++) {
        batch_vs_single((size_t)test_rand_range(&seed, 1, i < 3 ? 1000 : 70000), test_rand(&seed));
    }
}

Test(merkle_tree, empty_and_zero_appends)
{
    scitt_merkle_t *t;
    cr_assert_eq(scitt_merkle_new(&t, NULL), 0);
    uint8_t root[32], empty[32];
    scitt_merkle_empty_root(empty);
    const scitt_merkle_tile_t *tiles;
    size_t num_tiles = 99;
    cr_assert_eq(scitt_merkle_append(t, NULL, 0, &tiles, &num_tiles, root), 0);
    cr_expect_eq(num_tiles, 0);
    cr_expect_eq(memcmp(root, empty, 32), 0);
    cr_expect_eq(scitt_merkle_size(t), 0);

    /* A restore that needs an absent tile fails and leaves the tree empty. */
    memstore_t ms;
    memstore_init(&ms);
    scitt_tile_reader_t rd = memstore_reader(&ms);
    cr_expect_eq(scitt_merkle_restore(t, &rd, 5), SCITT_ECORRUPT);
    cr_expect_eq(scitt_merkle_size(t), 0);
    cr_expect_eq(scitt_merkle_restore(t, &rd, 0), 0);
    /* Too narrow a stored tile is corrupt too. */
    uint8_t(*leaves)[32] = make_leaves(4);
    cr_assert_eq(scitt_merkle_append(t, (const uint8_t(*)[32])leaves, 4, &tiles, &num_tiles, root), 0);
    memstore_write(&ms, tiles, num_tiles);
    cr_expect_eq(scitt_merkle_restore(t, &rd, 5), SCITT_ECORRUPT);
    cr_expect_eq(scitt_merkle_restore(t, &rd, 3), 0);
    memstore_cleanup(&ms);
    free(leaves);
    scitt_merkle_free(t);
    scitt_merkle_free(NULL);
}

Test(merkle_tree, allocation_failures)
{
    uint8_t(*leaves)[32] = make_leaves(70000);
    uint8_t want[32];
    {
        scitt_merkle_t *t;
        const scitt_merkle_tile_t *tiles;
        size_t num_tiles;
        cr_assert_eq(scitt_merkle_new(&t, NULL), 0);
        cr_assert_eq(scitt_merkle_append(t, (const uint8_t(*)[32])leaves, 70000, &tiles, &num_tiles, want), 0);
        scitt_merkle_free(t);
    }
    bool succeeded = false;
    for (long k = 0; !succeeded; k++) {
        tu_failmem_t f;
        tu_failmem_init(&f, (int)k); /* the k-th allocation fails */
        scitt_merkle_t *t;
        int rc = scitt_merkle_new(&t, &f.mem);
        if (rc != 0) {
            cr_expect_eq(rc, SCITT_ENOMEM);
            continue;
        }
        const scitt_merkle_tile_t *tiles;
        size_t num_tiles;
        uint8_t root[32];
        rc = scitt_merkle_append(t, (const uint8_t(*)[32])leaves, 1000, &tiles, &num_tiles, root);
        if (rc == 0) {
            rc = scitt_merkle_append(t, (const uint8_t(*)[32])(leaves + 1000), 69000, &tiles, &num_tiles, root);
        }
        if (rc == 0) {
            cr_expect_eq(memcmp(root, want, 32), 0);
            succeeded = true;
        } else {
            /* A failed append leaves the tree as it was. */
            cr_expect_eq(rc, SCITT_ENOMEM);
            cr_expect(scitt_merkle_size(t) == 0 || scitt_merkle_size(t) == 1000);
        }
        scitt_merkle_free(t);
    }
    free(leaves);
}
