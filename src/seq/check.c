/*
 * check.c: `scittd --check` (include/scitt/check.h).
 *
 * The tree is rebuilt with the sequencer's own scitt_merkle_append from the
 * entries' hashes, one tile of leaves at a time, and every tile the append
 * changes is compared with the stored one as far as the rebuilt one goes
 * (a stored tile only grows). At each head's size the root and the signed
 * checkpoint are compared. Memory: the tree's frontier and one tile.
 */
#include <stdarg.h>
#include <stdio.h>

#include <stdlib.h>

#include "internal.h"
#include "scitt/check.h"
#include "scitt/sha256.h"

typedef struct checker {
    scitt_store_t *st;
    scitt_store_read_t *rd;
    scitt_merkle_t *tree;
    char *msg;
    size_t msg_cap;
} checker_t;

static int bad(checker_t *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(checker_t *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, c->msg_cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* check_tile compares rebuilt tile `t` with the stored one. */
static int check_tile(checker_t *c, const scitt_merkle_tile_t *t)
{
    const uint8_t *stored;
    size_t width;
    int rc = scitt_store_get_tile(c->rd, t->level, t->index, &stored, &width);
    if (rc != 0) {
        return bad(c, rc == SCITT_ENOTFOUND ? SCITT_ECORRUPT : rc, "tile %u/%llu is missing or malformed (%s)",
                   t->level, (unsigned long long)t->index, scitt_strerror(rc));
    }
    for (size_t i = 0; i < t->width; i++) {
        if (i >= width || memcmp(stored + 32 * i, t->hashes[i], 32) != 0) {
            uint64_t at = t->index * 256 + i;
            if (t->level == 0) {
                return bad(c, SCITT_EDAMAGED,
                           "entry %llu: the stored statement does not match its leaf hash in tile 0/%llu "
                           "(the statement or the tile is damaged)",
                           (unsigned long long)at, (unsigned long long)t->index);
            }
            return bad(c, SCITT_ECORRUPT, "tile %u/%llu: hash %zu differs from the tree rebuilt from the entries",
                       t->level, (unsigned long long)t->index, i);
        }
    }
    return 0;
}

/* append_to appends entries [tree size, end) and checks the tiles. */
static int append_to(checker_t *c, uint64_t end)
{
    uint8_t hashes[256][32], leaves[256][32];
    for (uint64_t size = scitt_merkle_size(c->tree); size < end;) {
        size_t n = 256 - (size_t)(size % 256);
        n = end - size < n ? (size_t)(end - size) : n;
        for (size_t i = 0; i < n; i++) {
            scitt_span_t e;
            int rc = scitt_store_get_entry(c->rd, size + i, &e);
            if (rc != 0) {
                return bad(c, rc == SCITT_ENOTFOUND ? SCITT_ECORRUPT : rc,
                           "entry %llu, which the tree head at size %llu covers, cannot be read (%s)",
                           (unsigned long long)(size + i), (unsigned long long)end, scitt_strerror(rc));
            }
            scitt_store_entry_hash(c->st, hashes[i], e.base, e.len);
        }
        scitt_sha256_leaves(leaves, (const uint8_t(*)[32])hashes, n);
        const scitt_merkle_tile_t *tiles;
        size_t num_tiles;
        int rc = scitt_merkle_append(c->tree, (const uint8_t(*)[32])leaves, n, &tiles, &num_tiles, NULL);
        if (rc != 0) {
            return bad(c, rc, "cannot rebuild the tree (%s)", scitt_strerror(rc));
        }
        for (size_t i = 0; i < num_tiles; i++) {
            rc = check_tile(c, &tiles[i]);
            if (rc != 0) {
                return rc;
            }
        }
        size += n;
    }
    return 0;
}

/* check_head compares head `h` with the rebuilt tree of its size. */
static int check_head(checker_t *c, const scitt_store_head_t *h, const scitt_note_verifier_t *v, size_t num_v,
                      const char *origin)
{
    uint8_t root[32];
    scitt_merkle_root(c->tree, root);
    if (memcmp(root, h->root, 32) != 0) {
        return bad(c, SCITT_ECORRUPT,
                   "the tree head at size %llu: its root differs from the tree rebuilt from the entries",
                   (unsigned long long)h->size);
    }
    scitt_checkpoint_t cp;
    const char *why = NULL;
    int rc = scitt_note_open(h->checkpoint.base, h->checkpoint.len, v, num_v, &cp, &why);
    if (rc != 0 || cp.size != h->size || memcmp(cp.root, h->root, 32) != 0 ||
        !scitt_span_eq(cp.origin, scitt_span_str(origin))) {
        return bad(c, SCITT_ECORRUPT,
                   "the signed checkpoint at size %llu does not verify with the log's key or names another tree%s%s",
                   (unsigned long long)h->size, why != NULL ? ": " : "", why != NULL ? why : "");
    }
    return 0;
}

static int check_heads(checker_t *c, const scitt_seq_keys_t *keys, scitt_check_report_t *out)
{
    char origin[SCITT_NOTE_MAX_NAME + 1];
    scitt_span_t v;
    int rc = scitt_store_get_meta(c->rd, SCITT_SEQ__META_ORIGIN, &v);
    if (rc == SCITT_ENOTFOUND) {
        v = scitt_span_str(""); /* an empty log: any head found below is an error anyway */
    } else if (rc != 0 || v.len >= sizeof(origin)) {
        return bad(c, SCITT_ECORRUPT, "the store's meta holds no readable origin");
    }
    memcpy(origin, v.base, v.len);
    origin[v.len] = '\0';
    /* Every checkpoint key, active and retired: keys rotate (issue 21). */
    size_t num_nv = 0;
    scitt_note_verifier_t *nv = calloc(1 + SCITT_SEQ_MAX_OLD_KEYS, sizeof(*nv));
    if (nv == NULL) {
        return SCITT_ENOMEM;
    }
    rc = scitt_seq_keys_verifiers(keys, origin, nv, &num_nv);
    if (rc != 0 && v.len > 0) {
        free(nv);
        return bad(c, rc, "cannot make a checkpoint verifier for origin %s (%s)", origin, scitt_strerror(rc));
    }
    scitt_store_head_t h;
    for (uint64_t from = 1; rc == 0; from = h.size + 1) {
        rc = scitt_store_get_head_from(c->rd, from, &h);
        if (rc == SCITT_ENOTFOUND) {
            rc = 0;
            break;
        }
        if (rc != 0) {
            rc = bad(c, rc, "the tree head after size %llu cannot be read (%s)", (unsigned long long)from - 1,
                     scitt_strerror(rc));
        } else if (v.len == 0) {
            rc = bad(c, SCITT_ECORRUPT, "the log has tree heads but its meta records no origin");
        } else {
            rc = append_to(c, h.size);
            rc = rc != 0 ? rc : check_head(c, &h, nv, num_nv, origin);
            out->heads += rc == 0;
        }
    }
    for (size_t i = 0; i < num_nv; i++) {
        scitt_note_verifier_cleanup(&nv[i]);
    }
    free(nv);
    return rc;
}

int scitt_check_store(scitt_store_t *st, const scitt_seq_keys_t *keys, scitt_check_report_t *out, char *msg,
                      size_t msg_cap)
{
    checker_t c = {.st = st, .msg = msg, .msg_cap = msg_cap};
    *out = (scitt_check_report_t){0};
    snprintf(msg, msg_cap, "sound");
    int rc = scitt_merkle_new(&c.tree, NULL);
    if (rc != 0) {
        return bad(&c, rc, "out of memory");
    }
    rc = scitt_store_read_begin(st, &c.rd);
    if (rc != 0) {
        scitt_merkle_free(c.tree);
        return bad(&c, rc, "cannot read the store (%s)", scitt_strerror(rc));
    }
    rc = check_heads(&c, keys, out);
    uint64_t size = scitt_merkle_size(c.tree);
    scitt_span_t e;
    if (rc == 0 && scitt_store_get_entry(c.rd, size, &e) == 0) {
        rc = bad(&c, SCITT_ECORRUPT, "the store holds entries past the latest tree head (from entry %llu)",
                 (unsigned long long)size);
    }
    out->entries = size;
    scitt_store_read_end(c.rd);
    scitt_merkle_free(c.tree);
    return rc;
}
