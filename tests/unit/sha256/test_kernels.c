/*
 * test_kernels.c: every SHA-256 batch kernel this CPU supports gives the
 * bytes of src/crypto's scitt_sha256(), for single messages of every length
 * 0..300, batches of every size 1..70 (mixed lengths, leaves and nodes, in
 * place too), and the FIPS 180-4 examples; plus kernel selection.
 *
 * Kernels the CPU lacks are skipped, and each skip is reported on stderr.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scitt/crypto.h"
#include "scitt/sha256.h"

#define MAX_LEN   300
#define MAX_BATCH 70

/* A deterministic byte stream (xorshift), so a failure reproduces. */
static void fill(uint8_t *p, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* supported reports whether `k` runs here, and says so on stderr if not. */
static bool supported(scitt_sha256_kernel_t k)
{
    if (scitt_sha256_kernel_supported(k)) {
        return true;
    }
    fprintf(stderr, "sha256 kernel %s: not supported by this CPU, skipped\n", scitt_sha256_kernel_name(k));
    return false;
}

static void leaf_ref(uint8_t out[32], const uint8_t entry[32])
{
    uint8_t msg[33] = {0x00};
    memcpy(msg + 1, entry, 32);
    scitt_sha256(out, msg, sizeof(msg));
}

static void node_ref(uint8_t out[32], const uint8_t pair[64])
{
    uint8_t msg[65] = {0x01};
    memcpy(msg + 1, pair, 64);
    scitt_sha256(out, msg, sizeof(msg));
}

Test(sha256_kernels, names)
{
    cr_assert_str_eq(scitt_sha256_kernel_name(SCITT_SHA256_PORTABLE), "portable");
    cr_assert_str_eq(scitt_sha256_kernel_name(SCITT_SHA256_SHANI), "shani");
    cr_assert_str_eq(scitt_sha256_kernel_name(SCITT_SHA256_AVX2), "avx2");
    cr_assert_str_eq(scitt_sha256_kernel_name(SCITT_SHA256_AVX512), "avx512");
    cr_assert_str_eq(scitt_sha256_kernel_name(SCITT_SHA256_SHANI4), "shani4");
    cr_assert_str_eq(scitt_sha256_kernel_name(SCITT_SHA256_NUM_KERNELS), "unknown");
    cr_assert(scitt_sha256_kernel_supported(SCITT_SHA256_PORTABLE));
    cr_assert_not(scitt_sha256_kernel_supported(SCITT_SHA256_NUM_KERNELS));
}

/* FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values"),
 * hashed as one batch so they also run side by side in lanes. */
Test(sha256_kernels, fips_vectors)
{
    static const char *const msgs[] = {"abc", "", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
    static const char *const want[] = {
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    };
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        if (!supported(k)) {
            continue;
        }
        /* 24 copies, so that the lane kernels fill their lanes too. */
        scitt_span_t spans[24];
        uint8_t out[24][32];
        for (int i = 0; i < 24; i++) {
            spans[i] = scitt_span_str(msgs[i % 3]);
        }
        for (size_t num = 1; num <= 24; num += 23) {
            scitt_sha256_batch_with(k, out, spans, num);
            for (size_t i = 0; i < num; i++) {
                char hex[65];
                scitt_hex_encode(hex, out[i], 32);
                cr_assert_str_eq(hex, want[i % 3], "kernel %s, message %zu", scitt_sha256_kernel_name(k), i);
            }
        }
    }
}

/* Every length 0..MAX_LEN: alone, as a batch of equal lengths (all lanes end
 * together), and all lengths mixed in one batch. */
Test(sha256_kernels, batch_every_length)
{
    static uint8_t data[MAX_LEN + 1 + 64 * 17];
    static scitt_span_t spans[MAX_LEN + 1];
    static uint8_t want[MAX_LEN + 1][32], got[MAX_LEN + 1][32];
    fill(data, sizeof(data), 1);
    for (size_t len = 0; len <= MAX_LEN; len++) {
        /* Odd offsets: kernels must not assume alignment. */
        spans[len] = scitt_span(data + (len * 7) % 61, len);
        scitt_sha256(want[len], spans[len].base, len);
    }
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        if (!supported(k)) {
            continue;
        }
        const char *name = scitt_sha256_kernel_name(k);
        for (size_t len = 0; len <= MAX_LEN; len++) {
            scitt_span_t same[17];
            uint8_t out[17][32];
            for (size_t i = 0; i < 17; i++) {
                same[i] = scitt_span(data + 64 * i + (i % 3), len);
            }
            scitt_sha256_batch_with(k, out, &spans[len], 1);
            cr_assert_arr_eq(out[0], want[len], 32, "kernel %s, length %zu alone", name, len);
            scitt_sha256_batch_with(k, out, same, 17);
            for (size_t i = 0; i < 17; i++) {
                uint8_t ref[32];
                scitt_sha256(ref, same[i].base, len);
                cr_assert_arr_eq(out[i], ref, 32, "kernel %s, length %zu, lane %zu", name, len, i);
            }
        }
        scitt_sha256_batch_with(k, got, spans, MAX_LEN + 1);
        for (size_t len = 0; len <= MAX_LEN; len++) {
            cr_assert_arr_eq(got[len], want[len], 32, "kernel %s, mixed batch, length %zu", name, len);
        }
    }
}

/* Batches of every size 1..MAX_BATCH: mixed lengths, leaves and nodes, out
 * of place and in place. */
Test(sha256_kernels, every_batch_size)
{
    static uint8_t data[MAX_BATCH * 200];
    static uint8_t entries[2 * MAX_BATCH][32], buf[2 * MAX_BATCH][32];
    static uint8_t want[MAX_BATCH][32], got[MAX_BATCH][32];
    scitt_span_t spans[MAX_BATCH];
    fill(data, sizeof(data), 2);
    fill(&entries[0][0], sizeof(entries), 3);
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        if (!supported(k)) {
            continue;
        }
        const char *name = scitt_sha256_kernel_name(k);
        for (size_t num = 1; num <= MAX_BATCH; num++) {
            for (size_t i = 0; i < num; i++) {
                size_t len = (i * 37 + num * 11) % 200;
                spans[i] = scitt_span(data + 200 * i, len);
                scitt_sha256(want[i], spans[i].base, len);
            }
            scitt_sha256_batch_with(k, got, spans, num);
            cr_assert_arr_eq(got, want, 32 * num, "kernel %s, batch of %zu", name, num);

            for (size_t i = 0; i < num; i++) {
                leaf_ref(want[i], entries[i]);
            }
            memset(got, 0, sizeof(got));
            scitt_sha256_leaves_with(k, got, (const uint8_t(*)[32])entries, num);
            cr_assert_arr_eq(got, want, 32 * num, "kernel %s, %zu leaves", name, num);
            memcpy(buf, entries, sizeof(buf));
            scitt_sha256_leaves_with(k, buf, (const uint8_t(*)[32])buf, num);
            cr_assert_arr_eq(buf, want, 32 * num, "kernel %s, %zu leaves in place", name, num);
            cr_assert_arr_eq(buf[num], entries[num], 32 * (2 * MAX_BATCH - num), "kernel %s: wrote past leaf %zu", name,
                             num);

            for (size_t i = 0; i < num; i++) {
                node_ref(want[i], entries[2 * i]);
            }
            memset(got, 0, sizeof(got));
            scitt_sha256_nodes_with(k, got, (const uint8_t(*)[32])entries, num);
            cr_assert_arr_eq(got, want, 32 * num, "kernel %s, %zu nodes", name, num);
            memcpy(buf, entries, sizeof(buf));
            scitt_sha256_nodes_with(k, buf, (const uint8_t(*)[32])buf, num);
            cr_assert_arr_eq(buf, want, 32 * num, "kernel %s, %zu nodes in place", name, num);
            cr_assert_arr_eq(buf[num], entries[num], 32 * (2 * MAX_BATCH - num), "kernel %s: wrote past node %zu", name,
                             num);
        }
    }
}

/* Inputs that end where an inaccessible page begins: a kernel reading one
 * byte past a message, an entry or a child pair crashes here. */
Test(sha256_kernels, no_read_past_inputs)
{
    /* 64 * MAX_BATCH bytes of readable pages, then the guard page. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE), size = (64 * MAX_BATCH + page - 1) / page * page;
    uint8_t *map = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(map, MAP_FAILED);
    cr_assert_eq(mprotect(map + size, page, PROT_NONE), 0);
    uint8_t *end = map + size;
    fill(map, size, 5);
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        if (!supported(k)) {
            continue;
        }
        for (size_t num = 1; num <= MAX_BATCH; num++) {
            uint8_t got[MAX_BATCH][32], want[MAX_BATCH][32];
            const uint8_t(*entries)[32] = (const uint8_t(*)[32])(end - 32 * num);
            scitt_sha256_leaves_with(k, got, entries, num);
            for (size_t i = 0; i < num; i++) {
                leaf_ref(want[i], entries[i]);
            }
            cr_assert_arr_eq(got, want, 32 * num);
            const uint8_t(*pairs)[32] = (const uint8_t(*)[32])(end - 64 * num);
            scitt_sha256_nodes_with(k, got, pairs, num);
            for (size_t i = 0; i < num; i++) {
                node_ref(want[i], pairs[2 * i]);
            }
            cr_assert_arr_eq(got, want, 32 * num);
            /* Messages of lengths num * 3 + i, each ending at the page end. */
            scitt_span_t spans[MAX_BATCH];
            for (size_t i = 0; i < num; i++) {
                size_t len = num * 3 + i;
                spans[i] = scitt_span(end - len, len);
                scitt_sha256(want[i], spans[i].base, len);
            }
            scitt_sha256_batch_with(k, got, spans, num);
            cr_assert_arr_eq(got, want, 32 * num, "kernel %s, batch of %zu", scitt_sha256_kernel_name(k), num);
        }
    }
    munmap(map, size + page);
}

/* A zero-sized batch touches nothing. */
Test(sha256_kernels, empty_batch)
{
    uint8_t out[1][32] = {{0xaa}};
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        if (!supported(k)) {
            continue;
        }
        scitt_sha256_batch_with(k, out, NULL, 0);
        scitt_sha256_leaves_with(k, out, NULL, 0);
        scitt_sha256_nodes_with(k, out, NULL, 0);
        cr_assert_eq(out[0][0], 0xaa);
    }
}

/* set_kernel takes every supported kernel and refuses the rest; the
 * unsuffixed calls then run on it. */
Test(sha256_kernels, set_kernel)
{
    uint8_t pairs[2 * 20][32], want[20][32], got[20][32];
    fill(&pairs[0][0], sizeof(pairs), 4);
    for (size_t i = 0; i < 20; i++) {
        node_ref(want[i], pairs[2 * i]);
    }
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        if (!supported(k)) {
            cr_assert_eq(scitt_sha256_set_kernel(k), SCITT_EINVAL);
            continue;
        }
        cr_assert_eq(scitt_sha256_set_kernel(k), 0);
        cr_assert_eq((int)scitt_sha256_active_kernel(), k);
        scitt_sha256_nodes(got, (const uint8_t(*)[32])pairs, 20);
        cr_assert_arr_eq(got, want, sizeof(want), "kernel %s", scitt_sha256_kernel_name(k));
    }
    cr_assert_eq(scitt_sha256_set_kernel(SCITT_SHA256_NUM_KERNELS), SCITT_EINVAL);
    cr_assert_eq(scitt_sha256_set_kernel((scitt_sha256_kernel_t)-1), SCITT_EINVAL);
}

/* The default is measured (test_choose.c checks the measuring); here it
 * must at least be a kernel this CPU runs. */
Test(sha256_kernels, default_is_supported)
{
    unsetenv("SCITT_SHA256_KERNEL");
    scitt_sha256_kernel_t k = scitt_sha256_active_kernel();
    cr_assert(scitt_sha256_kernel_supported(k), "chose %s", scitt_sha256_kernel_name(k));
    fprintf(stderr, "sha256: the start-up measurement chose %s\n", scitt_sha256_kernel_name(k));
}

/* Criterion runs each test in its own process, so each sees its own first
 * choice of kernel and the environment it sets. */
Test(sha256_kernels, env_selects_portable)
{
    setenv("SCITT_SHA256_KERNEL", "portable", 1);
    cr_assert_eq(scitt_sha256_active_kernel(), SCITT_SHA256_PORTABLE);
}

Test(sha256_kernels, env_selects_each_supported)
{
    /* One process per kernel would be needed to see each first choice; fork
     * is what Criterion does too, so do it here. */
    for (int k = 0; k < SCITT_SHA256_NUM_KERNELS; k++) {
        if (!supported(k)) {
            continue;
        }
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            setenv("SCITT_SHA256_KERNEL", scitt_sha256_kernel_name(k), 1);
            _exit(scitt_sha256_active_kernel() == (scitt_sha256_kernel_t)k ? 0 : 1);
        }
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SCITT_SHA256_KERNEL=%s not honoured",
                  scitt_sha256_kernel_name(k));
    }
}

Test(sha256_kernels, env_unknown_falls_back_to_cpuid)
{
    setenv("SCITT_SHA256_KERNEL", "sha3000", 1);
    cr_assert(scitt_sha256_kernel_supported(scitt_sha256_active_kernel()));
}
