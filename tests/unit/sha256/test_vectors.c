/*
 * test_vectors.c: every SHA-256 kernel this CPU supports against expected
 * values computed independently (Python's hashlib, see each table), not
 * against another kernel of ours: messages of lengths around the 55/56 and
 * 64-byte padding boundaries, batches of 1..MAX_BATCH messages of mixed
 * lengths through the multi-buffer entry point, and batches of 1..MAX_BATCH
 * RFC 9162 leaves and interior nodes. The output says which kernels ran.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "scitt/crypto.h"
#include "scitt/sha256.h"

#define MAX_BATCH 40
#define DATA_LEN  2600

/* SHA-256(data[0, len)) with data[i] = (31 i + 7) mod 256, from
 * hashlib.sha256(bytes((31 * i + 7) & 255 for i in range(len))). */
static const struct {
    size_t len;
    const char *hex;
} msg_vectors[] = {
    {0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {1, "ca358758f6d27e6cf45272937977a748fd88391db679ceda7dc7bf1f005ee879"},
    {2, "140d811b81973993df99b8b1742b383ab83f6f52bf7af850812e7bba02ff11da"},
    {31, "5e5f9fa56d6337115e86a2508477e87c7d5296d0b0743ecfde2d0caeed2db37d"},
    {32, "8e889f10b21cdd1b3ad72f740317a827d76e1b5b3f721e33c566f06d1deff8ea"},
    {33, "93462e85c42aa037bc727a8c283497594aa5c844f0e5bccaa52fec34dee9f44e"},
    {54, "c802146d5788fb540fbf29d8ff485730ad10f4f13b78961c032e78691b582647"},
    {55, "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b"},
    {56, "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63"},
    {57, "5b46e502092be01b1100193e089fdda95638c12e19a1d24f308eb2c3d3ae849d"},
    {63, "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076"},
    {64, "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd"},
    {65, "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0"},
    {118, "e96230c1485dd2e36f02f30932b0e2acf725283090cfdd8c58fce6bf523edd26"},
    {119, "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe"},
    {120, "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656"},
    {121, "614571410beab3df68d50132a341d338575653da8374c630441bbe380b9b3136"},
    {127, "192409cd280e14b743642ad1343fbd3e82d9305de72c078117745a679210cc3d"},
    {128, "cc548ca2dec1f6fe4f58b2e27aa9c7521607df1130d140b55a4dad0665302356"},
    {129, "81e89a7b2911aaa7795f9e3d4910cb47d6cd2b00d83b8399481527261a1a7519"},
    {183, "a0687018a48993fa01699bfd35af7ad7722645db72db8cb992ea29879f1f469a"},
    {184, "3fc9f2e46a8dde9185fd546c4082719cd75ded2723835be16a07e61b1dea1595"},
    {191, "2a30958d124d569d0a4832c608c772181557edbae684ff368be6592d3bf500c7"},
    {192, "6e3a9b4ecba7af3a46e4f5c90fe02c99b5715144444b38049a42ac8313b30346"},
    {193, "87746ac61c76c535aff44356de173c446cae1a259ea678f42af728c00b9aa287"},
    {255, "c9241bc45a34a7e4028b10346f6edc6336c11c4e2484dff4e4cff74a003b6da1"},
    {256, "c8c6e02d597fa6c407a5fec30c981c7bbad08972240eea89841b8f37e2fbf32c"},
    {257, "442d170f22f13ae4fc17edbd88c498df9072b962790944f588ffaeee2a9ec0eb"},
    {1000, "5097e7d587352f5097062ae679f37bda5802d9f875aba14c8cb4d1a188ada179"},
};

/* For n = MAX_BATCH: SHA-256 of the concatenated leaf hashes
 * SHA-256(0x00 || data[32 j + 3, +32)), and of the node hashes
 * SHA-256(0x01 || data[64 j + 5, +64)), j = 0..n-1 (hashlib). The first of
 * each is listed too, so a failure points at the hash itself. */
static const char leaves_all[] = "0d749f40f0d85516c39b3abd982b11b4f5f6078c784369be68bfe7f0598e4454";
static const char leaf_0[] = "54d90191f8b151cebdad0c9fd23de0728f5df51c8fcb096c2e2c4e19bd328fe9";
static const char nodes_all[] = "0ea7d5a9e9c6b81864bd6dbe425bfaf0c588d05783c3199a1081b4e3ed8694fe";
static const char node_0[] = "ae187ecada5029ed7ac4474b6449bf49ec7d13c21d1fb36fd53c099cb8923ec7";

static uint8_t data[DATA_LEN];

static void setup(void)
{
    for (size_t i = 0; i < DATA_LEN; i++) {
        data[i] = (uint8_t)(31 * i + 7);
    }
}

static void hex_eq(const uint8_t digest[32], const char *want, const char *what, const char *kernel, size_t n)
{
    char hex[65];
    scitt_hex_encode(hex, digest, 32);
    cr_assert_str_eq(hex, want, "kernel %s: %s (%zu)", kernel, what, n);
}

/* each_kernel runs `check` on every supported kernel and reports which ran. */
static void each_kernel(void (*check)(scitt_sha256_kernel_t k, const char *name), const char *test)
{
    char ran[128] = "", skipped[128] = "";
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        const char *name = scitt_sha256_kernel_name((scitt_sha256_kernel_t)k);
        char *list = scitt_sha256_kernel_supported((scitt_sha256_kernel_t)k) ? ran : skipped;
        snprintf(list + strlen(list), sizeof(ran) - strlen(list), " %s", name);
        if (list == ran) {
            check((scitt_sha256_kernel_t)k, name);
        }
    }
    fprintf(stderr, "sha256 %s: ran on%s; skipped (CPU lacks them):%s\n", test, ran, *skipped ? skipped : " none");
}

static void check_lengths(scitt_sha256_kernel_t k, const char *name)
{
    size_t num = scitt_countof(msg_vectors);
    scitt_span_t spans[scitt_countof(msg_vectors)];
    uint8_t out[scitt_countof(msg_vectors)][32];
    for (size_t i = 0; i < num; i++) {
        spans[i] = scitt_span(data, msg_vectors[i].len);
        scitt_sha256_batch_with(k, out, &spans[i], 1);
        hex_eq(out[0], msg_vectors[i].hex, "alone, length", name, msg_vectors[i].len);
    }
    scitt_sha256_batch_with(k, out, spans, num);
    for (size_t i = 0; i < num; i++) {
        hex_eq(out[i], msg_vectors[i].hex, "all lengths in one batch, length", name, msg_vectors[i].len);
    }
}

Test(sha256_vectors, lengths_around_block_boundaries, .init = setup)
{
    each_kernel(check_lengths, "lengths");
}

/* Batches of n = 1..MAX_BATCH messages whose lengths mix differently for
 * each n, so lanes end at different blocks and the last group is partial. */
static void check_mixed_batches(scitt_sha256_kernel_t k, const char *name)
{
    size_t nv = scitt_countof(msg_vectors);
    for (size_t n = 1; n <= MAX_BATCH; n++) {
        scitt_span_t spans[MAX_BATCH];
        uint8_t out[MAX_BATCH][32];
        for (size_t i = 0; i < n; i++) {
            spans[i] = scitt_span(data, msg_vectors[(i * 7 + n) % nv].len);
        }
        scitt_sha256_batch_with(k, out, spans, n);
        for (size_t i = 0; i < n; i++) {
            hex_eq(out[i], msg_vectors[(i * 7 + n) % nv].hex, "mixed batch, size", name, n);
        }
    }
}

Test(sha256_vectors, mixed_batches, .init = setup)
{
    each_kernel(check_mixed_batches, "mixed batches");
}

/* Leaves or nodes (`fn`, reading `in`): n = MAX_BATCH against the listed
 * digests, and every smaller n must give the same first n hashes. */
typedef void (*tree_fn_t)(scitt_sha256_kernel_t k, uint8_t (*out)[32], const uint8_t (*in)[32], size_t num);

static void check_tree_fn(scitt_sha256_kernel_t k, const char *name, tree_fn_t fn, const uint8_t (*in)[32],
                          const char *first, const char *all_digest, const char *what)
{
    uint8_t all[MAX_BATCH][32], out[MAX_BATCH][32], digest[32];
    fn(k, all, in, MAX_BATCH);
    hex_eq(all[0], first, what, name, 0);
    scitt_sha256(digest, all, sizeof(all));
    hex_eq(digest, all_digest, what, name, MAX_BATCH);
    for (size_t n = 1; n < MAX_BATCH; n++) {
        fn(k, out, in, n);
        cr_assert_arr_eq(out, all, 32 * n, "kernel %s: %zu %s", name, n, what);
    }
}

static void check_tree_hashes(scitt_sha256_kernel_t k, const char *name)
{
    check_tree_fn(k, name, scitt_sha256_leaves_with, (const uint8_t(*)[32])(data + 3), leaf_0, leaves_all, "leaves");
    check_tree_fn(k, name, scitt_sha256_nodes_with, (const uint8_t(*)[32])(data + 5), node_0, nodes_all, "nodes");
}

Test(sha256_vectors, leaves_and_nodes, .init = setup)
{
    each_kernel(check_tree_hashes, "leaves and nodes");
}
