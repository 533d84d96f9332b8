/*
 * cose_dump.c: writes our COSE encodings into a folder for check_cbor2.py,
 * which decodes them with an independent CBOR library (Debian python3-cbor2)
 * and re-derives them byte for byte. Usage: cose_dump <dir>.
 */
#include <stdio.h>
#include <stdlib.h>

#include "scitt/cose.h"

static void put_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", what, scitt_err_name(rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: cose_dump <dir>\n");
        return 2;
    }
    const char *dir = argv[1];
    scitt_buf_t out, scratch;
    scitt_buf_init(&out, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);

    /* A statement with a non-empty unprotected header, normalised. */
    static const uint8_t prot[] = {0xa3, 0x01, 0x26, 0x04, 0x43, 'k',  'i',  'd',
                                   0x0f, 0xa2, 0x01, 0x61, 'i',  0x02, 0x61, 's'};
    static const uint8_t unprot[] = {0xa1, 0x19, 0x01, 0x8a, 0x81, 0x47, 0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x41, 0x72};
    scitt_key_t *es256;
    check(scitt_key_generate(&es256, SCITT_ALG_ES256), "keygen");
    check(scitt_cose_sign1_sign(&out, es256, SCITT_ALG_ES256, scitt_span(prot, sizeof(prot)),
                                scitt_span(unprot, sizeof(unprot)), scitt_span("payload bytes", 13), false, &scratch),
          "sign");
    put_file(dir, "statement.cose", out.base, out.len);
    scitt_cose_sign1_t s;
    check(scitt_cose_sign1_decode(&s, out.base, out.len, 0, NULL), "decode");
    scitt_buf_t norm;
    scitt_buf_init(&norm, NULL, 0);
    check(scitt_cose_normalise(&s, &norm), "normalise");
    put_file(dir, "normalised.cose", norm.base, norm.len);
    scitt_buf_reset(&scratch);
    check(scitt_cose_sig_structure(&s, scitt_span(NULL, 0), &scratch), "sig_structure");
    put_file(dir, "sigstruct.cbor", scratch.base, scratch.len);
    uint8_t entry[SCITT_SHA256_LEN];
    scitt_cose_entry(&s, entry);
    put_file(dir, "entry.bin", entry, sizeof(entry));
    scitt_buf_reset(&scratch);
    check(scitt_key_public_pem(es256, &scratch), "pem");
    put_file(dir, "statement-key.pem", scratch.base, scratch.len);

    /* Problem details, with a non-ASCII detail. */
    scitt_buf_reset(&out);
    check(scitt_cose_problem_encode(&out, "Payload Missing", "caf\xc3\xa9 payload is nil", 400), "problem");
    put_file(dir, "problem.cbor", out.base, out.len);

    /* A key set of every key type, kid = RFC 9679 thumbprint. */
    const int algs[] = {SCITT_ALG_ES256, SCITT_ALG_ES384, SCITT_ALG_ES512, SCITT_ALG_EDDSA, SCITT_ALG_PS256};
    scitt_key_t *keys[5];
    uint8_t kids[5][SCITT_SHA256_LEN];
    scitt_cose_keyinfo_t infos[5];
    scitt_buf_t pems;
    scitt_buf_init(&pems, NULL, 0);
    for (size_t i = 0; i < 5; i++) {
        check(scitt_key_generate(&keys[i], algs[i]), "keygen");
        check(scitt_cose_key_thumbprint(NULL, kids[i], keys[i]), "thumbprint");
        infos[i] = (scitt_cose_keyinfo_t){keys[i], scitt_span(kids[i], sizeof(kids[i])), algs[i]};
        check(scitt_key_public_pem(keys[i], &pems), "pem");
    }
    scitt_buf_reset(&out);
    check(scitt_cose_keyset_encode(&out, infos, 5), "keyset");
    put_file(dir, "keyset.cbor", out.base, out.len);
    put_file(dir, "keyset.pem", pems.base, pems.len);

    for (size_t i = 0; i < 5; i++) {
        scitt_key_free(keys[i]);
    }
    scitt_key_free(es256);
    scitt_buf_cleanup(&pems);
    scitt_buf_cleanup(&norm);
    scitt_buf_cleanup(&out);
    scitt_buf_cleanup(&scratch);
    return 0;
}
