/*
 * make_log: write a static copy of a small SCITT log, laid out as the
 * service's URL paths, for testing `scitt mirror` without a server and for
 * building tampered and forked logs.
 *
 *   make_log KEYDIR OUTDIR SIZE [DIVERGE_AT] [+ STATEMENT...]
 *
 * KEYDIR/issuer.pem and KEYDIR/note.pem are Ed25519 keys, created on first
 * use and reused, so two logs made with one KEYDIR are signed by the same
 * log key. Entry i is a statement with payload "entry <i>" (EdDSA is
 * deterministic, so the same KEYDIR and SIZE give byte-identical logs); from
 * index DIVERGE_AT on the payload is "fork <i>", which makes a log that
 * forks from the honest one at that index, under the same key. Statement
 * files after "+" are appended as further entries (for sign -> verify tests).
 *
 * Each entry gets a receipt (ES256 by KEYDIR/service.pem, as scittd issues
 * them), and entries/<id>/statement is the transparent statement, as the
 * service serves it; KEYDIR/keyset.cbor is the service's COSE_KeySet, also
 * served as OUTDIR/.well-known/scitt-keys.
 *
 * OUTDIR gets checkpoint, checkpoint.vkey, tile/<L>/<N>[.p/<W>],
 * tile/entries/<N>[.p/<W>] and entries/<id>/statement. Only the tiles of
 * the final size are written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scitt/merkle.h"
#include "scitt/note.h"
#include "scitt/receipt.h"
#include "statement.h"
#include "testutil.h"

#define ORIGIN "example.test/log"

static void die(const char *what, int rc)
{
    fprintf(stderr, "make_log: %s: %s\n", what, rc != 0 ? scitt_strerror(rc) : "");
    exit(1);
}

/* mkdirs creates every folder of `path` up to its last slash. */
static void mkdirs(char *path)
{
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST) {
                die(path, -errno);
            }
            *p = '/';
        }
    }
}

static void put_file(const char *dir, const char *rel, scitt_span_t data)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    mkdirs(path);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data.base, 1, data.len, f) != data.len || fclose(f) != 0) {
        die(path, -errno);
    }
}

static scitt_key_t *key_at(const char *dir, const char *name, int alg)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    size_t len;
    uint8_t *pem = tu_read_file(path, &len);
    scitt_key_t *key;
    if (pem != NULL) {
        int rc = scitt_key_from_pem(&key, pem, len);
        free(pem);
        if (rc != 0) {
            die(path, rc);
        }
        return key;
    }
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    if (scitt_key_generate(&key, alg) != 0 || scitt_key_private_pem(key, &out) != 0) {
        die("keygen", 0);
    }
    mkdir(dir, 0700);
    put_file(dir, name, scitt_buf_span(&out));
    scitt_buf_cleanup(&out);
    return key;
}

static void tile_file(const char *out, const scitt_tile_path_t *tp, scitt_span_t data)
{
    char rel[SCITT_MERKLE_TILE_PATH_MAX + 1];
    size_t len;
    if (scitt_merkle_tile_path_encode(rel, sizeof(rel), &len, tp) != 0) {
        die("tile path", 0);
    }
    put_file(out, rel, data);
}

/* A tile reader over the tiles one append handed back (all of them). */
typedef struct tiles {
    const scitt_merkle_tile_t *list;
    size_t num;
} tiles_t;

static int read_tile(void *ud, unsigned level, uint64_t index, const uint8_t **out, size_t *width)
{
    const tiles_t *t = ud;
    for (size_t i = 0; i < t->num; i++) {
        if (t->list[i].level == level && t->list[i].index == index) {
            *out = t->list[i].hashes[0];
            *width = t->list[i].width;
            return 0;
        }
    }
    return SCITT_ENOTFOUND;
}

/* statement_for signs entry i of the generated log. */
static void statement_for(scitt_buf_t *out, const scitt_key_t *issuer, const uint8_t kid[32], uint64_t i,
                          uint64_t diverge)
{
    char payload[64];
    snprintf(payload, sizeof(payload), "%s %llu", i < diverge ? "entry" : "fork", (unsigned long long)i);
    tu_statement_t st = {.alg = SCITT_ALG_EDDSA,
                         .kid = scitt_span(kid, 32),
                         .iss = "https://issuer.example",
                         .sub = "pkg:test/make-log",
                         .payload = scitt_span_str(payload)};
    tu_sign_statement(out, issuer, &st);
}

int main(int argc, char **argv)
{
    int extra = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "+") == 0) {
            extra = i;
            break;
        }
    }
    if (extra < 4 || extra > 5) {
        fprintf(stderr, "usage: make_log KEYDIR OUTDIR SIZE [DIVERGE_AT] [+ STATEMENT...]\n");
        return 2;
    }
    const char *keydir = argv[1], *out = argv[2];
    uint64_t generated, diverge = UINT64_MAX;
    if (scitt_parse_u64(argv[3], strlen(argv[3]), &generated) != 0 ||
        (extra == 5 && scitt_parse_u64(argv[4], strlen(argv[4]), &diverge) != 0)) {
        die("SIZE and DIVERGE_AT are decimal numbers", 0);
    }
    uint64_t size = generated + (uint64_t)(argc > extra ? argc - extra - 1 : 0);
    scitt_key_t *issuer = key_at(keydir, "issuer.pem", SCITT_ALG_EDDSA);
    scitt_key_t *note_key = key_at(keydir, "note.pem", SCITT_ALG_EDDSA);
    scitt_key_t *service = key_at(keydir, "service.pem", SCITT_ALG_ES256);
    uint8_t kid[32], service_kid[32];
    tu_kid(kid, issuer);
    tu_kid(service_kid, service);

    scitt_merkle_t *tree;
    if (scitt_merkle_new(&tree, NULL) != 0) {
        die("merkle", 0);
    }
    scitt_buf_t *stmts = calloc(size + 1, sizeof(*stmts));
    uint8_t(*entries)[32] = calloc(size + 1, 32), (*leaves)[32] = calloc(size + 1, 32);
    for (uint64_t i = 0; i < size; i++) {
        scitt_buf_init(&stmts[i], NULL, 0);
        if (i < generated) {
            statement_for(&stmts[i], issuer, kid, i, diverge);
        } else {
            size_t len;
            uint8_t *data = tu_read_file(argv[extra + 1 + (i - generated)], &len);
            if (data == NULL || scitt_buf_append(&stmts[i], data, len) != 0) {
                die(argv[extra + 1 + (i - generated)], -ENOENT);
            }
            free(data);
        }
        scitt_cose_sign1_t s;
        if (scitt_cose_sign1_decode(&s, stmts[i].base, stmts[i].len, 0, NULL) != 0) {
            die("decode", 0);
        }
        scitt_cose_entry(&s, entries[i]);
        scitt_merkle_leaf_hash(leaves[i], entries[i], 32);
    }

    /* Tiles: one append hands back every full tile and each growing one. */
    const scitt_merkle_tile_t *tiles;
    size_t num_tiles;
    uint8_t root[32];
    if (scitt_merkle_append(tree, (const uint8_t(*)[32])leaves, (size_t)size, &tiles, &num_tiles, root) != 0) {
        die("append", 0);
    }
    for (size_t i = 0; i < num_tiles; i++) {
        scitt_tile_path_t tp = {.level = tiles[i].level,
                                .index = tiles[i].index,
                                .width = tiles[i].width == 256 ? 0 : (unsigned)tiles[i].width};
        tile_file(out, &tp, scitt_span(tiles[i].hashes, tiles[i].width * 32));
        if (tiles[i].level == 0) {
            scitt_span_t ents[256];
            for (size_t k = 0; k < tiles[i].width; k++) {
                ents[k] = scitt_span(entries[tiles[i].index * 256 + k], 32);
            }
            scitt_buf_t bundle;
            scitt_buf_init(&bundle, NULL, 0);
            if (scitt_merkle_bundle_encode(&bundle, ents, tiles[i].width) != 0) {
                die("bundle", 0);
            }
            tp.entries = true;
            tile_file(out, &tp, scitt_buf_span(&bundle));
            scitt_buf_cleanup(&bundle);
        }
    }

    /* Receipts at the final size, one signature for all, as scittd does. */
    scitt_buf_t prot, scratch, receipt, ts;
    scitt_buf_init(&prot, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    scitt_buf_init(&receipt, NULL, 0);
    scitt_buf_init(&ts, NULL, 0);
    uint8_t sig[64];
    size_t sig_len;
    tiles_t tl = {tiles, num_tiles};
    scitt_tile_reader_t rd = {read_tile, &tl, NULL};
    if (scitt_receipt_protected(&prot, SCITT_ALG_ES256, scitt_span(service_kid, 32), scitt_span_str(ORIGIN),
                                1700000000) != 0 ||
        scitt_receipt_sign_root(service, SCITT_ALG_ES256, scitt_buf_span(&prot), root, sig, sizeof(sig), &sig_len,
                                &scratch) != 0) {
        die("receipt signature", 0);
    }
    for (uint64_t i = 0; i < size; i++) {
        uint8_t path[SCITT_MERKLE_MAX_PROOF][32];
        size_t path_len;
        scitt_cose_sign1_t s;
        char rel[128], hex[65];
        scitt_buf_reset(&receipt);
        scitt_buf_reset(&ts);
        if (scitt_merkle_inclusion_proof(NULL, &rd, size, i, path, &path_len) != 0 ||
            scitt_receipt_encode(&receipt, scitt_buf_span(&prot), size, i, (const uint8_t(*)[32])path, path_len,
                                 scitt_span(sig, sig_len)) != 0 ||
            scitt_cose_sign1_decode(&s, stmts[i].base, stmts[i].len, 0, NULL) != 0 ||
            scitt_receipt_transparent(&ts, &s, scitt_buf_span(&receipt)) != 0) {
            die("receipt", 0);
        }
        scitt_hex_encode(hex, entries[i], 32);
        snprintf(rel, sizeof(rel), "entries/%s/statement", hex);
        put_file(out, rel, scitt_buf_span(&ts));
    }
    scitt_cose_keyinfo_t info = {.key = service, .kid = scitt_span(service_kid, 32), .alg = SCITT_ALG_ES256};
    scitt_buf_reset(&scratch);
    if (scitt_cose_keyset_encode(&scratch, &info, 1) != 0) {
        die("keyset", 0);
    }
    put_file(keydir, "keyset.cbor", scitt_buf_span(&scratch));
    put_file(out, ".well-known/scitt-keys", scitt_buf_span(&scratch));

    /* The checkpoint and the vkey that verifies it. */
    scitt_note_verifier_t v;
    scitt_buf_t body, note, vkey;
    scitt_buf_init(&body, NULL, 0);
    scitt_buf_init(&note, NULL, 0);
    scitt_buf_init(&vkey, NULL, 0);
    if (scitt_note_verifier_init(&v, ORIGIN, note_key) != 0 ||
        scitt_checkpoint_body(&body, scitt_span_str(ORIGIN), size, root) != 0 ||
        scitt_note_sign(&note, scitt_buf_span(&body), &v, note_key) != 0 || scitt_note_vkey(&vkey, &v) != 0 ||
        scitt_buf_append_byte(&vkey, '\n') != 0) {
        die("checkpoint", 0);
    }
    put_file(out, "checkpoint", scitt_buf_span(&note));
    put_file(out, "checkpoint.vkey", scitt_buf_span(&vkey));
    scitt_note_verifier_cleanup(&v);
    for (uint64_t i = 0; i < size; i++) {
        scitt_buf_cleanup(&stmts[i]);
    }
    scitt_buf_cleanup(&body);
    scitt_buf_cleanup(&note);
    scitt_buf_cleanup(&vkey);
    scitt_buf_cleanup(&prot);
    scitt_buf_cleanup(&scratch);
    scitt_buf_cleanup(&receipt);
    scitt_buf_cleanup(&ts);
    scitt_merkle_free(tree);
    free(stmts);
    free(entries);
    free(leaves);
    scitt_key_free(issuer);
    scitt_key_free(note_key);
    scitt_key_free(service);
    return 0;
}
