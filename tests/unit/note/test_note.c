#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "scitt/note.h"
#include "testutil.h"

#define TESSERA_VKEY "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"

static const char *open_why;

static int open_note(const char *text, const scitt_note_verifier_t *v, size_t n, scitt_checkpoint_t *cp)
{
    return scitt_note_open((const uint8_t *)text, strlen(text), v, n, cp, &open_why);
}

/* Every checkpoint of the tessera test log verifies with its published
 * vkey and parses to the expected origin and size. */
Test(note, tessera_checkpoints_verify)
{
    scitt_note_verifier_t v;
    cr_assert_eq(scitt_note_verifier_parse(&v, TESSERA_VKEY, strlen(TESSERA_VKEY)), 0);
    scitt_buf_t vkey;
    scitt_buf_init(&vkey, NULL, 0);
    cr_assert_eq(scitt_note_vkey(&vkey, &v), 0);
    cr_assert(scitt_span_eq(scitt_buf_span(&vkey), scitt_span_str(TESSERA_VKEY)), "vkey round trip");
    scitt_buf_cleanup(&vkey);
    for (int n = 0; n <= 15; n++) {
        char *path = tu_testdata_path("merkle/tlog-tiles-tessera-testlog/checkpoint.%d", n);
        size_t len;
        uint8_t *note = tu_read_file(path, &len);
        cr_assert_not_null(note, "%s", path);
        scitt_checkpoint_t cp;
        int rc = scitt_note_open(note, len, &v, 1, &cp, &open_why);
        cr_assert_eq(rc, 0, "checkpoint.%d: %s", n, open_why);
        cr_assert_eq(cp.size, (uint64_t)n);
        cr_assert_eq(cp.num_verified, 1);
        cr_assert(scitt_span_eq(cp.origin, scitt_span_str("example.com/log/testdata")));
        /* The body we would write for the same values is byte-identical. */
        scitt_buf_t body;
        scitt_buf_init(&body, NULL, 0);
        cr_assert_eq(scitt_checkpoint_body(&body, cp.origin, cp.size, cp.root), 0);
        cr_assert(scitt_span_eq(scitt_buf_span(&body), cp.body));
        scitt_buf_cleanup(&body);
        /* One flipped bit in the root fails the signature. */
        note[cp.origin.len + 4] ^= 1;
        cr_assert_neq(scitt_note_open(note, len, &v, 1, &cp, &open_why), 0);
        free(note);
        free(path);
    }
    scitt_note_verifier_cleanup(&v);
}

Test(note, sign_open_round_trip_and_key_rules)
{
    scitt_key_t *key, *other;
    cr_assert_eq(scitt_key_generate(&key, SCITT_ALG_EDDSA), 0);
    cr_assert_eq(scitt_key_generate(&other, SCITT_ALG_EDDSA), 0);
    scitt_note_verifier_t v[2];
    cr_assert_eq(scitt_note_verifier_init(&v[0], "log.example/a", key), 0);
    cr_assert_eq(scitt_note_verifier_init(&v[1], "witness.example", other), 0);
    cr_assert_eq(scitt_note_verifier_init(&v[1], "bad name", other), SCITT_EINVAL);
    cr_assert_eq(scitt_note_verifier_init(&v[1], "bad+name", other), SCITT_EINVAL);
    cr_assert_eq(scitt_note_verifier_init(&v[1], "witness.example", other), 0);

    uint8_t root[32];
    memset(root, 7, 32);
    scitt_buf_t body, note, both;
    scitt_buf_init(&body, NULL, 0);
    scitt_buf_init(&note, NULL, 0);
    scitt_buf_init(&both, NULL, 0);
    cr_assert_eq(scitt_checkpoint_body(&body, scitt_span_str("log.example/a"), 12345, root), 0);
    cr_assert_eq(scitt_note_sign(&note, scitt_buf_span(&body), &v[0], key), 0);
    scitt_checkpoint_t cp;
    cr_assert_eq(scitt_note_open(note.base, note.len, v, 2, &cp, &open_why), 0);
    cr_assert_eq(cp.size, 12345);
    cr_assert_arr_eq(cp.root, root, 32);
    /* Only an unknown key: rejected. */
    cr_assert_eq(scitt_note_open(note.base, note.len, &v[1], 1, &cp, &open_why), SCITT_EBADSIG);
    /* A second signature line by the other key: both verify. */
    cr_assert_eq(scitt_note_sign(&both, scitt_buf_span(&body), &v[1], other), 0);
    scitt_buf_append(&note, both.base + body.len + 1, both.len - body.len - 1);
    cr_assert_eq(scitt_note_open(note.base, note.len, v, 2, &cp, &open_why), 0);
    cr_assert_eq(cp.num_verified, 2);
    /* A huge signature by an unknown key (an ML-DSA-44 cosignature is 2432
     * bytes) is ignored, not an error. */
    {
        scitt_buf_t big;
        scitt_buf_init(&big, NULL, 0);
        scitt_buf_append(&big, note.base, note.len);
        static uint8_t blob[2432];
        static char b64[3300];
        memset(blob, 0x5a, sizeof(blob));
        scitt_base64_encode(b64, blob, sizeof(blob), SCITT_B64_STD);
        scitt_buf_printf(&big, "\xe2\x80\x94 witness.example/pq %s\n", b64);
        cr_assert_eq(scitt_note_open(big.base, big.len, v, 1, &cp, &open_why), 0, "%s", open_why);
        scitt_buf_cleanup(&big);
    }
    /* A known key whose signature is wrong rejects the note even though the
     * other signature is good. Change a base64 character well inside the
     * last signature: its 6 bits are all significant, so the text stays
     * canonical base64 and only the signature is wrong. (The last character
     * before the padding carries unused bits; changing it would make the
     * line malformed instead.) */
    note.base[note.len - 10] = note.base[note.len - 10] == 'A' ? 'B' : 'A';
    cr_assert_eq(scitt_note_open(note.base, note.len, v, 2, &cp, &open_why), SCITT_EBADSIG);
    scitt_buf_cleanup(&body);
    scitt_buf_cleanup(&note);
    scitt_buf_cleanup(&both);
    scitt_note_verifier_cleanup(&v[0]);
    scitt_note_verifier_cleanup(&v[1]);
    scitt_key_free(key);
    scitt_key_free(other);
}

Test(note, rejects_malformed_notes)
{
    scitt_note_verifier_t v;
    cr_assert_eq(scitt_note_verifier_parse(&v, TESSERA_VKEY, strlen(TESSERA_VKEY)), 0);
    char *path = tu_testdata_path("merkle/tlog-tiles-tessera-testlog/checkpoint.3");
    size_t len;
    char *good = (char *)tu_read_file(path, &len);
    free(path);
    scitt_checkpoint_t cp;
    cr_assert_eq(open_note(good, &v, 1, &cp), 0);
    const char *sig = strstr(good, "\n\n") + 2;
    static const char *bodies[] = {
        "example.com/log/testdata\n03\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",  /* leading zero */
        "example.com/log/testdata\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavK=\n",    /* bad base64 */
        "example.com/log/testdata\n3\n",                                                 /* no root */
        "example.com/log/testdata\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n\n", /* empty line kept */
    };
    for (size_t i = 0; i < scitt_countof(bodies); i++) {
        char text[1024];
        snprintf(text, sizeof(text), "%s\n%s", bodies[i], sig);
        cr_assert_neq(open_note(text, &v, 1, &cp), 0, "body %zu accepted", i);
    }
    cr_assert_eq(open_note("no signature block\n", &v, 1, &cp), SCITT_EMALFORMED);
    cr_assert_eq(open_note("a\n1\nAA==\n\n", &v, 1, &cp), SCITT_EMALFORMED);
    char text[1024];
    snprintf(text, sizeof(text), "%.*s\t%s", (int)(strstr(good, "\n") - good), good, strstr(good, "\n"));
    cr_assert_eq(open_note(text, &v, 1, &cp), SCITT_EMALFORMED, "control character");
    snprintf(text, sizeof(text), "%s", good);
    text[strlen(text) - 1] = '\0';
    cr_assert_eq(open_note(text, &v, 1, &cp), SCITT_EMALFORMED, "missing final newline");
    snprintf(text, sizeof(text), "%s\xc0\xaf\n", good);
    cr_assert_eq(open_note(text, &v, 1, &cp), SCITT_EMALFORMED, "overlong UTF-8");
    /* Bad vkeys. */
    scitt_note_verifier_t w;
    const char *bad_vkeys[] = {
        "example.com/log/testdata+33d7b497+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx", /* wrong id */
        "example.com/log/testdata+33d7b496+AuHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx", /* type 2 */
        "example.com/log/testdata+33d7b496",
        "+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
    };
    for (size_t i = 0; i < scitt_countof(bad_vkeys); i++) {
        cr_assert_neq(scitt_note_verifier_parse(&w, bad_vkeys[i], strlen(bad_vkeys[i])), 0, "vkey %zu", i);
    }
    free(good);
    scitt_note_verifier_cleanup(&v);
}
