/*
 * entryidx.c: the persistent entry index (design and rules in entryidx.h).
 *
 * Invariants:
 *  - Only the writer thread changes slots, `t`, `count`, `indexed` and
 *    `err`; it changes them under `lock` held exclusively (slots of a table
 *    being built are private to it until the swap). Lookups and the syncer
 *    read them under `lock` held shared.
 *  - Entries [0, indexed) are in the mapped table; entries [0, synced) are
 *    in the file at `path` on disk (the header's synced_size says so only
 *    after the slots were msync'ed). `synced`, header writes and unmapping
 *    a table are serialised by `sync_lock`.
 *  - The load stays <= 0.7 (growth), or <= 0.9 when a growth failed, so a
 *    probe always meets an empty slot; probes are bounded anyway.
 *  - Every slot read is checked (slot_state) before its tag or index is
 *    believed; a damaged slot is never copied, and never ends a probe.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "entryidx.h"
#include "scitt/cond.h"
#include "scitt/crypto.h"

#define MIN_SLOTS      4096
#define MAX_SLOTS      ((uint64_t)1 << 40)
#define SYNC_POLL_S    1                 /* the syncer looks this often */
#define SYNC_MAX_AGE_S 10                /* and syncs whatever is older than this */
#define SYNC_CHUNK     ((size_t)1 << 20) /* msync this much at a time (a multiple of the page size) */
#define SYNC_PAUSE_NS  1000000L          /* then let other writes through for 1 ms */

typedef scitt_entryidx_slot_t slot_t;
typedef scitt_entryidx_hdr_t hdr_t;
#define MAGIC   SCITT_ENTRYIDX_MAGIC
#define VERSION SCITT_ENTRYIDX_VERSION
#define HDR_LEN SCITT_ENTRYIDX_HDR_LEN

typedef struct table {
    int fd;
    uint8_t *map;
    size_t map_len;
    slot_t *slots;
    uint64_t mask;
} table_t;

struct scitt_entryidx {
    char *path, *tmp_path;
    uint8_t id[SCITT_ENTRYIDX_ID_LEN];
    bool nosync;

    pthread_rwlock_t lock;
    table_t t;
    uint64_t count;   /* filled slots */
    uint64_t indexed; /* entries [0, indexed) are inserted */
    int err;          /* nonzero: a growth failed, the table is incomplete */
    atomic_bool damage_logged;

    pthread_mutex_t sync_lock;
    uint64_t synced; /* entries [0, synced) are durable in the file at `path` */

    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    bool stop, kick, started;
    pthread_t thread;
};

#define POS_BITS 40
#define POS_MASK (((uint64_t)1 << POS_BITS) - 1)
#define CRC_POLY 0x864cfbu /* CRC-24 (RFC 4880, section 6.1) */
#define CRC_INIT 0xb704ceu

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i << 16;
        for (int b = 0; b < 8; b++) {
            c = (c << 1) ^ ((c & 0x800000) != 0 ? CRC_POLY : 0);
        }
        crc_table[i] = c & 0xffffff;
    }
}

/* slot_check: CRC-24 of the tag's 8 bytes and the low 5 bytes of pos
 * (little-endian), so that one flipped bit anywhere in a slot shows. */
static uint64_t slot_check(uint64_t tag, uint64_t pos)
{
    uint32_t c = CRC_INIT;
    for (int i = 0; i < 13; i++) {
        uint8_t byte = (uint8_t)(i < 8 ? tag >> (8 * i) : pos >> (8 * (i - 8)));
        c = ((c << 8) ^ crc_table[((c >> 16) ^ byte) & 0xff]) & 0xffffff;
    }
    return c;
}

enum { SLOT_EMPTY, SLOT_FULL, SLOT_DAMAGED };

/* slot_state says whether `s` is empty, a sound entry (`*out_pos` is the
 * leaf index + 1) or damaged. */
static int slot_state(const slot_t *s, uint64_t *out_pos)
{
    if (s->tag == 0 && s->pos == 0) {
        return SLOT_EMPTY;
    }
    *out_pos = s->pos & POS_MASK;
    return *out_pos != 0 && s->pos >> POS_BITS == slot_check(s->tag, *out_pos) ? SLOT_FULL : SLOT_DAMAGED;
}

static uint64_t tag_of(const uint8_t hash[32])
{
    uint64_t t;
    memcpy(&t, hash, sizeof(t));
    return t;
}

uint64_t scitt_entryidx_hdr_check(const scitt_entryidx_hdr_t *h)
{
    uint8_t d[32];
    uint64_t c;
    scitt_sha256(d, h, offsetof(hdr_t, check));
    memcpy(&c, d, sizeof(c));
    return c;
}

static void unmap(table_t *t)
{
    if (t->map != NULL) {
        munmap(t->map, t->map_len);
    }
    if (t->fd >= 0) {
        close(t->fd);
    }
    memset(t, 0, sizeof(*t));
    t->fd = -1;
}

static int map_table(table_t *t, int fd, uint64_t slots)
{
    t->fd = fd;
    t->map_len = HDR_LEN + (size_t)slots * sizeof(slot_t);
    t->map = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (t->map == MAP_FAILED) {
        t->map = NULL;
        return -errno;
    }
    t->slots = (slot_t *)(t->map + HDR_LEN);
    t->mask = slots - 1;
    return 0;
}

/* create_table makes an empty table of `slots` slots in the file at `path`. */
static int create_table(scitt_entryidx_t *d, const char *path, uint64_t slots, table_t *out)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -errno;
    }
    /* Allocate every block now: a store through the mapping into a hole of
     * a full file system would be SIGBUS, not an error. */
    int rc = -posix_fallocate(fd, 0, (off_t)(HDR_LEN + slots * sizeof(slot_t)));
    if (rc == 0) {
        rc = map_table(out, fd, slots);
    }
    if (rc != 0) {
        close(fd);
        unlink(path);
        out->fd = -1;
        return rc == -EFBIG || rc == -EDQUOT ? SCITT_ENOSPC : rc;
    }
    hdr_t *h = (hdr_t *)out->map;
    memcpy(h->magic, MAGIC, 8);
    h->version = VERSION;
    h->slot_size = sizeof(slot_t);
    memcpy(h->id, d->id, sizeof(h->id));
    h->slots = slots;
    h->check = scitt_entryidx_hdr_check(h);
    return 0;
}

/* put inserts (tag, pos) unless present; returns 1 when it filled a slot.
 * A damaged slot on the way is passed like any other. */
static int put(const table_t *t, uint64_t tag, uint64_t pos)
{
    for (uint64_t i = tag & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
        slot_t *s = &t->slots[i];
        uint64_t p = 0;
        int state = slot_state(s, &p);
        if (state == SLOT_EMPTY) {
            s->tag = tag;
            s->pos = pos | slot_check(tag, pos) << POS_BITS;
            return 1;
        }
        if (state == SLOT_FULL && s->tag == tag && p == pos) {
            return 0;
        }
    }
    return 0; /* cannot happen: the load is bounded */
}

static uint64_t slots_for(uint64_t entries)
{
    uint64_t slots = MIN_SLOTS;
    while (slots < MAX_SLOTS && entries * 2 > slots) {
        slots *= 2;
    }
    return slots;
}

/* load maps the existing table if it is ours and sound; `*why` otherwise. */
static int load(scitt_entryidx_t *d, uint64_t num_entries, const char **why)
{
    int fd = open(d->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *why = errno == ENOENT ? "missing" : "unreadable";
        return -errno;
    }
    struct stat sb;
    hdr_t h;
    if (fstat(fd, &sb) != 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
        *why = "truncated header";
        close(fd);
        return SCITT_ECORRUPT;
    }
    *why = NULL;
    if (memcmp(h.magic, MAGIC, 8) != 0 || h.version != VERSION || h.slot_size != sizeof(slot_t) ||
        h.check != scitt_entryidx_hdr_check(&h)) {
        *why = "not a entry index of this version, or a damaged header";
    } else if (memcmp(h.id, d->id, sizeof(h.id)) != 0) {
        *why = "belongs to another store";
    } else if (h.slots < MIN_SLOTS || h.slots > MAX_SLOTS || (h.slots & (h.slots - 1)) != 0 ||
               (uint64_t)sb.st_size != HDR_LEN + h.slots * sizeof(slot_t)) {
        *why = "damaged (size)";
    } else if (h.synced_size > num_entries) {
        *why = "ahead of the log (the log lost commits or was restored from an older copy)";
    }
    if (*why != NULL) {
        close(fd);
        return SCITT_ECORRUPT;
    }
    int rc = map_table(&d->t, fd, h.slots);
    if (rc != 0) {
        *why = "cannot be mapped";
        close(fd);
        d->t.fd = -1;
        return rc;
    }
    /* Count the filled slots (after a crash the header's count is stale),
     * and check every one. */
    uint64_t count = 0, damaged = 0, pos;
    for (uint64_t i = 0; i <= d->t.mask; i++) {
        int state = slot_state(&d->t.slots[i], &pos);
        count += state != SLOT_EMPTY;
        damaged += state == SLOT_DAMAGED;
    }
    if (damaged > 0 || count * 10 > h.slots * 9) {
        *why = damaged > 0 ? "damaged (a slot fails its check)" : "damaged (overfull)";
        unmap(&d->t);
        return SCITT_ECORRUPT;
    }
    d->count = count;
    d->synced = h.synced_size;
    d->indexed = h.synced_size;
    return 0;
}

int scitt_entryidx_open(scitt_entryidx_t **out, const char *path, const uint8_t id[SCITT_ENTRYIDX_ID_LEN],
                        uint64_t num_entries, bool nosync, uint64_t *out_from, const char **why)
{
    scitt_entryidx_t *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return SCITT_ENOMEM;
    }
    size_t n = strlen(path);
    d->path = strdup(path);
    d->tmp_path = malloc(n + 5);
    if (d->path == NULL || d->tmp_path == NULL) {
        free(d->path);
        free(d->tmp_path);
        free(d);
        return SCITT_ENOMEM;
    }
    memcpy(d->tmp_path, path, n);
    memcpy(d->tmp_path + n, ".tmp", 5);
    memcpy(d->id, id, sizeof(d->id));
    d->nosync = nosync;
    d->t.fd = -1;
    pthread_once(&crc_once, crc_init);
    pthread_rwlock_init(&d->lock, NULL);
    pthread_mutex_init(&d->sync_lock, NULL);
    pthread_mutex_init(&d->wake_lock, NULL);
    scitt_cond_init(&d->wake);
    *why = NULL;
    int rc = load(d, num_entries, why);
    if (rc != 0) {
        /* Rebuild from scratch: the caller re-inserts every entry. */
        rc = create_table(d, d->tmp_path, slots_for(num_entries), &d->t);
        if (rc == 0 && rename(d->tmp_path, d->path) != 0) {
            rc = -errno;
            unmap(&d->t);
        }
        d->count = d->synced = d->indexed = 0;
        if (rc != 0) {
            *why = "cannot create the entry index file";
            scitt_entryidx_close(d);
            return rc;
        }
    }
    *out_from = d->synced;
    *out = d;
    return 0;
}

/* grow moves the table into a new file with room for `need` entries at
 * load <= 0.5. Writer thread, no lock held: lookups use the old table
 * until the swap. */
static int grow(scitt_entryidx_t *d, uint64_t need)
{
    table_t nt, old = d->t;
    uint64_t slots = old.mask + 1;
    while (slots < MAX_SLOTS && need * 2 > slots) {
        slots *= 2;
    }
    if (slots == old.mask + 1) {
        return SCITT_ENOSPC;
    }
    int rc = create_table(d, d->tmp_path, slots, &nt);
    if (rc != 0) {
        return rc;
    }
    uint64_t count = 0, pos = 0;
    for (uint64_t i = 0; rc == 0 && i <= old.mask; i++) {
        int state = slot_state(&old.slots[i], &pos);
        if (state == SLOT_FULL) {
            count += (uint64_t)put(&nt, old.slots[i].tag, pos);
        }
        /* The entry of a damaged slot is unknown: copying the rest would
         * lose it for good (the new file passes every check). */
        rc = state == SLOT_DAMAGED ? SCITT_ECORRUPT : 0;
    }
    if (rc != 0) {
        unmap(&nt);
        unlink(d->tmp_path);
        return rc;
    }
    pthread_mutex_lock(&d->sync_lock);
    if (rename(d->tmp_path, d->path) != 0) {
        rc = -errno;
        pthread_mutex_unlock(&d->sync_lock);
        unmap(&nt);
        unlink(d->tmp_path);
        return rc;
    }
    d->synced = 0; /* the file at `path` is the new one: nothing of it is durable yet */
    pthread_rwlock_wrlock(&d->lock);
    d->t = nt;
    d->count = count;
    pthread_rwlock_unlock(&d->lock);
    pthread_mutex_unlock(&d->sync_lock);
    unmap(&old);
    pthread_mutex_lock(&d->wake_lock);
    d->kick = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->wake_lock);
    return 0;
}

int scitt_entryidx_insert(scitt_entryidx_t *d, uint64_t first, const uint8_t (*hashes)[32], size_t n)
{
    if (first > d->indexed) {
        return SCITT_EINVAL; /* entries [indexed, first) would be missing */
    }
    if (n == 0) {
        return 0;
    }
    uint64_t need = d->count + n;
    if (need * 10 > (d->t.mask + 1) * 7) {
        int rc = grow(d, need);
        if (rc == SCITT_ECORRUPT || (rc != 0 && need * 10 > (d->t.mask + 1) * 9)) {
            if (d->err == 0) {
                fprintf(stderr, "scittd: store: the entry index cannot grow (%s); lookups fail until %s\n",
                        scitt_strerror(rc), rc == SCITT_ECORRUPT ? "a restart rebuilds it" : "it can (retried)");
            }
            pthread_rwlock_wrlock(&d->lock);
            d->err = rc;
            pthread_rwlock_unlock(&d->lock);
            return rc;
        }
    }
    pthread_rwlock_wrlock(&d->lock);
    for (size_t i = 0; i < n; i++) {
        /* Random slots: start the cache miss of a later insert now. */
        if (i + 8 < n) {
            __builtin_prefetch(&d->t.slots[tag_of(hashes[i + 8]) & d->t.mask], 1);
        }
        d->count += (uint64_t)put(&d->t, tag_of(hashes[i]), first + i + 1);
    }
    if (first + n > d->indexed) {
        d->indexed = first + n;
    }
    pthread_rwlock_unlock(&d->lock);
    return 0;
}

bool scitt_entryidx_broken(const scitt_entryidx_t *d, uint64_t *out_indexed)
{
    *out_indexed = d->indexed;
    return d->err != 0;
}

bool scitt_entryidx_damaged(const scitt_entryidx_t *d)
{
    return d->err == SCITT_ECORRUPT;
}

void scitt_entryidx_mended(scitt_entryidx_t *d)
{
    if (d->err != 0) {
        fprintf(stderr, "scittd: store: the entry index holds every entry again; lookups resume\n");
        pthread_rwlock_wrlock(&d->lock);
        d->err = 0;
        pthread_rwlock_unlock(&d->lock);
    }
}

int scitt_entryidx_find(scitt_entryidx_t *d, const uint8_t hash[32], scitt_entryidx_confirm_fn confirm, void *ctx,
                        uint64_t *out_index)
{
    uint64_t tag = tag_of(hash);
    pthread_rwlock_rdlock(&d->lock);
    int rc = d->err != 0 ? d->err : SCITT_ENOTFOUND;
    const table_t *t = &d->t;
    bool damaged = false;
    for (uint64_t i = tag & t->mask, n = 0; rc == SCITT_ENOTFOUND && n <= t->mask; i = (i + 1) & t->mask, n++) {
        uint64_t pos = 0;
        int state = slot_state(&t->slots[i], &pos);
        if (state == SLOT_EMPTY) {
            break;
        }
        /* A damaged slot may have held this entry: keep looking for it,
         * but a miss is not a miss any more. */
        damaged = damaged || state == SLOT_DAMAGED;
        if (state == SLOT_FULL && t->slots[i].tag == tag && confirm(ctx, pos - 1, hash)) {
            *out_index = pos - 1;
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&d->lock);
    if (rc == SCITT_ENOTFOUND && damaged) {
        if (!atomic_exchange(&d->damage_logged, true)) {
            fprintf(stderr,
                    "scittd: store: a slot of the entry index %s fails its check: lookups through it fail "
                    "until a restart rebuilds the index\n",
                    d->path);
        }
        rc = SCITT_ECORRUPT;
    }
    return rc;
}

/* sync_table makes entries [0, indexed) durable in the file and records it
 * in the header, when `want` says it is worth it given how much is unsynced. */
/* msync_paced writes the slots back SYNC_CHUNK bytes at a time with a short
 * pause between chunks (pace), so the disk queue never holds more than one
 * chunk of this derived table ahead of the sequencer's fsyncs: one msync of
 * a table of hundreds of MiB with random dirty pages queued that much
 * writeback at once and stalled LMDB commits for 100-300 ms. */
static int msync_paced(uint8_t *base, size_t len, bool pace)
{
    for (size_t off = 0; off < len; off += SYNC_CHUNK) {
        size_t n = len - off < SYNC_CHUNK ? len - off : SYNC_CHUNK;
        if (msync(base + off, n, MS_SYNC) != 0) {
            return -errno;
        }
        if (pace) {
            nanosleep(&(struct timespec){0, SYNC_PAUSE_NS}, NULL);
        }
    }
    return 0;
}

static int sync_table(scitt_entryidx_t *d, bool (*want)(uint64_t unsynced, uint64_t slots, void *), void *arg,
                      bool pace, bool *out_did)
{
    pthread_mutex_lock(&d->sync_lock);
    pthread_rwlock_rdlock(&d->lock);
    uint64_t upto = d->indexed, count = d->count;
    table_t t = d->t;
    bool broken = d->err != 0;
    pthread_rwlock_unlock(&d->lock);
    int rc = 0;
    uint64_t unsynced = upto >= d->synced ? upto - d->synced : upto;
    *out_did = false;
    if (!broken && want(unsynced, t.mask + 1, arg)) {
        if (!d->nosync) {
            rc = msync_paced(t.map + HDR_LEN, t.map_len - HDR_LEN, pace);
        }
        if (rc == 0) {
            hdr_t *h = (hdr_t *)t.map;
            h->count = count;
            h->synced_size = upto;
            h->check = scitt_entryidx_hdr_check(h);
            if (!d->nosync && msync(t.map, HDR_LEN, MS_SYNC) != 0) {
                rc = -errno;
            }
        }
        if (rc == 0) {
            d->synced = upto;
            *out_did = true;
        }
    }
    pthread_mutex_unlock(&d->sync_lock);
    return rc;
}

static bool want_any(uint64_t unsynced, uint64_t slots, void *arg)
{
    (void)slots;
    (void)arg;
    return unsynced > 0;
}

/* want_periodic: a batch of at least 1/8 of the slots (each sync writes up
 * to the whole table, so a large table syncs less often), after a growth,
 * or anything older than SYNC_MAX_AGE_S. */
static bool want_periodic(uint64_t unsynced, uint64_t slots, void *arg)
{
    const bool *urgent = arg;
    uint64_t threshold = slots / 8 > 4096 ? slots / 8 : 4096;
    return unsynced > 0 && (*urgent || unsynced >= threshold);
}

static void *syncer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "index-sync");
    scitt_entryidx_t *d = arg;
    struct timespec last;
    clock_gettime(CLOCK_MONOTONIC, &last);
    pthread_mutex_lock(&d->wake_lock);
    while (!d->stop) {
        struct timespec ts;
        scitt_deadline(&ts, SYNC_POLL_S * 1000000000ull);
        if (!d->kick) {
            pthread_cond_timedwait(&d->wake, &d->wake_lock, &ts);
        }
        if (d->stop) {
            break;
        }
        bool urgent = d->kick;
        d->kick = false;
        pthread_mutex_unlock(&d->wake_lock);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        urgent = urgent || now.tv_sec - last.tv_sec >= SYNC_MAX_AGE_S;
        bool did;
        int rc = sync_table(d, want_periodic, &urgent, true, &did);
        if (rc != 0) {
            fprintf(stderr, "scittd: store: cannot sync the entry index: %s (retried)\n", scitt_strerror(rc));
        } else if (did) {
            last = now;
        }
        pthread_mutex_lock(&d->wake_lock);
    }
    pthread_mutex_unlock(&d->wake_lock);
    return NULL;
}

int scitt_entryidx_start(scitt_entryidx_t *d)
{
    int rc = -pthread_create(&d->thread, NULL, syncer_main, d);
    d->started = rc == 0;
    return rc;
}

int scitt_entryidx_sync_now(scitt_entryidx_t *d)
{
    bool did;
    return sync_table(d, want_any, NULL, false, &did);
}

void scitt_entryidx_stats(scitt_entryidx_t *d, uint64_t *out_slots, uint64_t *out_count, uint64_t *out_synced)
{
    pthread_mutex_lock(&d->sync_lock);
    pthread_rwlock_rdlock(&d->lock);
    *out_slots = d->t.mask + 1;
    *out_count = d->count;
    *out_synced = d->synced;
    pthread_rwlock_unlock(&d->lock);
    pthread_mutex_unlock(&d->sync_lock);
}

void scitt_entryidx_close(scitt_entryidx_t *d)
{
    if (d == NULL) {
        return;
    }
    if (d->started) {
        pthread_mutex_lock(&d->wake_lock);
        d->stop = true;
        pthread_cond_signal(&d->wake);
        pthread_mutex_unlock(&d->wake_lock);
        pthread_join(d->thread, NULL);
    }
    if (d->t.map != NULL) {
        bool did;
        int rc = sync_table(d, want_any, NULL, false, &did);
        if (rc != 0) {
            fprintf(stderr, "scittd: store: cannot sync the entry index at close: %s\n", scitt_strerror(rc));
        }
    }
    unmap(&d->t);
    pthread_rwlock_destroy(&d->lock);
    pthread_mutex_destroy(&d->sync_lock);
    pthread_mutex_destroy(&d->wake_lock);
    pthread_cond_destroy(&d->wake);
    free(d->path);
    free(d->tmp_path);
    free(d);
}
