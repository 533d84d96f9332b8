/*
 * note.h: C2SP signed notes (signed-note v1.0.0) carrying tlog checkpoints
 * (tlog-checkpoint v1.0.0), with Ed25519 signatures.
 *
 * A checkpoint body is three lines: origin, tree size (decimal), and the
 * root (standard base64), optionally followed by extension lines. A note is
 * the body, an empty line, and one or more signature lines
 * "\u2014 <key name> <base64(key id || signature)>\n". The key id is the first
 * four bytes of SHA-256(name || "\n" || 0x01 || Ed25519 public key).
 */
#ifndef SCITT_NOTE_H
#define SCITT_NOTE_H

#include <stdint.h>

#include "scitt/crypto.h"

#define SCITT_NOTE_TYPE_ED25519 0x01
#define SCITT_NOTE_MAX_NAME     255
/* Notes with more signature lines than this are refused (the spec asks
 * verifiers to accept at least 16). */
#define SCITT_NOTE_MAX_SIGS 64
/* Notes longer than this are refused before any work. */
#define SCITT_NOTE_MAX_LEN 65536

/* A verifier: a named Ed25519 public key and its key id. */
typedef struct scitt_note_verifier {
    char name[SCITT_NOTE_MAX_NAME + 1];
    uint8_t id[4];
    scitt_key_t *key;
    bool _owns_key;
} scitt_note_verifier_t;

/* scitt_note_verifier_init makes a verifier from a name and an Ed25519
 * public key (the key is borrowed and must outlive the verifier; `key` is
 * not freed by cleanup). SCITT_EINVAL for a name with spaces, '+' or
 * control characters, SCITT_EBADKEY for a key that is not Ed25519. */
int scitt_note_verifier_init(scitt_note_verifier_t *v, const char *name, const scitt_key_t *key);

/* scitt_note_verifier_parse reads a vkey line `<name>+<hex id>+<base64(0x01
 * || key)>` and checks that the id matches. The key is newly allocated and
 * freed by scitt_note_verifier_cleanup. */
int scitt_note_verifier_parse(scitt_note_verifier_t *v, const char *vkey, size_t len);
void scitt_note_verifier_cleanup(scitt_note_verifier_t *v);

/* scitt_note_vkey appends the vkey line of `v` (no newline). */
int scitt_note_vkey(scitt_buf_t *out, const scitt_note_verifier_t *v);

/* scitt_checkpoint_body appends "<origin>\n<size>\n<base64 root>\n". */
int scitt_checkpoint_body(scitt_buf_t *out, scitt_span_t origin, uint64_t size, const uint8_t root[32]);

/* scitt_note_sign appends the signed note: `body` (which must end in "\n"),
 * an empty line, and one signature line by `key` (private Ed25519) under the
 * name and id of `v`. */
int scitt_note_sign(scitt_buf_t *out, scitt_span_t body, const scitt_note_verifier_t *v, const scitt_key_t *key);

/* scitt_note_add_signature appends one more signature line by `key` under
 * `v` to the note scitt_note_sign just wrote into `out` over `body` (a key
 * rotation's transition: old and new key both sign). */
int scitt_note_add_signature(scitt_buf_t *out, scitt_span_t body, const scitt_note_verifier_t *v,
                             const scitt_key_t *key);

/* A checkpoint read from a verified note; spans point into the note. */
typedef struct scitt_checkpoint {
    scitt_span_t body;
    scitt_span_t origin;
    uint64_t size;
    uint8_t root[32];
    size_t num_verified; /* signatures by known keys that verified */
} scitt_checkpoint_t;

/* scitt_note_open verifies `note` against `verifiers` and parses its
 * checkpoint. The caller checks that `out->origin` is the log it expects
 * (the key name of a log's own signature is its origin). Signature lines by
 * unknown keys are ignored, whatever their size; a signature by a
 * known key that fails, or no known key at all, rejects the note
 * (SCITT_EBADSIG); malformed text is SCITT_EMALFORMED; a body that is not a
 * checkpoint is SCITT_EMALFORMED too. `*out_err_desc` says why. */
int scitt_note_open(const uint8_t *note, size_t len, const scitt_note_verifier_t *verifiers, size_t num_verifiers,
                    scitt_checkpoint_t *out, const char **out_err_desc);

#endif /* SCITT_NOTE_H */
