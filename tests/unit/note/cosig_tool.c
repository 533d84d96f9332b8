/*
 * cosig_tool.c: a thin command line over the cosignature codec, so that
 * check_cosig.py can compare it byte for byte with an independent Python
 * implementation (the `cryptography` package's Ed25519).
 *
 *   cosig_tool sign KEY.pem NAME TIME BODYFILE   prints the vkey and the line
 *   cosig_tool count NOTEFILE VKEY...            prints "<count> <0|1>..."
 */
#include <stdio.h>
#include <stdlib.h>

#include "scitt/note.h"

static int sign(const char *pem_path, const char *name, const char *time, const char *body_path)
{
    scitt_buf_t pem, body, out;
    scitt_buf_init(&pem, NULL, 0);
    scitt_buf_init(&body, NULL, 0);
    scitt_buf_init(&out, NULL, 0);
    scitt_key_t *key = NULL;
    scitt_cosigner_t c;
    int rc = scitt_read_file(pem_path, &pem);
    if (rc == 0) {
        rc = scitt_read_file(body_path, &body);
    }
    if (rc == 0) {
        rc = scitt_key_from_pem(&key, pem.base, pem.len);
    }
    if (rc == 0) {
        rc = scitt_cosigner_init(&c, name, key);
    }
    if (rc == 0) {
        rc = scitt_cosigner_vkey(&out, &c);
    }
    if (rc == 0) {
        rc = scitt_buf_append_byte(&out, '\n');
    }
    if (rc == 0) {
        rc = scitt_cosig_sign(&out, scitt_buf_span(&body), strtoull(time, NULL, 10), &c);
    }
    if (rc == 0) {
        fwrite(out.base, 1, out.len, stdout);
    }
    scitt_key_free(key);
    scitt_buf_cleanup(&pem);
    scitt_buf_cleanup(&body);
    scitt_buf_cleanup(&out);
    return rc;
}

static int count(const char *note_path, char **vkeys, int num)
{
    scitt_cosigner_t cs[SCITT_NOTE_MAX_SIGS];
    bool valid[SCITT_NOTE_MAX_SIGS];
    scitt_buf_t note;
    scitt_buf_init(&note, NULL, 0);
    int rc = num <= SCITT_NOTE_MAX_SIGS ? scitt_read_file(note_path, &note) : SCITT_EINVAL;
    int parsed = 0;
    for (; rc == 0 && parsed < num; parsed++) {
        rc = scitt_cosigner_parse(&cs[parsed], vkeys[parsed], strlen(vkeys[parsed]));
    }
    size_t n = 0;
    if (rc == 0) {
        rc = scitt_cosig_count(note.base, note.len, cs, (size_t)num, valid, &n);
    }
    if (rc == 0) {
        printf("%zu", n);
        for (int i = 0; i < num; i++) {
            printf(" %d", valid[i]);
        }
        printf("\n");
    }
    for (int i = 0; i < parsed; i++) {
        scitt_cosigner_cleanup(&cs[i]);
    }
    scitt_buf_cleanup(&note);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = SCITT_EINVAL;
    if (argc == 6 && strcmp(argv[1], "sign") == 0) {
        rc = sign(argv[2], argv[3], argv[4], argv[5]);
    } else if (argc >= 3 && strcmp(argv[1], "count") == 0) {
        rc = count(argv[2], argv + 3, argc - 3);
    }
    if (rc != 0) {
        fprintf(stderr, "cosig_tool: %s\n", scitt_strerror(rc));
        return 1;
    }
    return 0;
}
