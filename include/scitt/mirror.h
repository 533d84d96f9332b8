/*
 * mirror.h: a verifying copy of a SCITT log, kept by tailing its C2SP
 * checkpoints and tiles and its statements (GET /entries/{id}/statement).
 *
 * Trust: the mirror trusts one signed-note key (the log's vkey: given,
 * pinned in the mirror's folder, or fetched on first contact) and nothing
 * the log says without proof. For every new checkpoint it checks
 *  1. the signature (and the origin it first saw);
 *  2. that the log's own tiles reproduce the new root, and the roots of the
 *     last checkpoint it trusted and of any entries it already holds
 *     (consistency, recomputed from tiles rather than taken from a proof);
 *  3. for every new entry, that the entry bundle matches the level-0 tile,
 *     that the statement served for it hashes to it (SHA-256 of the
 *     normalised statement), and that every tile it recomputes from those
 *     entries equals the tile the log serves;
 *  4. that every receipt a statement carries (header 394) is for its leaf,
 *     that its inclusion proof leads to the log's root at the receipt's tree
 *     size (from the log's tiles, proven consistent with the checkpoint),
 *     and that it is signed by a key of the log's /.well-known/scitt-keys
 *     (fetched each round; a log that publishes none gets its receipts
 *     checked against its roots only, with a warning);
 * and only then stores the entries, its own recomputed tiles and the
 * checkpoint in its LMDB (src/store, the same tables as the service).
 * Entries are committed in chunks as they are verified, so an interrupted
 * mirror resumes where it stopped; the checkpoint being worked towards is
 * kept as "pending" evidence meanwhile.
 *
 * Any inconsistency stops the mirror with its own verdict (below), leaves
 * the store untouched by the offending data, and writes the evidence to
 * DIR/evidence/<time>-<kind>/: trusted.checkpoint (the last one trusted),
 * pending.checkpoint (when catching up), offered.checkpoint (the new one),
 * the offending tile or statement, and report.txt (the message).
 *
 * Layout of DIR: db/ (LMDB), checkpoint.vkey (the pinned key), evidence/.
 */
#ifndef SCITT_MIRROR_H
#define SCITT_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

#include "scitt/client.h"
#include "scitt/core.h"
#include "scitt/note.h"
#include "scitt/store.h"

/* Outcomes of scitt_mirror_sync, also the exit codes of `scitt mirror`. */
typedef enum scitt_mirror_verdict {
    SCITT_MIRROR_OK = 0,              /* in sync with a verified checkpoint */
    SCITT_MIRROR_FAILED = 1,          /* could not finish: network, disk, a resource the log did not serve */
    SCITT_MIRROR_BAD_CHECKPOINT = 10, /* not signed by the pinned key, malformed, or another origin */
    SCITT_MIRROR_FORK = 11,           /* signed, but inconsistent with what the mirror already trusts */
    SCITT_MIRROR_BAD_TILE = 12,       /* tiles that do not reproduce the root or disagree with the entries */
    SCITT_MIRROR_BAD_STATEMENT = 13,  /* a statement that does not hash to its entry, or is missing */
    SCITT_MIRROR_ROLLBACK = 14,       /* an older checkpoint, and the entries past it are no longer served */
    SCITT_MIRROR_BAD_RECEIPT = 15,    /* a receipt in a statement that does not verify against the log */
    SCITT_MIRROR_UNWITNESSED = 16,    /* fewer valid cosignatures than witness_threshold (issue 21) */
} scitt_mirror_verdict_t;

/* scitt_mirror_verdict_name returns a short name ("fork", ...). */
const char *scitt_mirror_verdict_name(int verdict);

/* One GET for a source; `body` is initialised by the caller (with its
 * maximum) and filled by the source. */
typedef struct scitt_mirror_get {
    char path[160];
    scitt_buf_t body;
    int status; /* HTTP status (a directory source answers 200 or 404) */
    int rc;     /* 0 when a response arrived, else why not */
} scitt_mirror_get_t;

/* scitt_mirror_source_t is where the log is read from: `get` answers
 * `num` GETs (concurrently where it can) and returns 0, or an error that
 * stops the round (each get's rc says which failed). */
typedef struct scitt_mirror_source {
    int (*get)(void *ud, scitt_mirror_get_t *gets, size_t num);
    void (*free)(void *ud);
    void *ud;
} scitt_mirror_source_t;

/* scitt_mirror_source_open makes a source for `url`: "http://..." (one
 * HTTP/2 connection, reconnected when it drops, up to 64 concurrent
 * streams) or "file:///path" (a static copy of the log laid out as its URL
 * paths: checkpoint, checkpoint.vkey, tile/..., entries/<id>/statement).
 * Returns 0, SCITT_EINVAL for another scheme, or a client error. */
int scitt_mirror_source_open(scitt_mirror_source_t *out, const char *url);
/* scitt_mirror_source_open_with also reads "https://..." URLs, trusting
 * what `cfg->tls` says (NULL, or cfg->tls NULL: the system CAs; only `tls`
 * is taken from `cfg`). The HTTP/1.1 fallback is for http:// only. */
int scitt_mirror_source_open_with(scitt_mirror_source_t *out, const char *url, const scitt_client_config_t *cfg);
void scitt_mirror_source_close(scitt_mirror_source_t *src);

typedef struct scitt_mirror_config {
    const char *dir;               /* created if missing */
    const char *vkey;              /* the log's vkey line; NULL: pinned, else fetched */
    scitt_mirror_source_t *source; /* borrowed */
    size_t chunk_entries;          /* entries verified and committed at a time; 0: 1024 */
    /* progress, when not NULL, is called after each chunk. */
    void (*progress)(void *ud, uint64_t done, uint64_t target);
    void *progress_ud;
    /* Issue 21: with witness_threshold K > 0, a checkpoint is trusted only
     * with valid cosignature/v1 lines by at least K distinct `witnesses`
     * (borrowed); else the round ends SCITT_MIRROR_UNWITNESSED, with the
     * offered checkpoint kept as evidence, before anything is fetched. */
    const scitt_cosigner_t *witnesses;
    size_t num_witnesses;
    size_t witness_threshold;
} scitt_mirror_config_t;

typedef struct scitt_mirror scitt_mirror_t;

/* scitt_mirror_open opens (or creates) the mirror in cfg->dir, pins or
 * checks the vkey, and restores its tree from its own tiles. On failure it
 * returns a verdict (SCITT_MIRROR_FAILED, or SCITT_MIRROR_BAD_CHECKPOINT for
 * a vkey that differs from the pinned one) and explains it in `msg`. */
int scitt_mirror_open(scitt_mirror_t **out, const scitt_mirror_config_t *cfg, scitt_buf_t *msg);
void scitt_mirror_close(scitt_mirror_t *m);

typedef struct scitt_mirror_status {
    uint64_t trusted_size; /* size of the last verified checkpoint */
    uint64_t entries;      /* entries held (may exceed trusted_size while catching up) */
    uint64_t log_size;     /* size of the checkpoint the last sync saw */
} scitt_mirror_status_t;

/* scitt_mirror_sync fetches the current checkpoint and mirrors up to it.
 * Returns a verdict; anything but SCITT_MIRROR_OK comes with a message in
 * `msg` saying exactly what differs (and, for 10-15, where the evidence
 * went); SCITT_MIRROR_OK may come with a warning in `msg`. `status` (may be NULL) is filled in either way. */
int scitt_mirror_sync(scitt_mirror_t *m, scitt_mirror_status_t *status, scitt_buf_t *msg);

/* scitt_mirror_check_root checks, with no store and nothing kept, that
 * `root` is the root of the log's first `size` entries under its current
 * checkpoint: the checkpoint must verify with cfg->vkey (NULL: any key
 * /checkpoint.vkey lists) and meet cfg's witness threshold, and the log's
 * tiles must prove `root` (a consistency proof, or equality at the
 * checkpoint's size). `*out_size` gets the checkpoint's size. Returns a
 * verdict: SCITT_MIRROR_UNWITNESSED, SCITT_MIRROR_FORK (`root` is not in
 * that history), SCITT_MIRROR_FAILED (also when the checkpoint does not
 * reach `size` yet), ... with `msg` saying why. For `scitt verify`. */
int scitt_mirror_check_root(const scitt_mirror_config_t *cfg, uint64_t size, const uint8_t root[32], uint64_t *out_size,
                            scitt_buf_t *msg);

/* scitt_mirror_get_status reports the state without touching the log. */
void scitt_mirror_get_status(const scitt_mirror_t *m, scitt_mirror_status_t *out);

/* scitt_mirror_store_dir returns DIR/db, the LMDB folder (for --serve). */
const char *scitt_mirror_store_dir(const scitt_mirror_t *m);

/* scitt_mirror_store returns the mirror's store (entries, tiles, heads), for
 * serving it read-only; owned by `m`. */
scitt_store_t *scitt_mirror_store(scitt_mirror_t *m);

/* scitt_mirror_published reads what the log publishes, as the last sync
 * kept it in the mirror's store: its registration limit (its
 * max_statement_bytes; 1 MiB when unknown) and its receipt keys (the
 * COSE_KeySet appended to `keyset`; nothing when it publishes none), for
 * `--serve` to publish in turn, so mirrors of the mirror check the same. */
int scitt_mirror_published(scitt_store_t *store, size_t *out_max_statement, scitt_buf_t *keyset);

/* scitt_mirror_entry_hash is the mirror store's entry hash: the log entry
 * (SHA-256 of the normalised statement) of a stored transparent statement. */
void scitt_mirror_entry_hash(uint8_t out[32], const uint8_t *stored, size_t len);

#endif /* SCITT_MIRROR_H */
