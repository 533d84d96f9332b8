/* test_witness.c: the witness's checks that a real log does not produce
 * (test_witness.py covers the rest over HTTP): size-0 checkpoints, a proof
 * from size 0, and the record scitt_witness_recorded reads back. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "scitt/merkle.h"
#include "scitt/witness.h"
#include "testutil.h"

static scitt_key_t *log_key, *wit_key;
static scitt_note_verifier_t logv;
static scitt_cosigner_t cosigner;
static scitt_witness_t *w;
static char dir[] = "/tmp/scitt-witness-XXXXXX";

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(scitt_key_generate(&log_key, SCITT_ALG_EDDSA), 0);
    cr_assert_eq(scitt_key_generate(&wit_key, SCITT_ALG_EDDSA), 0);
    cr_assert_eq(scitt_note_verifier_init(&logv, "log.example", log_key), 0);
    cr_assert_eq(scitt_cosigner_init(&cosigner, "w.example", wit_key), 0);
    scitt_witness_config_t cfg = {.dir = dir, .cosigner = &cosigner, .logs = &logv, .num_logs = 1};
    const char *why;
    cr_assert_eq(scitt_witness_open(&w, &cfg, &why), 0);
}

static void teardown(void)
{
    scitt_witness_close(w);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    scitt_note_verifier_cleanup(&logv);
    scitt_cosigner_cleanup(&cosigner);
    scitt_key_free(log_key);
    scitt_key_free(wit_key);
}

/* add posts "old <old>", `proof_lines` copies of a hash, and a checkpoint
 * of `size` with `root`, signed by the log; returns the status. */
static int add(uint64_t old, int proof_lines, uint64_t size, const uint8_t root[32], scitt_buf_t *out)
{
    scitt_buf_t body, note, req;
    scitt_buf_init(&body, NULL, 0);
    scitt_buf_init(&note, NULL, 0);
    scitt_buf_init(&req, NULL, 0);
    cr_assert_eq(scitt_checkpoint_body(&body, scitt_span_str("log.example"), size, root), 0);
    cr_assert_eq(scitt_note_sign(&note, scitt_buf_span(&body), &logv, log_key), 0);
    scitt_buf_printf(&req, "old %llu\n", (unsigned long long)old);
    for (int i = 0; i < proof_lines; i++) {
        scitt_buf_printf(&req, "%s\n", "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=");
    }
    scitt_buf_printf(&req, "\n");
    scitt_buf_append(&req, note.base, note.len);
    const char *why;
    scitt_buf_reset(out);
    int status = scitt_witness_add_checkpoint(w, req.base, req.len, 1700000000, out, &why);
    scitt_buf_cleanup(&body);
    scitt_buf_cleanup(&note);
    scitt_buf_cleanup(&req);
    return status;
}

TestSuite(witness, .init = setup, .fini = teardown);

Test(witness, size_zero_and_first_contact)
{
    uint8_t empty[32], other[32], root[32];
    scitt_merkle_empty_root(empty);
    memset(other, 1, 32);
    memset(root, 2, 32);
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    uint64_t size;
    uint8_t got[32];
    cr_assert_eq(scitt_witness_recorded(w, scitt_span_str("log.example"), &size, got), SCITT_ENOTFOUND);
    cr_assert_eq(add(0, 0, 0, other, &out), 422, "size 0 needs the empty tree's root");
    cr_assert_eq(add(0, 0, 0, empty, &out), 200);
    cr_assert_eq(add(0, 1, 5, root, &out), 422, "a proof from size 0 must be empty");
    cr_assert_eq(add(0, 0, 5, root, &out), 200);
    /* The 200 body is one cosignature line over the checkpoint. */
    scitt_cosig_t s;
    cr_assert_eq(out.base[out.len - 1], '\n');
    cr_assert_eq(scitt_cosig_parse(out.base, out.len - 1, &s), 0);
    cr_assert_eq(s.time, 1700000000);
    cr_assert_eq(scitt_witness_recorded(w, scitt_span_str("log.example"), &size, got), 0);
    cr_assert_eq(size, 5);
    cr_assert_arr_eq(got, root, 32);
    cr_assert_eq(add(5, 1, 5, root, &out), 422, "a proof between equal sizes must be empty");
    cr_assert_eq(add(0, 0, 5, root, &out), 409);
    cr_assert_eq(out.len, 2);
    cr_assert_eq(memcmp(out.base, "5\n", 2), 0);
    cr_assert_eq(add(6, 0, 5, root, &out), 400, "old above the checkpoint's size");
    scitt_buf_cleanup(&out);
}
