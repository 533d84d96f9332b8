/* stmtpool.c: see stmtpool.h. Statements are built by tests/support's
 * tu_sign_statement, the same builder the integration tests use. */
#include "stmtpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "statement.h"

static int write_file(const char *path, const scitt_buf_t *b, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -errno;
    }
    chmod(path, mode);
    bool ok = fwrite(b->base, 1, b->len, f) == b->len;
    return fclose(f) == 0 && ok ? 0 : SCITT_EIO;
}

/* load_or_make loads DIR/<stem>.key or makes it and DIR/keys/<stem>.pem. */
static int load_or_make(scitt_key_t **out, const char *dir, const char *stem, int alg, const char **out_what)
{
    char path[4096];
    scitt_buf_t b;
    int rc;
    scitt_buf_init(&b, NULL, 1 << 20);
    snprintf(path, sizeof(path), "%s/%s.key", dir, stem);
    if (scitt_read_file(path, &b) == 0) {
        *out_what = "reading the private key";
        rc = scitt_key_from_pem(out, b.base, b.len);
        scitt_buf_cleanup(&b);
        return rc;
    }
    *out_what = "making a key";
    rc = scitt_key_generate(out, alg);
    if (rc != 0) {
        goto done;
    }
    *out_what = "writing the private key";
    scitt_buf_reset(&b);
    rc = scitt_key_private_pem(*out, &b);
    if (rc == 0) {
        rc = write_file(path, &b, 0600);
    }
    if (rc == 0) {
        *out_what = "writing the public key";
        scitt_buf_reset(&b);
        snprintf(path, sizeof(path), "%s/keys/%s.pem", dir, stem);
        rc = scitt_key_public_pem(*out, &b);
        rc = rc != 0 ? rc : write_file(path, &b, 0644);
    }
    if (rc != 0) {
        scitt_key_free(*out);
        *out = NULL;
    }
done:
    scitt_buf_cleanup(&b);
    return rc;
}

int bench_issuer_keys(scitt_key_t **out, size_t num, const char *dir, int alg, const char **out_what)
{
    char path[4096], stem[64];
    const char *name = scitt_alg_name(alg);
    if (name == NULL) {
        *out_what = "unknown algorithm";
        return SCITT_EBADALG;
    }
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/keys", dir);
    mkdir(path, 0755);
    for (size_t i = 0; i < num; i++) {
        if (i == 0) {
            snprintf(stem, sizeof(stem), "%s", name);
        } else {
            snprintf(stem, sizeof(stem), "%s-%zu", name, i);
        }
        int rc = load_or_make(&out[i], dir, stem, alg, out_what);
        if (rc != 0) {
            bench_issuer_keys_free(out, i);
            return rc;
        }
    }
    return 0;
}

void bench_issuer_keys_free(scitt_key_t **keys, size_t num)
{
    for (size_t i = 0; i < num; i++) {
        scitt_key_free(keys[i]);
        keys[i] = NULL;
    }
}

typedef struct signer {
    pthread_t thread;
    bench_pool_t *pool;
    scitt_key_t *const *keys;
    const uint8_t (*kids)[32];
    size_t num_keys;
    int alg;
    size_t payload_len;
    size_t first, step;
    const char *tag;
} signer_t;

static void *sign_range(void *arg)
{
    signer_t *s = arg;
    char *payload = scitt_xmalloc(s->payload_len + 1);
    memset(payload, '.', s->payload_len);
    payload[s->payload_len] = '\0';
    tu_statement_t st = {
        .alg = s->alg,
        .iss = "https://bench.example",
        .sub = "loadgen",
    };
    if (s->pool->num_x5chain > 0) { /* a CI identity: the chain names the key */
        st.kid = scitt_span(NULL, 0);
        st.x5chain = s->pool->x5chain;
        st.num_x5chain = s->pool->num_x5chain;
        st.iss = "did:x509:0:sha256:bench::subject:CN:bench%20leaf";
    }
    for (size_t i = s->first; i < s->pool->num; i += s->step) {
        /* "bench <tag> <number>" then padding: distinct and fixed-size. */
        size_t n = (size_t)snprintf(payload, s->payload_len + 1, "bench %s %012zu", s->tag, i);
        if (n < s->payload_len) {
            payload[n] = '.';
        }
        st.payload = scitt_span(payload, s->payload_len);
        if (s->pool->num_x5chain == 0) {
            st.kid = scitt_span(s->kids[i % s->num_keys], 32); /* the issuers take turns */
        }
        scitt_buf_init(&s->pool->stmts[i], NULL, 0);
        tu_sign_statement(&s->pool->stmts[i], s->keys[i % s->num_keys], &st);
    }
    free(payload);
    return NULL;
}

void bench_pool_init(bench_pool_t *pool, scitt_key_t *const *keys, size_t num_keys, int alg, size_t num,
                     size_t payload_len, unsigned num_threads)
{
    uint8_t rnd[8];
    char tag[17];
    uint8_t(*kids)[32] = scitt_xmalloc(num_keys * sizeof(*kids));
    for (size_t k = 0; k < num_keys; k++) {
        tu_kid(kids[k], keys[k]);
    }
    if (scitt_random(rnd, sizeof(rnd)) != 0) {
        abort();
    }
    scitt_hex_encode(tag, rnd, sizeof(rnd));
    payload_len = payload_len < 40 ? 40 : payload_len;
    num_threads = num_threads == 0 ? 1 : num_threads;
    pool->num = num;
    pool->stmts = scitt_xmalloc((num != 0 ? num : 1) * sizeof(scitt_buf_t));
    signer_t *signers = scitt_xmalloc(num_threads * sizeof(signer_t));
    for (unsigned t = 0; t < num_threads; t++) {
        signers[t] = (signer_t){.pool = pool,
                                .keys = keys,
                                .kids = (const uint8_t(*)[32])kids,
                                .num_keys = num_keys,
                                .alg = alg,
                                .payload_len = payload_len,
                                .first = t,
                                .step = num_threads,
                                .tag = tag};
        if (pthread_create(&signers[t].thread, NULL, sign_range, &signers[t]) != 0) {
            abort();
        }
    }
    for (unsigned t = 0; t < num_threads; t++) {
        pthread_join(signers[t].thread, NULL);
    }
    free(signers);
    free(kids);
}

void bench_pool_cleanup(bench_pool_t *pool)
{
    for (size_t i = 0; i < pool->num; i++) {
        scitt_buf_cleanup(&pool->stmts[i]);
    }
    free(pool->stmts);
    pool->stmts = NULL;
    pool->num = 0;
    for (size_t i = 0; i < pool->num_x5chain; i++) {
        free((void *)pool->x5chain[i].base);
    }
    pool->num_x5chain = 0;
}

int bench_x5chain_load(bench_pool_t *pool, scitt_key_t **out, const char *dir, const char **out_what)
{
    static const char *const names[] = {"leaf.der", "intermediate.der"};
    char path[4096];
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 1 << 20);
    snprintf(path, sizeof(path), "%s/x5chain/leaf.key", dir);
    *out_what = "reading DIR/x5chain/leaf.key (make it with bench/x5pki DIR)";
    int rc = scitt_read_file(path, &b);
    rc = rc != 0 ? rc : scitt_key_from_pem(out, b.base, b.len);
    for (size_t i = 0; rc == 0 && i < scitt_countof(names); i++) {
        snprintf(path, sizeof(path), "%s/x5chain/%s", dir, names[i]);
        scitt_buf_reset(&b);
        *out_what = "reading the x5chain certificates";
        rc = scitt_read_file(path, &b);
        if (rc == 0) {
            uint8_t *der = scitt_xmalloc(b.len);
            memcpy(der, b.base, b.len);
            pool->x5chain[pool->num_x5chain++] = scitt_span(der, b.len);
        }
    }
    scitt_buf_cleanup(&b);
    return rc;
}
