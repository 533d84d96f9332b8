/* harness.c: see harness.h. */
#include "harness.h"
#include "../../../src/store/tuning.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "scitt/cond.h"
#include "statement.h"

static void write_file(const char *path, scitt_span_t data)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data.base, 1, data.len, f), data.len);
    fclose(f);
}

void h_setup(h_env_t *e)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/scitt-seq-XXXXXX");
    cr_assert_not_null(mkdtemp(e->dir));
    snprintf(e->issuer_dir, sizeof(e->issuer_dir), "/tmp/scitt-seq-issuers-XXXXXX");
    cr_assert_not_null(mkdtemp(e->issuer_dir));
    cr_assert_eq(scitt_key_generate(&e->issuer, SCITT_ALG_EDDSA), 0);
    tu_kid(e->issuer_kid, e->issuer);
    scitt_buf_t pem;
    scitt_buf_init(&pem, NULL, 0);
    cr_assert_eq(scitt_key_public_pem(e->issuer, &pem), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/ci.pem", e->issuer_dir);
    write_file(path, scitt_buf_span(&pem));
    scitt_buf_cleanup(&pem);
    scitt_policy_config_t pc = {.issuer_keys_dir = e->issuer_dir};
    const char *why = NULL;
    int rc = scitt_policy_new(&e->policy, &pc, &why);
    cr_assert_eq(rc, 0, "policy: %s", why ? why : "");
}

void h_teardown(h_env_t *e)
{
    h_close(e);
    scitt_policy_free(e->policy);
    scitt_key_free(e->issuer);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", e->dir, e->issuer_dir);
    cr_assert_eq(system(cmd), 0);
}

void h_open(h_env_t *e, size_t map_size, size_t map_size_max)
{
    struct scitt_store_tuning tu = {.map_size = map_size, .map_size_max = map_size_max};
    scitt_store_config_t sc = {.dir = e->dir, .tuning = &tu};
    const char *why = NULL;
    int rc = scitt_store_open(&e->store, &sc, &why);
    cr_assert_eq(rc, 0, "store: %s (%s)", scitt_err_name(rc), why ? why : "");
    rc = scitt_seq_keys_load(&e->keys, e->dir, e->store, &why);
    cr_assert_eq(rc, 0, "keys: %s (%s)", scitt_err_name(rc), why ? why : "");
    cr_assert_eq(scitt_note_verifier_init(&e->note_v, H_ORIGIN, e->keys.checkpoint_key), 0);
}

void h_start(h_env_t *e, size_t batch_max, size_t max_pending, unsigned workers)
{
    scitt_seq_config_t cfg = {.store = e->store,
                              .keys = &e->keys,
                              .policy = e->policy,
                              .origin = H_ORIGIN,
                              .workers = workers,
                              .batch_max = batch_max,
                              .max_pending = max_pending,
                              .tile_cache_bytes = e->tile_cache_bytes,
                              .receipt_cache_bytes = e->receipt_cache_bytes,
                              .commit_linger_us = e->linger_us};
    const char *why = NULL;
    int rc = scitt_seq_start(&e->seq, &cfg, &why);
    cr_assert_eq(rc, 0, "start: %s (%s)", scitt_err_name(rc), why ? why : "");
}

void h_close(h_env_t *e)
{
    scitt_seq_free(e->seq);
    e->seq = NULL;
    scitt_note_verifier_cleanup(&e->note_v);
    scitt_seq_keys_cleanup(&e->keys);
    scitt_store_close(e->store);
    e->store = NULL;
}

void h_statement(h_env_t *e, scitt_buf_t *out, const char *sub, bool noise)
{
    static const uint8_t unprotected[] = {0xa1, 0x18, 0x63, 0x61, 'x'}; /* {99: "x"} */
    tu_statement_t st = {.alg = SCITT_ALG_EDDSA,
                         .kid = scitt_span(e->issuer_kid, 32),
                         .iss = "https://ci.example",
                         .sub = sub,
                         .payload = scitt_span_str(sub),
                         .unprotected = noise ? scitt_span(unprotected, sizeof(unprotected)) : scitt_span(NULL, 0)};
    tu_sign_statement(out, e->issuer, &st);
}

void h_entry(const scitt_buf_t *stmt, uint8_t out[32])
{
    scitt_cose_sign1_t s;
    cr_assert_eq(scitt_cose_sign1_decode(&s, stmt->base, stmt->len, 0, NULL), 0);
    scitt_cose_entry(&s, out);
}

void h_waiter_init(h_waiter_t *w, size_t num)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    scitt_cond_init(&w->cond);
    w->num = num;
    w->results = calloc(num, sizeof(*w->results));
    cr_assert_not_null(w->results);
    for (size_t i = 0; i < num; i++) {
        w->results[i].w = w;
    }
}

void h_waiter_cleanup(h_waiter_t *w)
{
    for (size_t i = 0; i < w->num; i++) {
        free(w->results[i].receipt);
    }
    free(w->results);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}

void h_done(void *ctx, const scitt_seq_result_t *res)
{
    h_result_t *r = ctx;
    h_waiter_t *w = r->w;
    uint8_t *copy = NULL;
    if (res->rc == 0) {
        copy = malloc(res->receipt.len);
        memcpy(copy, res->receipt.base, res->receipt.len);
    }
    pthread_mutex_lock(&w->lock);
    if (r->done) {
        w->twice++;
        free(copy);
    } else {
        r->rc = res->rc;
        r->has_entry = res->has_entry;
        memcpy(r->entry, res->entry, 32);
        r->index = res->index;
        r->existing = res->existing;
        r->receipt = copy;
        r->receipt_len = res->rc == 0 ? res->receipt.len : 0;
        r->done = true;
        w->answered++;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
}

void h_wait(h_waiter_t *w, size_t n, double seconds)
{
    struct timespec until;
    scitt_deadline(&until, (uint64_t)((seconds + 1) * 1e9));
    pthread_mutex_lock(&w->lock);
    while (w->answered < n) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0) {
            break;
        }
    }
    size_t got = w->answered;
    pthread_mutex_unlock(&w->lock);
    cr_assert_geq(got, n, "only %zu of %zu answers arrived", got, n);
}

void h_submit(h_env_t *e, h_waiter_t *w, size_t i, const scitt_buf_t *stmt)
{
    int rc;
    while ((rc = scitt_seq_submit(e->seq, stmt->base, stmt->len, h_done, NULL, &w->results[i], NULL)) == SCITT_EFULL) {
        usleep(200);
    }
    cr_assert_eq(rc, 0, "submit: %s", scitt_err_name(rc));
}

void h_submit_entry(h_env_t *e, h_waiter_t *w, size_t i, const uint8_t *stmt, size_t len)
{
    uint8_t entry[32];
    scitt_sha256(entry, stmt, len);
    int rc;
    while ((rc = scitt_seq__submit_entry(e->seq, stmt, len, entry, h_done, &w->results[i])) == SCITT_EFULL) {
        usleep(200);
    }
    cr_assert_eq(rc, 0, "submit: %s", scitt_err_name(rc));
}

uint64_t h_check_receipt(h_env_t *e, const uint8_t entry[32], uint64_t index, const uint8_t *receipt, size_t len)
{
    scitt_receipt_t *r = malloc(sizeof(*r));
    scitt_buf_t scratch, rebuilt;
    scitt_buf_init(&scratch, NULL, 0);
    scitt_buf_init(&rebuilt, NULL, 0);
    const char *why = NULL;
    int rc = scitt_receipt_decode(r, receipt, len, &why);
    cr_assert_eq(rc, 0, "decode: %s", why ? why : "");
    uint8_t root[32];
    rc = scitt_receipt_verify(r, entry, e->keys.receipt_key, root, &scratch, &why);
    cr_assert_eq(rc, 0, "verify leaf %llu: %s %s", (unsigned long long)index, scitt_err_name(rc), why ? why : "");
    cr_assert_eq(r->leaf_index, index);
    uint64_t size = r->tree_size;
    cr_assert_gt(size, index);

    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(e->store, &rd), 0);
    scitt_span_t stmt;
    cr_assert_eq(scitt_store_get_entry(rd, index, &stmt), 0, "entry %llu missing", (unsigned long long)index);
    uint8_t got[32];
    scitt_sha256(got, stmt.base, stmt.len);
    cr_assert_arr_eq(got, entry, 32, "the stored statement is not the entry");
    uint64_t found;
    cr_assert_eq(scitt_store_get_entryidx(rd, entry, &found), 0);
    cr_assert_eq(found, index);
    scitt_store_head_t head, from;
    cr_assert_eq(scitt_store_get_head(rd, size, &head), 0, "no head at %llu", (unsigned long long)size);
    cr_assert_eq(scitt_store_get_head_from(rd, index + 1, &from), 0);
    cr_assert_eq(from.size, size, "the receipt is not at the head of the batch that committed the leaf");
    cr_assert_arr_eq(head.root, root, 32);
    cr_assert_eq(r->iat, head.time);
    scitt_checkpoint_t cp;
    rc = scitt_note_open(head.checkpoint.base, head.checkpoint.len, &e->note_v, 1, &cp, &why);
    cr_assert_eq(rc, 0, "checkpoint: %s", why ? why : "");
    cr_assert_eq(cp.size, size);
    cr_assert_arr_eq(cp.root, root, 32);
    scitt_store_read_end(rd);

    cr_assert_eq(scitt_log_store_receipt(e->store, NULL, e->keys.receipt_kid, H_ORIGIN, index, &rebuilt), 0);
    cr_assert_eq(rebuilt.len, len, "rebuilt receipt differs in length");
    cr_assert_arr_eq(rebuilt.base, receipt, len, "rebuilt receipt differs");
    if (e->seq != NULL) {
        scitt_buf_reset(&rebuilt);
        cr_assert_eq(scitt_log_receipt(scitt_seq_log(e->seq), NULL, index, &rebuilt), 0);
        cr_assert_eq(rebuilt.len, len, "receipt through the tile cache differs in length");
        cr_assert_arr_eq(rebuilt.base, receipt, len, "receipt through the tile cache differs");
    }
    scitt_buf_cleanup(&rebuilt);
    scitt_buf_cleanup(&scratch);
    free(r);
    return size;
}

uint64_t h_tree_size(h_env_t *e)
{
    scitt_store_read_t *rd;
    scitt_store_head_t head;
    cr_assert_eq(scitt_store_read_begin(e->store, &rd), 0);
    int rc = scitt_store_get_latest_head(rd, &head);
    uint64_t size = rc == 0 ? head.size : 0;
    cr_assert(rc == 0 || rc == SCITT_ENOTFOUND);
    scitt_store_read_end(rd);
    return size;
}

size_t h_check_log(h_env_t *e)
{
    scitt_store_read_t *rd;
    cr_assert_eq(scitt_store_read_begin(e->store, &rd), 0);
    scitt_tile_reader_t reader = scitt_log__tile_reader(rd, NULL);
    size_t num = 0, cap = 64;
    uint64_t *sizes = malloc(cap * sizeof(*sizes));
    uint8_t(*roots)[32] = malloc(cap * 32);
    scitt_store_head_t head;
    uint64_t next = 1;
    int rc;
    while ((rc = scitt_store_get_head_from(rd, next, &head)) == 0) {
        const char *why = NULL;
        scitt_checkpoint_t cp;
        rc = scitt_note_open(head.checkpoint.base, head.checkpoint.len, &e->note_v, 1, &cp, &why);
        cr_assert_eq(rc, 0, "checkpoint at %llu: %s", (unsigned long long)head.size, why ? why : "");
        cr_assert_eq(cp.size, head.size);
        cr_assert_arr_eq(cp.root, head.root, 32);
        cr_assert(scitt_span_eq(cp.origin, scitt_span_str(H_ORIGIN)));
        if (num == cap) {
            cap *= 2;
            sizes = realloc(sizes, cap * sizeof(*sizes));
            roots = realloc(roots, cap * 32);
        }
        sizes[num] = head.size;
        memcpy(roots[num], head.root, 32);
        num++;
        next = head.size + 1;
    }
    cr_assert_eq(rc, SCITT_ENOTFOUND);
    for (size_t j = 0; j < num; j++) {
        uint8_t root[32];
        cr_assert_eq(scitt_merkle_root_at(NULL, &reader, sizes[j], root), 0);
        cr_assert_arr_eq(root, roots[j], 32, "tiles do not reproduce the head at %llu", (unsigned long long)sizes[j]);
        for (size_t i = 0; i < j; i++) {
            /* Every pair while that is cheap; beyond, neighbours and both ends. */
            if (num > 64 && i + 1 != j && i != 0 && j != num - 1) {
                continue;
            }
            uint8_t proof[64][32];
            size_t proof_len;
            cr_assert_eq(scitt_merkle_consistency_proof(NULL, &reader, sizes[i], sizes[j], proof, &proof_len), 0);
            cr_assert_eq(scitt_merkle_verify_consistency(sizes[i], sizes[j], roots[i], roots[j],
                                                         (const uint8_t(*)[32])proof, proof_len),
                         0, "heads %llu and %llu are not consistent", (unsigned long long)sizes[i],
                         (unsigned long long)sizes[j]);
        }
    }
    scitt_store_read_end(rd);
    free(sizes);
    free(roots);
    return num;
}
