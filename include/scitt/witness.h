/*
 * witness.h: a C2SP tlog-witness (v1.0.0) cosigner: the add-checkpoint
 * request body, and the witness's state (the latest cosigned size and root
 * per log origin) in an LMDB environment of its own.
 *
 * A request body is "old <size>\n", up to 63 consistency proof lines
 * (base64 of 32-byte hashes), an empty line, then the checkpoint note.
 * scitt_witness_add_checkpoint checks it as the spec says and answers with
 * the HTTP status: 404 unknown origin, 403 no valid signature by a key of
 * that log, 400 malformed or old size above the checkpoint's, 409 when old
 * size is not the recorded size (body: the recorded size and "\n", content
 * type text/x.tlog.size) or when an equal size has another root, 422 when
 * the consistency proof does not verify (or is not empty from size 0, or a
 * size-0 checkpoint's root is not the empty tree's), 200 with one
 * cosignature/v1 line. Reading the record, checking it and storing the new
 * one happen in one LMDB write transaction, so two concurrent requests
 * cannot both pass against the same old state.
 *
 * Thread safety: scitt_witness_add_checkpoint may be called from any
 * number of threads at once (LMDB serialises the write transactions).
 */
#ifndef SCITT_WITNESS_H
#define SCITT_WITNESS_H

#include "scitt/note.h"

#define SCITT_WITNESS_MAX_PROOF 63
/* Keys one log origin may have (old and new during a rotation, and more). */
#define SCITT_WITNESS_MAX_LOG_KEYS 16
/* Largest request body: the old size line, 63 proof lines, the note. */
#define SCITT_WITNESS_MAX_BODY (32 + SCITT_WITNESS_MAX_PROOF * 45 + 1 + SCITT_NOTE_MAX_LEN)

typedef struct scitt_witness_request {
    uint64_t old_size;
    uint8_t proof[SCITT_WITNESS_MAX_PROOF][32];
    size_t proof_len;
    scitt_span_t note; /* points into the body */
} scitt_witness_request_t;

/* scitt_witness_parse_request reads an add-checkpoint body. Only the shape
 * is checked (the note is not opened): 0, or SCITT_EMALFORMED with a reason
 * in `*why`, SCITT_ETOOBIG past SCITT_WITNESS_MAX_BODY. */
int scitt_witness_parse_request(const uint8_t *body, size_t len, scitt_witness_request_t *out, const char **why);

typedef struct scitt_witness_config {
    const char *dir;                   /* the LMDB environment (made if missing) */
    const scitt_cosigner_t *cosigner;  /* its key must be private */
    const scitt_note_verifier_t *logs; /* the logs' keys; a key's name is its log's origin */
    size_t num_logs;
} scitt_witness_config_t;

typedef struct scitt_witness scitt_witness_t;

/* scitt_witness_open opens (or creates) the state in cfg->dir. The
 * configuration is borrowed and must outlive the witness. */
int scitt_witness_open(scitt_witness_t **out, const scitt_witness_config_t *cfg, const char **out_err_desc);
void scitt_witness_close(scitt_witness_t *w);

/* scitt_witness_add_checkpoint handles one request at POSIX time `now`
 * and returns its HTTP status (above). `out` gets the 200 body (the
 * cosignature line) or the 409 body (the recorded size); `*why` says why
 * for any other status (and for 409). A status of 500 is a local failure
 * (disk, memory). */
int scitt_witness_add_checkpoint(scitt_witness_t *w, const uint8_t *body, size_t len, uint64_t now, scitt_buf_t *out,
                                 const char **why);

/* scitt_witness_recorded reads the latest cosigned size and root of
 * `origin`: 0, or SCITT_ENOTFOUND when it never cosigned one. */
int scitt_witness_recorded(scitt_witness_t *w, scitt_span_t origin, uint64_t *size, uint8_t root[32]);

#endif /* SCITT_WITNESS_H */
