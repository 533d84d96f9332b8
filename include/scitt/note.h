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

/*
 * Cosignatures (C2SP tlog-cosignature v1.0.1, the Ed25519 "cosignature/v1"
 * type): a witness states that, as of a time, the checkpoint is the largest
 * consistent one it has seen for the origin. A cosigner key is an Ed25519
 * key under a name; its key id is the first four bytes of SHA-256(name ||
 * "\n" || 0x04 || public key) and its vkey `<name>+<hex id>+<base64(0x04 ||
 * key)>`. It signs "cosignature/v1\ntime <T>\n" followed by the checkpoint
 * body; the signature line is "\u2014 <name> <base64(key id || u64 BE T ||
 * 64-byte signature)>\n".
 */
#define SCITT_NOTE_TYPE_COSIG_ED25519 0x04
#define SCITT_COSIG_BLOB_LEN          (4 + 8 + 64)
#define SCITT_COSIG_MAX_TIME          INT64_MAX

/* A cosigner: the same fields as a log verifier, another key id type. */
typedef struct scitt_cosigner {
    scitt_note_verifier_t v;
} scitt_cosigner_t;

/* scitt_cosigner_init / _parse / _cleanup / _vkey mirror the verifier
 * functions above for type 0x04 keys (the init key is borrowed; the parsed
 * key is owned and freed by cleanup). */
int scitt_cosigner_init(scitt_cosigner_t *c, const char *name, const scitt_key_t *key);
int scitt_cosigner_parse(scitt_cosigner_t *c, const char *vkey, size_t len);
void scitt_cosigner_cleanup(scitt_cosigner_t *c);
int scitt_cosigner_vkey(scitt_buf_t *out, const scitt_cosigner_t *c);

/* scitt_cosig_message appends the signed message for `body` (a checkpoint
 * body ending in "\n") at POSIX time `time`. SCITT_EINVAL for a body without
 * its final newline or a time above SCITT_COSIG_MAX_TIME. */
int scitt_cosig_message(scitt_buf_t *out, scitt_span_t body, uint64_t time);

/* scitt_cosig_sign appends one cosignature line (with its "\n") by `c`,
 * whose key must be private, over `body` at `time`. */
int scitt_cosig_sign(scitt_buf_t *out, scitt_span_t body, uint64_t time, const scitt_cosigner_t *c);

/* A parsed cosignature line; `name` points into the line. */
typedef struct scitt_cosig {
    scitt_span_t name;
    uint8_t id[4];
    uint64_t time;
    uint8_t sig[64];
} scitt_cosig_t;

/* scitt_cosig_parse reads one signature line (without its "\n"). Any line
 * that is not "\u2014 <name> <base64 of exactly 76 bytes>" with a time up
 * to SCITT_COSIG_MAX_TIME is SCITT_EMALFORMED: a log signature line is
 * simply not a cosignature. */
int scitt_cosig_parse(const uint8_t *line, size_t len, scitt_cosig_t *out);

/* scitt_cosig_verify checks `s` against cosigner `c` over `body`: 0 when
 * name and key id are c's and the signature verifies, SCITT_ENOKEY when the
 * line is someone else's, SCITT_EBADSIG when it is c's and fails. */
int scitt_cosig_verify(const scitt_cosig_t *s, scitt_span_t body, const scitt_cosigner_t *c);

/* scitt_cosig_count counts the listed cosigners (at most
 * SCITT_NOTE_MAX_SIGS) with at least one valid cosignature line in `note`:
 * each witness counts once however many lines it has. Lines by unknown keys
 * and lines that are not cosignatures are skipped; a wrong cosignature by a
 * listed witness does not count (and does not reject the note: the log's
 * signature is scitt_note_open's business). `valid`, if not NULL, gets one
 * flag per cosigner. SCITT_EMALFORMED for a note without a signature block,
 * SCITT_EINVAL for too many cosigners. */
int scitt_cosig_count(const uint8_t *note, size_t len, const scitt_cosigner_t *cosigners, size_t num_cosigners,
                      bool *valid, size_t *out_count);

#endif /* SCITT_NOTE_H */
