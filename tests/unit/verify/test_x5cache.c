/*
 * The cache of validated x5chain chains (src/verify/chaincache.c) never
 * accepts what a fresh validation would refuse: every case is checked on a
 * policy with the cache and on one without it, at times chosen around the
 * fixtures' validity (tests/data/x509/make-certs.py: 2025-01-01 to
 * 2125-01-01; leaf-expired.der ends 2025-06-01). The policy's `now`
 * argument is the clock.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "chaincache.h"
#include "scitt/verify.h"
#include "statement.h"
#include "testutil.h"

#define NOW         1795305600LL /* 2026-11-22 */
#define T0          1735689600LL /* every fixture's notBefore */
#define T1          4891363200LL /* notAfter of all but leaf-expired */
#define LEAF_EXP_NA 1748736000LL /* leaf-expired's notAfter */

static uint8_t *fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/x509/%s", getenv("SCITT_LOCAL_TESTDATA"), name);
    uint8_t *b = tu_read_file(path, len);
    cr_assert_not_null(b, "%s", path);
    return b;
}

static scitt_policy_t *policy(const char *roots, size_t cache_entries)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/x509/%s", getenv("SCITT_LOCAL_TESTDATA"), roots);
    scitt_policy_config_t cfg = {.trust_roots_file = path, .x5chain_cache_entries = cache_entries};
    scitt_policy_t *p;
    const char *why = NULL;
    cr_assert_eq(scitt_policy_new(&p, &cfg, &why), 0, "%s", why ? why : "");
    return p;
}

/* A chain of fixture files (leaf first) and the key that signs for it. */
typedef struct chain {
    uint8_t *der[3];
    scitt_span_t certs[3];
    size_t num;
} chain_t;

static chain_t chain(const char *leaf, const char *inter)
{
    chain_t c = {.num = 2};
    const char *names[2] = {leaf, inter};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        c.der[i] = fixture(names[i], &len);
        c.certs[i] = scitt_span(c.der[i], len);
    }
    return c;
}

static void chain_free(chain_t *c)
{
    for (size_t i = 0; i < c->num; i++) {
        free(c->der[i]);
    }
}

static scitt_key_t *leaf_key(void)
{
    size_t len;
    uint8_t *pem = fixture("leaf-key.pem", &len);
    scitt_key_t *key;
    cr_assert_eq(scitt_key_from_pem(&key, pem, len), 0);
    free(pem);
    return key;
}

static unsigned counter;

/* check signs a fresh statement (a distinct payload each time) carrying
 * `c` in its protected header and runs the policy at `now`. */
static int check(const scitt_policy_t *p, const scitt_key_t *signer, const chain_t *c, int64_t now)
{
    char payload[64];
    snprintf(payload, sizeof(payload), "build %u", counter++);
    tu_statement_t st = {.alg = SCITT_ALG_ES256,
                         .x5chain = c->certs,
                         .num_x5chain = c->num,
                         .iss = "did:x509:0:sha256:test::subject:CN:test%20leaf",
                         .sub = "firmware",
                         .payload = scitt_span_str(payload)};
    scitt_buf_t body, scratch;
    scitt_buf_init(&body, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    tu_sign_statement(&body, signer, &st);
    scitt_verified_t v;
    const char *why;
    int rc = scitt_policy_check(p, body.base, body.len, now, &v, &scratch, &why);
    scitt_buf_cleanup(&body);
    scitt_buf_cleanup(&scratch);
    return rc;
}

static scitt_x5chain_cache_stats_t stats(const scitt_policy_t *p)
{
    scitt_x5chain_cache_stats_t st;
    scitt_policy_x5chain_cache_stats(p, &st);
    return st;
}

/* agree checks `c` at `now` on the cached policy and on a fresh one with
 * the same roots, asserts the same outcome, and returns it. */
static int agree(const scitt_policy_t *cached, const char *roots, const scitt_key_t *signer, const chain_t *c,
                 int64_t now)
{
    scitt_policy_t *fresh = policy(roots, 0);
    int want = check(fresh, signer, c, now);
    scitt_policy_free(fresh);
    int got = check(cached, signer, c, now);
    cr_assert_eq(got, want, "at %lld: cached %s, fresh %s", (long long)now, scitt_err_name(got), scitt_err_name(want));
    return got;
}

/* A policy with a cache (roots root.pem) in which leaf.der + intermediate.der
 * was just validated and cached, and the key that signs for that leaf. */
typedef struct cached {
    scitt_policy_t *p;
    scitt_key_t *key;
    chain_t c;
} cached_t;

static cached_t cached(void)
{
    cached_t f = {.p = policy("root.pem", 64), .key = leaf_key(), .c = chain("leaf.der", "intermediate.der")};
    cr_assert_eq(check(f.p, f.key, &f.c, NOW), 0);
    cr_assert_eq(stats(f.p).misses, 1);
    return f;
}

static void cached_free(cached_t *f)
{
    chain_free(&f->c);
    scitt_key_free(f->key);
    scitt_policy_free(f->p);
}

Test(verify_x5cache, a_chain_seen_again_is_a_hit)
{
    cached_t f = cached();
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(check(f.p, f.key, &f.c, NOW), 0);
    }
    scitt_x5chain_cache_stats_t st = stats(f.p);
    cr_assert_eq(st.misses, 1);
    cr_assert_eq(st.hits, 4);
    cr_assert_eq(st.entries, 1);
    cr_assert_geq(st.capacity, 64);
    /* No cache: nothing counted. */
    scitt_policy_t *none = policy("root.pem", 0);
    cr_assert_eq(check(none, f.key, &f.c, NOW), 0);
    cr_assert_eq(stats(none).hits + stats(none).misses, 0);
    scitt_policy_free(none);
    cached_free(&f);
}

Test(verify_x5cache, the_statement_signature_is_still_checked)
{
    cached_t f = cached();
    scitt_key_t *other;
    cr_assert_eq(scitt_key_generate(&other, SCITT_ALG_ES256), 0);
    cr_assert_eq(agree(f.p, "root.pem", other, &f.c, NOW), SCITT_EBADSIG);
    cr_assert_eq(stats(f.p).hits, 1, "the chain came from the cache, the signature did not");
    scitt_key_free(other);
    cached_free(&f);
}

/* Time moves past notAfter, or back before notBefore, after caching. */
Test(verify_x5cache, validity_times_bound_a_hit)
{
    cached_t f = cached();
    const int64_t times[] = {T1 + 1, T1, T1 - 1, NOW, T0 - 1, T0, T0 + 1, T1 + 86400};
    for (size_t i = 0; i < scitt_countof(times); i++) {
        int rc = agree(f.p, "root.pem", f.key, &f.c, times[i]);
        if (times[i] > T1 || times[i] < T0) {
            cr_assert_eq(rc, SCITT_ECERT, "at %lld", (long long)times[i]);
        }
    }
    cr_assert_eq(check(f.p, f.key, &f.c, NOW), 0);
    cr_assert_gt(stats(f.p).hits, 0);

    /* A leaf whose validity ends long before the others': cached while it
     * was valid, refused once it ended. */
    chain_t e = chain("leaf-expired.der", "intermediate.der");
    cr_assert_eq(check(f.p, f.key, &e, LEAF_EXP_NA - 86400), 0);
    cr_assert_eq(check(f.p, f.key, &e, LEAF_EXP_NA - 3600), 0);
    uint64_t hits = stats(f.p).hits;
    cr_assert_eq(agree(f.p, "root.pem", f.key, &e, LEAF_EXP_NA + 1), SCITT_ECERT);
    cr_assert_eq(agree(f.p, "root.pem", f.key, &e, NOW), SCITT_ECERT);
    cr_assert_eq(stats(f.p).hits, hits, "an expired chain is never a hit");
    chain_free(&e);
    cached_free(&f);
}

/* The roots change (a new policy, a reload): the chain is validated again
 * against them, and the cache key names the roots. */
Test(verify_x5cache, trust_roots_are_part_of_the_key)
{
    cached_t f = cached();
    scitt_policy_t *q = policy("other-root.pem", 64);
    cr_assert_eq(agree(q, "other-root.pem", f.key, &f.c, NOW), SCITT_ECERT);
    cr_assert_eq(agree(q, "other-root.pem", f.key, &f.c, NOW), SCITT_ECERT);
    cr_assert_eq(stats(q).hits, 0);
    scitt_policy_free(q);

    const scitt_span_t *certs = f.c.certs;
    uint8_t roots_a[32] = {1}, roots_b[32] = {2}, da[32], db[32], da2[32];
    cr_assert(scitt_chain_cache_digest(da, roots_a, certs, 2));
    cr_assert(scitt_chain_cache_digest(db, roots_b, certs, 2));
    cr_assert(scitt_chain_cache_digest(da2, roots_a, certs, 2));
    cr_assert_arr_neq(da, db, 32);
    cr_assert_arr_eq(da, da2, 32);
    /* The same bytes split differently name another chain. */
    uint8_t joined[1024];
    memcpy(joined, certs[0].base, certs[0].len);
    memcpy(joined + certs[0].len, certs[1].base, certs[1].len);
    scitt_span_t one = scitt_span(joined, certs[0].len + certs[1].len);
    cr_assert(scitt_chain_cache_digest(db, roots_a, &one, 1));
    cr_assert_arr_neq(da, db, 32);
    cr_assert_not(scitt_chain_cache_digest(db, roots_a, certs, 0));
    cached_free(&f);
}

/* find returns the offset of `needle` in `hay`. */
static size_t find(scitt_span_t hay, scitt_span_t needle)
{
    for (size_t i = 0; i + needle.len <= hay.len; i++) {
        if (memcmp(hay.base + i, needle.base, needle.len) == 0) {
            return i;
        }
    }
    cr_assert_fail("not found");
    return 0;
}

Test(verify_x5cache, a_chain_differing_in_one_byte_is_validated_afresh)
{
    cached_t f = cached();
    chain_t *c = &f.c;
    /* One byte of the leaf's public key (the last of its SPKI): another key. */
    scitt_buf_t spki;
    scitt_buf_init(&spki, NULL, 0);
    cr_assert_eq(scitt_key_spki(f.key, &spki), 0);
    size_t at = find(c->certs[0], scitt_buf_span(&spki)) + spki.len - 1;
    scitt_buf_cleanup(&spki);
    c->der[0][at] ^= 0x01;
    cr_assert_neq(agree(f.p, "root.pem", f.key, c, NOW), 0);
    c->der[0][at] ^= 0x01;
    /* One byte of the intermediate's certificate signature. */
    c->der[1][c->certs[1].len - 1] ^= 0x01;
    cr_assert_eq(agree(f.p, "root.pem", f.key, c, NOW), SCITT_ECERT);
    c->der[1][c->certs[1].len - 1] ^= 0x01;
    cr_assert_eq(check(f.p, f.key, c, NOW), 0);
    cr_assert_eq(stats(f.p).hits, 1, "only the unchanged chain hits");
    cached_free(&f);
}

/* The same leaf (name and key) issued by a second intermediate that has the
 * first one's name: presented with the cached intermediate it is refused. */
Test(verify_x5cache, a_leaf_of_another_intermediate)
{
    cached_t f = cached();
    chain_t mixed = chain("leaf-int2.der", "intermediate.der");
    chain_t other = chain("leaf-int2.der", "intermediate-2.der");
    chain_t swapped = chain("leaf.der", "intermediate-2.der");
    cr_assert_eq(check(f.p, f.key, &other, NOW), 0);
    cr_assert_eq(agree(f.p, "root.pem", f.key, &mixed, NOW), SCITT_ECERT);
    cr_assert_eq(agree(f.p, "root.pem", f.key, &swapped, NOW), SCITT_ECERT);
    cr_assert_eq(agree(f.p, "root.pem", f.key, &mixed, NOW), SCITT_ECERT);
    cr_assert_eq(stats(f.p).entries, 2, "refused chains are not cached");
    cr_assert_eq(stats(f.p).hits, 0);
    chain_free(&mixed);
    chain_free(&other);
    chain_free(&swapped);
    cached_free(&f);
}

static void digest_of(uint8_t d[32], unsigned i)
{
    memset(d, 0, 32);
    memcpy(d + 8, &i, sizeof(i)); /* the set index comes from the first 8 bytes: all in set 0 */
}

static scitt_chain_ref_t *put(scitt_chain_cache_t *c, unsigned i)
{
    uint8_t d[32];
    digest_of(d, i);
    scitt_key_t *k;
    cr_assert_eq(scitt_key_generate(&k, SCITT_ALG_ES256), 0);
    scitt_chain_ref_t *ref;
    cr_assert_eq(scitt_chain_cache_put(c, d, k, T0, T1, &ref), 0);
    return ref;
}

static bool has(scitt_chain_cache_t *c, unsigned i)
{
    uint8_t d[32];
    digest_of(d, i);
    scitt_chain_ref_t *ref = scitt_chain_cache_get(c, d, NOW);
    scitt_chain_ref_release(ref);
    return ref != NULL;
}

Test(verify_x5cache, bounded_least_recently_used_evicted)
{
    scitt_chain_cache_t *c;
    cr_assert_eq(scitt_chain_cache_new(&c, 8), 0);
    scitt_x5chain_cache_stats_t st;
    /* A ref held by a caller outlives its entry's eviction. */
    scitt_chain_ref_t *first = put(c, 0);
    for (unsigned i = 1; i < 8; i++) {
        scitt_chain_ref_release(put(c, i));
    }
    cr_assert(has(c, 0)); /* 0 is now the most recently used; 1 the least */
    for (unsigned i = 8; i < 20; i++) {
        scitt_chain_ref_release(put(c, i));
        scitt_chain_cache_stats(c, &st);
        cr_assert_leq(st.entries, 8);
    }
    cr_assert_eq(st.capacity, 8);
    cr_assert_eq(st.evictions, 12);
    cr_assert_not(has(c, 1));
    cr_assert(has(c, 19));
    cr_assert(scitt_key_supports(scitt_chain_ref_key(first), SCITT_ALG_ES256));
    scitt_chain_ref_release(first);
    /* Outside the span: a miss, and the entry is gone. */
    uint8_t d[32];
    digest_of(d, 19);
    cr_assert_null(scitt_chain_cache_get(c, d, T1));
    cr_assert_null(scitt_chain_cache_get(c, d, NOW));
    scitt_chain_cache_free(c);
}

/* Verify-pool threads share one cache: hits, puts and evictions at once on
 * a small table (run under ASan: no use after free of an evicted key). */
static void *hammer(void *arg)
{
    scitt_chain_cache_t *c = arg;
    uintptr_t bad = 0; /* no Criterion asserts off the test's own thread */
    for (unsigned i = 0; i < 2000; i++) {
        unsigned n = (i * 7919u) % 24;
        uint8_t d[32];
        digest_of(d, n);
        d[0] = (uint8_t)n; /* spread over the sets */
        scitt_chain_ref_t *ref = scitt_chain_cache_get(c, d, NOW);
        scitt_key_t *k;
        if (ref == NULL &&
            (scitt_key_generate(&k, SCITT_ALG_EDDSA) != 0 || scitt_chain_cache_put(c, d, k, T0, T1, &ref) != 0)) {
            return (void *)(bad + 1);
        }
        bad += !scitt_key_supports(scitt_chain_ref_key(ref), SCITT_ALG_EDDSA);
        scitt_chain_ref_release(ref);
    }
    return (void *)bad;
}

Test(verify_x5cache, threads_share_one_cache)
{
    scitt_chain_cache_t *c;
    cr_assert_eq(scitt_chain_cache_new(&c, 16), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, c), 0);
    }
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        cr_assert_null(bad);
    }
    scitt_x5chain_cache_stats_t st;
    scitt_chain_cache_stats(c, &st);
    cr_assert_eq(st.hits + st.misses, 8000);
    cr_assert_gt(st.hits, 0);
    cr_assert_leq(st.entries, st.capacity);
    scitt_chain_cache_free(c);
}
