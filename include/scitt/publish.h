/*
 * publish.h: the publish folder (`scittd --publish-dir DIR`, issue 18,
 * "reads past one machine"). A thread writes the committed log as files
 * laid out exactly as scittd's URL paths, so any static web server, HTTP
 * cache or CDN serving DIR is a mirror source byte-identical to scittd:
 *
 *   tile/<L>/<N>, tile/entries/<N>          full tiles, written once
 *   tile/<L>/<N>.p/<W>, tile/entries/...    partial tiles of a published
 *                                           checkpoint, written once, removed
 *                                           once the full tile and a later
 *                                           checkpoint are published
 *   entries/<EntryID>/statement             transparent statements, written once
 *   checkpoint                              replaced atomically, always last
 *   checkpoint.vkey, .well-known/...        scittd's fixed resources
 *
 * Files written once: a temporary file in the same folder, fsync, rename,
 * fsync of the folder (scitt_write_file_once); an existing file with other
 * bytes is a fork: the publisher says so loudly and stops. The checkpoint
 * is written after every file it covers is durable, so a reader never sees
 * a checkpoint whose tiles are missing, and it never goes backwards.
 *
 * The publisher also refuses a store that is behind DIR/checkpoint
 * (scitt_publish_guard, the sequencer's recovery guard): a log restored
 * from an old backup must not re-issue indexes it already published.
 *
 * Threading: one publisher thread, fed by the log reader's advance
 * (scitt_log_on_advance); it reads the store with its own short read
 * handles, never on the io loop nor on the commit path. A failing disk
 * makes it retry every second; commits never wait for it. Memory: one
 * level-0 tile's worth of entries and a bounded batch of statements.
 */
#ifndef SCITT_PUBLISH_H
#define SCITT_PUBLISH_H

#include <stdint.h>

#include "scitt/core.h"
#include "scitt/crypto.h"
#include "scitt/log.h"
#include "scitt/store.h"

typedef struct scitt_publish scitt_publish_t;

typedef struct scitt_publish_config {
    const char *dir;                   /* created (0755) if missing */
    scitt_store_t *store;              /* read only */
    scitt_log_reader_t *log;           /* transparent statements, through its receipt caches */
    const char *origin;                /* the log's origin (checkpoint key name) */
    const scitt_key_t *checkpoint_key; /* verifies DIR/checkpoint (its public half) */
    /* and so do the retired checkpoint keys (issue 21: keys rotate) */
    scitt_key_t *const *retired_checkpoint_keys;
    size_t num_retired_checkpoint_keys;
    unsigned retry_ms; /* after a failure; 0 means 1000 */
} scitt_publish_config_t;

/* scitt_publish_open takes DIR (one publisher per folder: a flock, as the
 * data folder's) and reads DIR/checkpoint, which must verify as this log's.
 * Nonzero with a reason in `msg` otherwise. Starts no thread. */
int scitt_publish_open(scitt_publish_t **out, const scitt_publish_config_t *cfg, char *msg, size_t cap);

/* scitt_publish_guard is the sequencer's recovery guard
 * (scitt_seq_config_t.guard, ctx the publisher): nonzero with the reason in
 * `msg` when the store's latest head `head` (NULL: an empty store) is behind
 * the published checkpoint, or does not contain it (another root at its
 * size, read from the store's tiles in `rd`). */
int scitt_publish_guard(void *ctx, scitt_store_read_t *rd, const scitt_store_head_t *head, char *msg, size_t cap);

/* scitt_publish_fixed writes DIR/`path` (relative, e.g. "checkpoint.vkey")
 * with `data` when it differs, atomically: the resources scittd serves that
 * change only when it restarts. -errno on failure. */
int scitt_publish_fixed(scitt_publish_t *p, const char *path, scitt_span_t data);

/* scitt_publish_start starts the thread, which first catches up with the
 * store's latest head, and listens to the log reader's advance. */
int scitt_publish_start(scitt_publish_t *p);

/* scitt_publish_cosigned hands the publisher `note`, the checkpoint at
 * `size` with its witnesses' cosignatures (scitt_cosign_config_t.cosigned,
 * ctx the publisher; any thread). The thread replaces DIR/checkpoint with it
 * when DIR/checkpoint is that very checkpoint (same size, and `note` starts
 * with its bytes), now or once it gets there: never another size, so the
 * file never goes backwards. A note for a size already passed is dropped. */
void scitt_publish_cosigned(void *ctx, uint64_t size, scitt_span_t note);

/* scitt_publish_stop stops listening, lets the thread finish the file it
 * writes and joins it; scitt_publish_free stops and frees (NULL: no-op). */
void scitt_publish_stop(scitt_publish_t *p);
void scitt_publish_free(scitt_publish_t *p);

typedef struct scitt_publish_stats {
    uint64_t size;   /* tree size of DIR/checkpoint (0: none) */
    uint64_t errors; /* rounds that failed (retried) */
    bool forked;     /* a file held other bytes: publishing stopped */
} scitt_publish_stats_t;
void scitt_publish_stats(scitt_publish_t *p, scitt_publish_stats_t *out);

/* scitt_publish_metrics appends the publisher's Prometheus lines
 * (scittd_published_size, scittd_publish_errors_total, scittd_publish_fork);
 * `ctx` is the publisher (a front end's extra metrics hook). */
int scitt_publish_metrics(void *ctx, scitt_buf_t *out);

#endif /* SCITT_PUBLISH_H */
