/*
 * witness.c: the add-checkpoint checks (C2SP tlog-witness v1.0.0) and the
 * witness's record per origin: key = origin, value = u64 BE size || root,
 * in the unnamed database of an LMDB environment. Every request that gets
 * as far as the record runs in one write transaction: read, check, put,
 * cosign, commit; the order of checks is the spec's.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "scitt/merkle.h"
#include "scitt/witness.h"

#define RECORD_LEN (8 + 32)

struct scitt_witness {
    scitt_witness_config_t cfg;
    MDB_env *env;
    MDB_dbi dbi;
};

/* next_line: the text before the next "\n" from `*pos`; false without one. */
static bool next_line(const uint8_t *p, size_t len, size_t *pos, scitt_span_t *line)
{
    const uint8_t *nl = memchr(p + *pos, '\n', len - *pos);
    if (nl == NULL) {
        return false;
    }
    *line = scitt_span(p + *pos, (size_t)(nl - (p + *pos)));
    *pos += line->len + 1;
    return true;
}

int scitt_witness_parse_request(const uint8_t *body, size_t len, scitt_witness_request_t *out, const char **why)
{
    size_t pos = 0;
    scitt_span_t line;
    out->proof_len = 0;
    if (len > SCITT_WITNESS_MAX_BODY) {
        *why = "the request body is too large";
        return SCITT_ETOOBIG;
    }
    if (!next_line(body, len, &pos, &line) || line.len < 5 || memcmp(line.base, "old ", 4) != 0 ||
        scitt_parse_u64((const char *)line.base + 4, line.len - 4, &out->old_size) != 0) {
        *why = "the body must start with \"old <size>\\n\" (decimal, no leading zeros)";
        return SCITT_EMALFORMED;
    }
    for (;;) {
        if (!next_line(body, len, &pos, &line)) {
            *why = "the consistency proof must end with an empty line before the checkpoint";
            return SCITT_EMALFORMED;
        }
        if (line.len == 0) {
            break;
        }
        size_t n;
        if (out->proof_len == SCITT_WITNESS_MAX_PROOF) {
            *why = "more than 63 consistency proof lines";
            return SCITT_EMALFORMED;
        }
        if (scitt_base64_decode(out->proof[out->proof_len], 32, &n, (const char *)line.base, line.len, SCITT_B64_STD) !=
                0 ||
            n != 32) {
            *why = "a consistency proof line is not the base64 of a 32-byte hash";
            return SCITT_EMALFORMED;
        }
        out->proof_len++;
    }
    if (pos == len) {
        *why = "the checkpoint is missing";
        return SCITT_EMALFORMED;
    }
    out->note = scitt_span(body + pos, len - pos);
    *why = NULL;
    return 0;
}

static int lmdb_err(int rc)
{
    return rc == MDB_MAP_FULL ? SCITT_ENOSPC : rc > 0 ? -rc : SCITT_EIO;
}

int scitt_witness_open(scitt_witness_t **out, const scitt_witness_config_t *cfg, const char **out_err_desc)
{
    *out = NULL;
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        *out_err_desc = "cannot create the witness folder";
        return -errno;
    }
    scitt_witness_t *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        *out_err_desc = "out of memory";
        return SCITT_ENOMEM;
    }
    w->cfg = *cfg;
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&w->env);
    if (rc == 0) {
        rc = mdb_env_set_mapsize(w->env, (size_t)64 << 20);
    }
    if (rc == 0) {
        rc = mdb_env_open(w->env, cfg->dir, MDB_NOTLS, 0600);
    }
    if (rc == 0) {
        rc = mdb_txn_begin(w->env, NULL, 0, &txn);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, NULL, 0, &w->dbi);
    }
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc != 0) {
        *out_err_desc = mdb_strerror(rc);
        if (txn != NULL) {
            mdb_txn_abort(txn);
        }
        mdb_env_close(w->env);
        free(w);
        return lmdb_err(rc);
    }
    *out = w;
    return 0;
}

void scitt_witness_close(scitt_witness_t *w)
{
    if (w != NULL) {
        mdb_env_close(w->env);
        free(w);
    }
}

/* get_record reads `origin`'s record in `txn`: 0, or MDB_NOTFOUND. */
static int get_record(scitt_witness_t *w, MDB_txn *txn, scitt_span_t origin, uint64_t *size, uint8_t root[32])
{
    MDB_val k = {origin.len, (void *)origin.base}, v;
    int rc = mdb_get(txn, w->dbi, &k, &v);
    if (rc != 0) {
        return rc;
    }
    if (v.mv_size != RECORD_LEN) {
        return MDB_CORRUPTED;
    }
    const uint8_t *p = v.mv_data;
    *size = 0;
    for (int i = 0; i < 8; i++) {
        *size = *size << 8 | p[i];
    }
    memcpy(root, p + 8, 32);
    return 0;
}

int scitt_witness_recorded(scitt_witness_t *w, scitt_span_t origin, uint64_t *size, uint8_t root[32])
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        return lmdb_err(rc);
    }
    rc = get_record(w, txn, origin, size, root);
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? SCITT_ENOTFOUND : rc != 0 ? lmdb_err(rc) : 0;
}

/* open_checkpoint verifies the note with the keys of its origin (the
 * note's first line): 0, or the HTTP status to answer. */
static int open_checkpoint(scitt_witness_t *w, scitt_span_t note, scitt_checkpoint_t *cp, const char **why)
{
    const uint8_t *nl = memchr(note.base, '\n', note.len);
    scitt_span_t origin = scitt_span(note.base, nl != NULL ? (size_t)(nl - note.base) : 0);
    scitt_note_verifier_t keys[SCITT_WITNESS_MAX_LOG_KEYS];
    size_t num_keys = 0;
    for (size_t i = 0; i < w->cfg.num_logs && num_keys < SCITT_WITNESS_MAX_LOG_KEYS; i++) {
        if (scitt_span_eq(origin, scitt_span_str(w->cfg.logs[i].name))) {
            keys[num_keys++] = w->cfg.logs[i]; /* a shallow copy: the key stays the config's */
        }
    }
    if (num_keys == 0) {
        *why = "this witness does not know the checkpoint's origin";
        return 404;
    }
    int rc = scitt_note_open(note.base, note.len, keys, num_keys, cp, why);
    if (rc == SCITT_EBADSIG) {
        return 403;
    }
    return rc != 0 ? 400 : 0;
}

/* check_and_record runs the stateful checks and, when they pass, stores
 * the new record and appends the cosignature, all in one transaction. */
static int check_and_record(scitt_witness_t *w, const scitt_witness_request_t *req, const scitt_checkpoint_t *cp,
                            uint64_t now, scitt_buf_t *out, const char **why)
{
    MDB_txn *txn;
    if (mdb_txn_begin(w->env, NULL, 0, &txn) != 0) {
        *why = "cannot open the witness's state";
        return 500;
    }
    uint64_t size = 0;
    uint8_t root[32];
    int rc = get_record(w, txn, cp->origin, &size, root);
    int status = 0;
    if (rc != 0 && rc != MDB_NOTFOUND) {
        *why = "cannot read the witness's state";
        status = 500;
    } else if (req->old_size != size) {
        *why = "the old size is not the size this witness last cosigned";
        status = 409;
    } else if (cp->size == size && rc == 0 && memcmp(root, cp->root, 32) != 0) {
        *why = "the checkpoint has the size last cosigned but another root";
        status = 409;
    } else if (size == 0 && req->proof_len != 0) {
        *why = "a consistency proof from size 0 must be empty";
        status = 422;
    } else if (size > 0 && cp->size > size &&
               scitt_merkle_verify_consistency(size, cp->size, root, cp->root, req->proof, req->proof_len) != 0) {
        *why = "the consistency proof does not verify";
        status = 422;
    } else if (cp->size == size && req->proof_len != 0) {
        *why = "a consistency proof between equal sizes must be empty";
        status = 422;
    }
    if (status == 0 && cp->size == 0) {
        uint8_t empty[32];
        scitt_merkle_empty_root(empty);
        if (memcmp(empty, cp->root, 32) != 0) {
            *why = "a checkpoint of size 0 must have the empty tree's root";
            status = 422;
        }
    }
    if (status == 409) {
        (void)scitt_buf_printf(out, "%llu\n", (unsigned long long)size);
    }
    if (status != 0) {
        mdb_txn_abort(txn);
        return status;
    }
    uint8_t record[RECORD_LEN];
    for (int i = 0; i < 8; i++) {
        record[i] = (uint8_t)(cp->size >> (56 - 8 * i));
    }
    memcpy(record + 8, cp->root, 32);
    MDB_val k = {cp->origin.len, (void *)cp->origin.base}, v = {RECORD_LEN, record};
    size_t mark = out->len;
    rc = mdb_put(txn, w->dbi, &k, &v, 0);
    if (rc == 0) {
        rc = scitt_cosig_sign(out, cp->body, now, w->cfg.cosigner);
        if (rc != 0) {
            mdb_txn_abort(txn);
            *why = "cannot cosign";
            return 500;
        }
        rc = mdb_txn_commit(txn);
    } else {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        out->len = mark;
        *why = "cannot store the witness's state";
        return 500;
    }
    *why = NULL;
    return 200;
}

int scitt_witness_add_checkpoint(scitt_witness_t *w, const uint8_t *body, size_t len, uint64_t now, scitt_buf_t *out,
                                 const char **why)
{
    scitt_witness_request_t *req = malloc(sizeof(*req)); /* 2 KB of proof: off the pool thread's stack */
    if (req == NULL) {
        *why = "out of memory";
        return 500;
    }
    scitt_checkpoint_t cp;
    int status = scitt_witness_parse_request(body, len, req, why) != 0 ? 400 : 0;
    if (status == 0) {
        status = open_checkpoint(w, req->note, &cp, why);
    }
    if (status == 0 && req->old_size > cp.size) {
        *why = "the old size is larger than the checkpoint's size";
        status = 400;
    }
    if (status == 0) {
        status = check_and_record(w, req, &cp, now, out, why);
    }
    free(req);
    return status;
}
