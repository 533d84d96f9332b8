/*
 * publish.c: the publish folder (include/scitt/publish.h).
 *
 * A round publishes the store's latest head H over the published
 * checkpoint P (both tree sizes):
 *   1. the store must contain P: its root at P.size equals P's root (else
 *      a fork: stop), and H.size > P.size (a smaller H is never published);
 *   2. per level-0 tile from P's: the tile (full, or partial at H), its
 *      entry bundle, and the transparent statements of leaves P.size..;
 *      then the tiles of the upper levels the new leaves changed;
 *   3. DIR/checkpoint := H's checkpoint (atomic), now that all it covers is
 *      durable; then the partial tiles superseded by a full one are removed.
 * A round that fails leaves P as it was: the next one starts from P again
 * and finds the files already written (same bytes: nothing to do).
 *
 * Invariants:
 *  - `size`/`root` are DIR/checkpoint's, which only grows.
 *  - A file holding other bytes than the store gives is never replaced:
 *    `forked` is set, and nothing is published any more.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scitt/cond.h"
#include "scitt/merkle.h"
#include "scitt/note.h"
#include "scitt/publish.h"

/* Transparent statements built per read handle before they are written. */
#define STATEMENT_BATCH_BYTES ((size_t)4 << 20)

#define FILE_MODE 0644
#define DIR_MODE  0755

struct scitt_publish {
    char *dir;
    int lock_fd;
    scitt_store_t *store;
    scitt_log_reader_t *log;
    scitt_note_verifier_t *verifiers; /* the active checkpoint key's first */
    size_t num_verifiers;
    uint64_t retry_ns;

    pthread_mutex_t lock; /* a leaf: guards the fields below and `root` */
    pthread_cond_t cond;
    uint64_t wanted; /* the largest size the reader advanced to */
    bool wake, stop, running, listening;
    pthread_t thread;
    uint8_t root[32];      /* of the published checkpoint */
    _Atomic uint64_t size; /* of the published checkpoint (0: none) */
    atomic_uint_least64_t errors;
    atomic_bool forked;

    /* The publisher thread's own. */
    bool failing; /* the last round failed: say when it works again */
    char why[512];
    scitt_buf_t body, checkpoint;
    scitt_buf_t cosigned_take; /* the cosigned note being written */

    /* scitt_publish_cosigned's latest note (guarded by `lock`). */
    scitt_buf_t cosigned;
    uint64_t cosigned_size;
};

/* -- Files -- */

/* make_dir creates folder `path` (its parent exists) and makes it durable
 * in its parent; an existing folder is fine. */
static int make_dir(char *path)
{
    if (mkdir(path, DIR_MODE) != 0) {
        return errno == EEXIST ? 0 : -errno;
    }
    char *slash = strrchr(path, '/');
    *slash = '\0';
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 || fsync(fd) != 0 ? -errno : 0;
    if (fd >= 0) {
        close(fd);
    }
    *slash = '/';
    return rc;
}

/* make_dirs creates the missing folders of DIR/`rel` (a path to a file). */
static int make_dirs(const scitt_publish_t *p, const char *rel)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", p->dir, rel);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return -ENAMETOOLONG;
    }
    char *last = strrchr(path, '/');
    struct stat sb;
    *last = '\0';
    bool have = stat(path, &sb) == 0;
    *last = '/';
    int rc = 0;
    for (char *c = strchr(path + strlen(p->dir) + 1, '/'); !have && rc == 0 && c != NULL; c = strchr(c + 1, '/')) {
        *c = '\0';
        rc = make_dir(path);
        *c = '/';
    }
    return rc;
}

/* split_write writes DIR/`rel` through `write` (once, or atomically). */
static int split_write(const scitt_publish_t *p, const char *rel, scitt_span_t data, bool once)
{
    char dir[4096];
    const char *slash = strrchr(rel, '/');
    int n = slash == NULL ? snprintf(dir, sizeof(dir), "%s", p->dir)
                          : snprintf(dir, sizeof(dir), "%s/%.*s", p->dir, (int)(slash - rel), rel);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        return -ENAMETOOLONG;
    }
    int rc = make_dirs(p, rel);
    if (rc != 0) {
        return rc;
    }
    const char *file = slash == NULL ? rel : slash + 1;
    return once ? scitt_write_file_once(dir, file, data, FILE_MODE)
                : scitt_write_file_atomic(dir, file, data, FILE_MODE);
}

/* put_once writes an immutable file; other bytes already there are a fork. */
static int put_once(scitt_publish_t *p, const char *rel, scitt_span_t data)
{
    int rc = split_write(p, rel, data, true);
    if (rc == SCITT_ECONFLICT) {
        snprintf(p->why, sizeof(p->why), "%s/%s already holds other bytes than the log gives", p->dir, rel);
    } else if (rc != 0) {
        snprintf(p->why, sizeof(p->why), "cannot write %s/%s: %s", p->dir, rel, scitt_strerror(rc));
    }
    return rc;
}

int scitt_publish_fixed(scitt_publish_t *p, const char *path, scitt_span_t data)
{
    int rc = split_write(p, path, data, true);
    return rc == SCITT_ECONFLICT ? split_write(p, path, data, false) : rc;
}

/* remove_partials removes tile `tp`'s partial tiles (DIR/<tile>.p/), whose
 * full tile is published. */
static void remove_partials(const scitt_publish_t *p, scitt_tile_path_t tp)
{
    char rel[SCITT_MERKLE_TILE_PATH_MAX + 1], path[4096], file[4096 + 260];
    size_t len;
    tp.width = 0;
    if (scitt_merkle_tile_path_encode(rel, sizeof(rel), &len, &tp) != 0 ||
        (size_t)snprintf(path, sizeof(path), "%s/%s.p", p->dir, rel) >= sizeof(path)) {
        return;
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
            (void)unlink(file);
        }
    }
    closedir(d);
    (void)rmdir(path);
}

/* -- The checkpoint -- */

/* read_published reads DIR/checkpoint into size/root: 0 (absent: size 0),
 * or nonzero with the reason in `msg`. */
static int read_published(scitt_publish_t *p, char *msg, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/checkpoint", p->dir);
    scitt_buf_t note;
    scitt_buf_init(&note, NULL, SCITT_NOTE_MAX_LEN);
    int rc = scitt_read_file(path, &note);
    if (rc == -ENOENT) {
        scitt_buf_cleanup(&note);
        return 0;
    }
    scitt_checkpoint_t cp;
    const char *why = NULL;
    if (rc == 0) {
        rc = scitt_note_open(note.base, note.len, p->verifiers, p->num_verifiers, &cp, &why);
    }
    if (rc == 0 && !scitt_span_eq(cp.origin, scitt_span_str(p->verifiers[0].name))) {
        rc = SCITT_EBADSIG;
        why = "it names another origin";
    }
    if (rc != 0) {
        snprintf(msg, cap, "%s is not a checkpoint of this log (%s): publish another log elsewhere", path,
                 why != NULL ? why : scitt_strerror(rc));
    } else {
        atomic_store(&p->size, cp.size);
        memcpy(p->root, cp.root, 32);
    }
    scitt_buf_cleanup(&note);
    return rc;
}

/* check_contains says whether the store, at latest head `head` (NULL:
 * empty), holds the published checkpoint `size`/`root`: 0; SCITT_ERANGE
 * behind it; SCITT_ECONFLICT another root at its size (a fork); or the
 * error reading the store. */
static int check_contains(const char *dir, scitt_store_read_t *rd, const scitt_store_head_t *head, uint64_t size,
                          const uint8_t root[32], char *msg, size_t cap)
{
    uint64_t have = head != NULL ? head->size : 0;
    if (size == 0) {
        return 0;
    }
    if (have < size) {
        snprintf(msg, cap,
                 "the database is behind the published checkpoint at size %llu (%s/checkpoint) with its latest tree "
                 "head at size %llu: restored from an old backup, or a replica that lost commits? A log must never "
                 "re-issue an index it published; see docs/DECISIONS.md (\"The publish folder\")",
                 (unsigned long long)size, dir, (unsigned long long)have);
        return SCITT_ERANGE;
    }
    uint8_t at[32];
    scitt_tile_reader_t tiles = scitt_log__tile_reader(rd, NULL);
    int rc = have == size ? (memcpy(at, head->root, 32), 0) : scitt_merkle_root_at(NULL, &tiles, size, at);
    if (rc != 0) {
        snprintf(msg, cap, "cannot read the database's root at the published size %llu: %s", (unsigned long long)size,
                 scitt_strerror(rc));
        return rc;
    }
    if (memcmp(at, root, 32) != 0) {
        snprintf(msg, cap,
                 "the database's log forks from the published checkpoint (%s/checkpoint): another root at size %llu; "
                 "see docs/DECISIONS.md (\"The publish folder\")",
                 dir, (unsigned long long)size);
        return SCITT_ECONFLICT;
    }
    return 0;
}

int scitt_publish_guard(void *ctx, scitt_store_read_t *rd, const scitt_store_head_t *head, char *msg, size_t cap)
{
    scitt_publish_t *p = ctx;
    uint8_t root[32];
    pthread_mutex_lock(&p->lock);
    uint64_t size = atomic_load(&p->size);
    memcpy(root, p->root, 32);
    pthread_mutex_unlock(&p->lock);
    return check_contains(p->dir, rd, head, size, root, msg, cap);
}

/* -- One round -- */

static int tile_rel(char *out, size_t cap, bool entries, unsigned level, uint64_t index, uint64_t width)
{
    scitt_tile_path_t tp = {.entries = entries, .level = level, .index = index, .width = (unsigned)(width & 255)};
    size_t len;
    return scitt_merkle_tile_path_encode(out, cap, &len, &tp);
}

/* put_statements publishes the transparent statements of leaves
 * from .. to - 1, at most STATEMENT_BATCH_BYTES per read handle. */
static int put_statements(scitt_publish_t *p, uint64_t from, uint64_t to)
{
    while (from < to) {
        scitt_span_t stmts[256];
        uint8_t hashes[256][32];
        size_t offs[257], n = (size_t)(to - from > 256 ? 256 : to - from), done = 0;
        scitt_store_read_t *rd;
        scitt_buf_reset(&p->body);
        int rc = scitt_store_read_begin(p->store, &rd);
        if (rc == 0) {
            rc = scitt_store_get_entries_checked(rd, from, n, stmts, hashes);
        }
        offs[0] = 0;
        while (rc == 0 && done < n && (done == 0 || p->body.len < STATEMENT_BATCH_BYTES)) {
            rc = scitt_log_transparent(p->log, rd, from + done, stmts[done], &p->body);
            offs[++done] = p->body.len;
        }
        scitt_store_read_end(rd);
        if (rc != 0) {
            snprintf(p->why, sizeof(p->why), "cannot read the statements from leaf %llu: %s", (unsigned long long)from,
                     scitt_strerror(rc));
            return rc;
        }
        for (size_t i = 0; i < done; i++) {
            char rel[128], id[65];
            scitt_hex_encode(id, hashes[i], 32);
            snprintf(rel, sizeof(rel), "entries/%s/statement", id);
            rc = put_once(p, rel, scitt_span(p->body.base + offs[i], offs[i + 1] - offs[i]));
            if (rc != 0) {
                return rc;
            }
        }
        from += done;
    }
    return 0;
}

/* append_tile appends the first `width` hashes of tile (level, index),
 * read in `rd`, to p->body. */
static int append_tile(scitt_publish_t *p, scitt_store_read_t *rd, unsigned level, uint64_t index, uint64_t width)
{
    const uint8_t *hashes = NULL;
    size_t stored = 0;
    int rc = scitt_store_get_tile(rd, level, index, &hashes, &stored);
    rc = rc == 0 && stored < width ? SCITT_ECORRUPT : rc;
    return rc != 0 ? rc : scitt_buf_append(&p->body, hashes, (size_t)width * 32);
}

/* put_tile publishes tile (level, index) of a tree with `avail` hashes at
 * that level (full, or partial); at level 0 its entry bundle too, and the
 * statements of its leaves from `from` on. */
static int put_tile(scitt_publish_t *p, unsigned level, uint64_t index, uint64_t avail, uint64_t from)
{
    uint64_t first = index << 8, width = avail - first > 256 ? 256 : avail - first;
    char rel[SCITT_MERKLE_TILE_PATH_MAX + 1];
    scitt_store_read_t *rd;
    scitt_buf_reset(&p->body);
    int rc = scitt_store_read_begin(p->store, &rd);
    if (rc == 0 && level == 0) {
        rc = scitt_log_entry_bundle(rd, first, (size_t)width, &p->body);
    }
    size_t bundle_len = p->body.len;
    if (rc == 0) {
        rc = append_tile(p, rd, level, index, width);
    }
    scitt_store_read_end(rd);
    if (rc != 0) {
        snprintf(p->why, sizeof(p->why), "cannot read level-%u tile %llu: %s", level, (unsigned long long)index,
                 scitt_strerror(rc));
        return rc;
    }
    if (level == 0) {
        tile_rel(rel, sizeof(rel), true, 0, index, width);
        rc = put_once(p, rel, scitt_span(p->body.base, bundle_len));
    }
    if (rc == 0) {
        tile_rel(rel, sizeof(rel), false, level, index, width);
        rc = put_once(p, rel, scitt_span(p->body.base + bundle_len, p->body.len - bundle_len));
    }
    return rc != 0 || level != 0 ? rc : put_statements(p, from, first + width);
}

/* latest reads the store's latest head into `*out` (checkpoint copied to
 * p->checkpoint) and checks that it contains the published checkpoint. */
static int latest(scitt_publish_t *p, scitt_store_head_t *out)
{
    scitt_store_read_t *rd;
    int rc = scitt_store_read_begin(p->store, &rd);
    if (rc != 0) {
        snprintf(p->why, sizeof(p->why), "cannot read the store: %s", scitt_strerror(rc));
        return rc;
    }
    rc = scitt_store_get_latest_head(rd, out);
    if (rc == 0 || rc == SCITT_ENOTFOUND) {
        rc = scitt_publish_guard(p, rd, rc == 0 ? out : NULL, p->why, sizeof(p->why));
        if (rc == 0 && out->size == 0) {
            rc = SCITT_ENOTFOUND;
        }
    } else {
        snprintf(p->why, sizeof(p->why), "cannot read the latest tree head: %s", scitt_strerror(rc));
    }
    scitt_buf_reset(&p->checkpoint);
    if (rc == 0) {
        rc = scitt_buf_append(&p->checkpoint, out->checkpoint.base, out->checkpoint.len);
    }
    scitt_store_read_end(rd);
    return rc;
}

/* publish_round publishes the latest head (see the top). */
static int publish_round(scitt_publish_t *p)
{
    scitt_store_head_t head = {0};
    int rc = latest(p, &head);
    uint64_t old = atomic_load(&p->size);
    if (rc == SCITT_ENOTFOUND || (rc == 0 && head.size <= old)) {
        return 0; /* an empty log, or nothing new */
    }
    /* Level by level, the tiles the new leaves changed (at level 0 with
     * their bundles and statements). */
    for (unsigned level = 0; rc == 0 && level < SCITT_MERKLE_MAX_LEVELS && (head.size >> (8 * level)) > 0; level++) {
        uint64_t avail = head.size >> (8 * level);
        for (uint64_t i = (old >> (8 * level)) >> 8; rc == 0 && (i << 8) < avail; i++) {
            rc = put_tile(p, level, i, avail, (i << 8) > old ? (i << 8) : old);
        }
    }
    if (rc == 0) {
        rc = split_write(p, "checkpoint", scitt_buf_span(&p->checkpoint), false);
        if (rc != 0) {
            snprintf(p->why, sizeof(p->why), "cannot write %s/checkpoint: %s", p->dir, scitt_strerror(rc));
        }
    }
    if (rc != 0) {
        return rc;
    }
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->size, head.size);
    memcpy(p->root, head.root, 32);
    pthread_mutex_unlock(&p->lock);
    /* Full tiles of this round whose partial tiles earlier checkpoints used. */
    for (unsigned level = 0; level < SCITT_MERKLE_MAX_LEVELS && (head.size >> (8 * level)) > 0; level++) {
        for (uint64_t i = (old >> (8 * level)) >> 8; i < (head.size >> (8 * level)) >> 8; i++) {
            remove_partials(p, (scitt_tile_path_t){.level = level, .index = i});
            if (level == 0) {
                remove_partials(p, (scitt_tile_path_t){.entries = true, .index = i});
            }
        }
    }
    return 0;
}

/* put_cosigned replaces DIR/checkpoint with the cosigned note waiting for
 * it, when that note is the published checkpoint plus cosignatures. */
static void put_cosigned(scitt_publish_t *p)
{
    uint64_t size = atomic_load(&p->size);
    pthread_mutex_lock(&p->lock);
    bool take = p->cosigned_size != 0 && p->cosigned_size <= size;
    if (take) {
        scitt_buf_t t = p->cosigned_take;
        p->cosigned_take = p->cosigned;
        p->cosigned = t;
        scitt_buf_reset(&p->cosigned);
        take = p->cosigned_size == size;
        p->cosigned_size = 0;
    }
    pthread_mutex_unlock(&p->lock);
    scitt_span_t note = scitt_buf_span(&p->cosigned_take);
    if (take && note.len > p->checkpoint.len && memcmp(note.base, p->checkpoint.base, p->checkpoint.len) == 0) {
        int rc = split_write(p, "checkpoint", note, false);
        if (rc != 0) {
            atomic_fetch_add(&p->errors, 1);
            fprintf(stderr, "scittd: publish: cannot write the cosigned %s/checkpoint: %s\n", p->dir,
                    scitt_strerror(rc));
        }
    }
}

void scitt_publish_cosigned(void *ctx, uint64_t size, scitt_span_t note)
{
    scitt_publish_t *p = ctx;
    pthread_mutex_lock(&p->lock);
    scitt_buf_reset(&p->cosigned);
    if (scitt_buf_append(&p->cosigned, note.base, note.len) == 0) {
        p->cosigned_size = size;
        p->wake = true;
        pthread_cond_signal(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
}

/* -- The thread -- */

static void *publisher_main(void *arg)
{
    pthread_setname_np(pthread_self(), "publish");
    scitt_publish_t *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        if (!p->wake) {
            if (p->failing) {
                struct timespec until;
                scitt_deadline(&until, p->retry_ns);
                pthread_cond_timedwait(&p->cond, &p->lock, &until);
            } else {
                pthread_cond_wait(&p->cond, &p->lock);
            }
            if (p->stop || (!p->wake && !p->failing)) {
                continue;
            }
        }
        p->wake = false;
        pthread_mutex_unlock(&p->lock);
        int rc = atomic_load(&p->forked) ? 0 : publish_round(p);
        if (rc == 0 && !atomic_load(&p->forked)) {
            put_cosigned(p);
        }
        if (rc == SCITT_ECONFLICT) {
            atomic_store(&p->forked, true);
            fprintf(stderr,
                    "scittd: PUBLISH FORK: %s\n"
                    "scittd: PUBLISH FORK: publishing to %s has STOPPED; the log and the published files disagree.\n"
                    "scittd: PUBLISH FORK: find out why before anything else (docs/DECISIONS.md, \"The publish "
                    "folder\").\n",
                    p->why, p->dir);
        } else if (rc != 0) {
            atomic_fetch_add(&p->errors, 1);
            if (!p->failing) {
                fprintf(stderr, "scittd: publish: %s (%s); retrying every %llu ms\n", p->why, scitt_strerror(rc),
                        (unsigned long long)(p->retry_ns / 1000000));
            }
        } else if (p->failing) {
            fprintf(stderr, "scittd: publish: %s is up to date again at size %llu\n", p->dir,
                    (unsigned long long)atomic_load(&p->size));
        }
        pthread_mutex_lock(&p->lock);
        p->failing = rc != 0 && rc != SCITT_ECONFLICT;
        if (p->wanted > atomic_load(&p->size) && !p->failing && !atomic_load(&p->forked)) {
            p->wake = true; /* the log moved on during the round */
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void on_advance(void *ctx, uint64_t size)
{
    scitt_publish_t *p = ctx;
    pthread_mutex_lock(&p->lock);
    if (size > p->wanted) {
        p->wanted = size;
        p->wake = true;
        pthread_cond_signal(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
}

/* -- Life cycle -- */

int scitt_publish_open(scitt_publish_t **out, const scitt_publish_config_t *cfg, char *msg, size_t cap)
{
    scitt_publish_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(msg, cap, "out of memory");
        return SCITT_ENOMEM;
    }
    p->lock_fd = -1;
    p->store = cfg->store;
    p->log = cfg->log;
    p->retry_ns = (uint64_t)(cfg->retry_ms != 0 ? cfg->retry_ms : 1000) * 1000000u;
    pthread_mutex_init(&p->lock, NULL);
    scitt_cond_init(&p->cond);
    scitt_buf_init(&p->body, NULL, 0);
    scitt_buf_init(&p->checkpoint, NULL, 0);
    scitt_buf_init(&p->cosigned, NULL, 0);
    scitt_buf_init(&p->cosigned_take, NULL, 0);
    p->dir = strdup(cfg->dir);
    int rc = p->dir == NULL ? SCITT_ENOMEM : 0;
    if (rc == 0 && mkdir(p->dir, DIR_MODE) != 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(msg, cap, "cannot create %s: %s", p->dir, strerror(errno));
    }
    if (rc == 0) {
        rc = scitt_dir_lock(p->dir, &p->lock_fd, msg, cap);
    }
    if (rc == 0) {
        size_t n = 1 + cfg->num_retired_checkpoint_keys;
        p->verifiers = calloc(n, sizeof(*p->verifiers));
        rc = p->verifiers == NULL ? SCITT_ENOMEM : 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            rc = scitt_note_verifier_init(&p->verifiers[i], cfg->origin,
                                          i == 0 ? cfg->checkpoint_key : cfg->retired_checkpoint_keys[i - 1]);
            p->num_verifiers += rc == 0;
        }
        if (rc != 0) {
            snprintf(msg, cap, "the origin or the checkpoint key cannot verify checkpoints");
        }
    }
    if (rc == 0) {
        rc = read_published(p, msg, cap);
    }
    p->wanted = atomic_load(&p->size);
    if (rc != 0) {
        scitt_publish_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int scitt_publish_start(scitt_publish_t *p)
{
    p->wake = true; /* catch up with the store at once */
    int rc = -pthread_create(&p->thread, NULL, publisher_main, p);
    p->running = rc == 0;
    if (rc == 0) {
        p->listening = scitt_log_on_advance(p->log, on_advance, p) == 0;
    }
    return rc;
}

void scitt_publish_stop(scitt_publish_t *p)
{
    if (p->listening) {
        scitt_log_on_advance(p->log, NULL, p);
        p->listening = false;
    }
    if (p->running) {
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        p->running = false;
    }
}

void scitt_publish_free(scitt_publish_t *p)
{
    if (p == NULL) {
        return;
    }
    scitt_publish_stop(p);
    for (size_t i = 0; i < p->num_verifiers; i++) {
        scitt_note_verifier_cleanup(&p->verifiers[i]);
    }
    free(p->verifiers);
    scitt_dir_unlock(p->lock_fd);
    scitt_buf_cleanup(&p->body);
    scitt_buf_cleanup(&p->checkpoint);
    scitt_buf_cleanup(&p->cosigned);
    scitt_buf_cleanup(&p->cosigned_take);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p->dir);
    free(p);
}

void scitt_publish_stats(scitt_publish_t *p, scitt_publish_stats_t *out)
{
    out->size = atomic_load(&p->size);
    out->errors = atomic_load(&p->errors);
    out->forked = atomic_load(&p->forked);
}

int scitt_publish_metrics(void *ctx, scitt_buf_t *out)
{
    scitt_publish_stats_t st;
    scitt_publish_stats(ctx, &st);
    return scitt_buf_printf(out,
                            "# HELP scittd_published_size Tree size of the checkpoint in the publish folder.\n"
                            "# TYPE scittd_published_size gauge\nscittd_published_size %llu\n"
                            "# HELP scittd_publish_errors_total Publish rounds that failed (retried).\n"
                            "# TYPE scittd_publish_errors_total counter\nscittd_publish_errors_total %llu\n"
                            "# HELP scittd_publish_fork 1 when a published file disagreed with the log "
                            "(publishing stopped).\n# TYPE scittd_publish_fork gauge\nscittd_publish_fork %d\n",
                            (unsigned long long)st.size, (unsigned long long)st.errors, st.forked ? 1 : 0);
}
