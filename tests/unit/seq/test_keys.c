#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static h_env_t env;

static void setup(void)
{
    h_setup(&env);
}

static void teardown(void)
{
    h_teardown(&env);
}

TestSuite(keys, .init = setup, .fini = teardown, .timeout = 60);

static void path_of(char *out, size_t cap, const char *file)
{
    snprintf(out, cap, "%s/%s", env.dir, file);
}

static void write_key(const char *file, scitt_key_t *key, mode_t mode)
{
    char path[512];
    path_of(path, sizeof(path), file);
    scitt_buf_t pem;
    scitt_buf_init(&pem, NULL, 0);
    cr_assert_eq(scitt_key_private_pem(key, &pem), 0);
    unlink(path);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(pem.base, 1, pem.len, f), pem.len);
    fclose(f);
    cr_assert_eq(chmod(path, mode), 0);
    scitt_buf_cleanup(&pem);
}

static void open_store(void)
{
    scitt_store_config_t sc = {.dir = env.dir};
    cr_assert_eq(scitt_store_open(&env.store, &sc, NULL), 0);
}

/* load tries to load the keys into a scratch struct and returns the code. */
static int load(const char **why)
{
    scitt_seq_keys_t k;
    int rc = scitt_seq_keys_load(&k, env.dir, env.store, why);
    if (rc == 0) {
        scitt_seq_keys_cleanup(&k);
    }
    return rc;
}

Test(keys, created_0600_then_reloaded)
{
    open_store();
    scitt_seq_keys_t k1, k2;
    const char *why = NULL;
    cr_assert_eq(scitt_seq_keys_load(&k1, env.dir, env.store, &why), 0, "%s", why ? why : "");
    const char *files[] = {"service-es256.pem", "checkpoint-ed25519.key"};
    for (int i = 0; i < 2; i++) {
        char path[512];
        struct stat sb;
        path_of(path, sizeof(path), files[i]);
        cr_assert_eq(stat(path, &sb), 0, "%s", files[i]);
        cr_assert_eq(sb.st_mode & 0777, 0600, "%s has mode %o", files[i], sb.st_mode & 0777);
    }
    cr_assert(scitt_key_supports(k1.receipt_key, SCITT_ALG_ES256));
    cr_assert(scitt_key_has_private(k1.receipt_key));
    cr_assert(scitt_key_supports(k1.checkpoint_key, SCITT_ALG_EDDSA));
    uint8_t kid[32];
    cr_assert_eq(scitt_cose_key_thumbprint(NULL, kid, k1.receipt_key), 0);
    cr_assert_arr_eq(kid, k1.receipt_kid, 32);

    /* meta records the ids. */
    scitt_store_read_t *rd;
    scitt_span_t v;
    char hex[65];
    scitt_hex_encode(hex, kid, 32);
    cr_assert_eq(scitt_store_read_begin(env.store, &rd), 0);
    cr_assert_eq(scitt_store_get_meta(rd, SCITT_SEQ__META_RECEIPT_KID, &v), 0);
    cr_assert(scitt_span_eq(v, scitt_span_str(hex)));
    cr_assert_eq(scitt_store_get_meta(rd, SCITT_SEQ__META_CHECKPOINT_KID, &v), 0);
    cr_assert_eq(v.len, 64);
    scitt_store_read_end(rd);

    /* A second start loads the same keys, also after reopening the store. */
    scitt_store_close(env.store);
    open_store();
    cr_assert_eq(scitt_seq_keys_load(&k2, env.dir, env.store, &why), 0, "%s", why ? why : "");
    cr_assert_arr_eq(k2.receipt_kid, k1.receipt_kid, 32);
    scitt_buf_t a, b;
    scitt_buf_init(&a, NULL, 0);
    scitt_buf_init(&b, NULL, 0);
    cr_assert_eq(scitt_key_spki(k1.checkpoint_key, &a), 0);
    cr_assert_eq(scitt_key_spki(k2.checkpoint_key, &b), 0);
    cr_assert(scitt_span_eq(scitt_buf_span(&a), scitt_buf_span(&b)));
    scitt_buf_cleanup(&a);
    scitt_buf_cleanup(&b);
    scitt_seq_keys_cleanup(&k1);
    scitt_seq_keys_cleanup(&k2);
    scitt_seq_keys_cleanup(&k2); /* safe on a cleaned struct */
}

Test(keys, a_different_key_is_refused)
{
    open_store();
    const char *why = NULL;
    cr_assert_eq(load(&why), 0);
    scitt_key_t *other;
    cr_assert_eq(scitt_key_generate(&other, SCITT_ALG_ES256), 0);
    write_key("service-es256.pem", other, 0600);
    cr_assert_eq(load(&why), SCITT_EBADKEY);
    cr_assert_not_null(strstr(why, "service-es256.pem"), "%s", why);
    cr_log_info("refused: %s", why);
    scitt_key_free(other);
}

Test(keys, a_different_checkpoint_key_is_refused)
{
    open_store();
    const char *why = NULL;
    cr_assert_eq(load(&why), 0);
    scitt_key_t *other;
    cr_assert_eq(scitt_key_generate(&other, SCITT_ALG_EDDSA), 0);
    write_key("checkpoint-ed25519.key", other, 0600);
    cr_assert_eq(load(&why), SCITT_EBADKEY);
    cr_assert_not_null(strstr(why, "checkpoint-ed25519.key"), "%s", why);
    scitt_key_free(other);
}

Test(keys, unreadable_or_wrong_keys_are_refused)
{
    open_store();
    const char *why = NULL;
    char path[512];
    path_of(path, sizeof(path), "service-es256.pem");

    /* Garbage. */
    FILE *f = fopen(path, "wb");
    fputs("-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    chmod(path, 0600);
    cr_assert_eq(load(&why), SCITT_EBADKEY);
    cr_log_info("garbage: %s", why);

    /* An Ed25519 key where the ES256 key belongs. */
    scitt_key_t *ed;
    cr_assert_eq(scitt_key_generate(&ed, SCITT_ALG_EDDSA), 0);
    write_key("service-es256.pem", ed, 0600);
    cr_assert_eq(load(&why), SCITT_EBADKEY);
    cr_log_info("wrong type: %s", why);

    /* Readable by others. */
    scitt_key_t *p256;
    cr_assert_eq(scitt_key_generate(&p256, SCITT_ALG_ES256), 0);
    write_key("service-es256.pem", p256, 0644);
    cr_assert_eq(load(&why), SCITT_EACCES);
    cr_log_info("mode: %s", why);

    /* Not a file. */
    unlink(path);
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_assert_neq(load(&why), 0);
    rmdir(path);

    /* With a good file, the first start records it. */
    write_key("service-es256.pem", p256, 0600);
    scitt_seq_keys_t k;
    cr_assert_eq(scitt_seq_keys_load(&k, env.dir, env.store, &why), 0, "%s", why ? why : "");
    uint8_t kid[32];
    cr_assert_eq(scitt_cose_key_thumbprint(NULL, kid, p256), 0);
    cr_assert_arr_eq(k.receipt_kid, kid, 32, "an operator-provided key is adopted");
    scitt_seq_keys_cleanup(&k);
    scitt_key_free(ed);
    scitt_key_free(p256);
}

Test(keys, a_missing_key_is_not_recreated)
{
    open_store();
    const char *why = NULL;
    cr_assert_eq(load(&why), 0);
    char path[512];
    path_of(path, sizeof(path), "checkpoint-ed25519.key");
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(load(&why), SCITT_ENOENT);
    cr_log_info("missing: %s", why);
    cr_assert_neq(access(path, F_OK), 0, "no new key was made");
}

Test(keys, origin_change_is_refused)
{
    h_open(&env, 0, 0);
    h_start(&env, 0, 0, 1);
    h_waiter_t w;
    h_waiter_init(&w, 1);
    h_submit_entry(&env, &w, 0, (const uint8_t *)"one", 3);
    h_wait(&w, 1, 30);
    cr_assert_eq(w.results[0].rc, 0);
    h_waiter_cleanup(&w);
    scitt_seq_free(env.seq);
    env.seq = NULL;

    scitt_seq_config_t cfg = {.store = env.store, .keys = &env.keys, .policy = env.policy, .origin = "other/log"};
    scitt_seq_t *seq = NULL;
    const char *why = NULL;
    cr_assert_eq(scitt_seq_start(&seq, &cfg, &why), SCITT_EINVAL);
    cr_assert_not_null(why);
    cr_log_info("refused: %s", why);
    cfg.origin = NULL; /* the default is a different origin too */
    cr_assert_eq(scitt_seq_start(&seq, &cfg, &why), SCITT_EINVAL);
    cfg.origin = H_ORIGIN;
    cr_assert_eq(scitt_seq_start(&seq, &cfg, &why), 0, "%s", why ? why : "");
    scitt_seq_free(seq);
}

Test(keys, origin_must_be_a_key_name)
{
    h_open(&env, 0, 0);
    scitt_seq_config_t cfg = {.store = env.store, .keys = &env.keys, .origin = "has space"};
    scitt_seq_t *seq = NULL;
    const char *why = NULL;
    cr_assert_eq(scitt_seq_start(&seq, &cfg, &why), SCITT_EINVAL);
    cr_assert_not_null(why);
}
