/*
 * mirror.c: the mirror's checks and its store (see mirror.h for the trust
 * model). One sync round:
 *
 *   checkpoint  verify the note with the pinned key; same origin as before
 *   sizes       smaller than trusted, or same size and another root: fork
 *   log tiles   through `logtiles` (a tile reader that fetches the log's
 *               tiles as of the new size): its root must be the new root
 *               (else bad tile), and the roots at the trusted size and at
 *               the entries already held must be ours (else fork)
 *   chunks      bundles and level-0 tiles, then statements, then our own
 *               tiles recomputed from the entries compared with the log's,
 *               then one commit per chunk (entries + our tiles)
 *   head        the new checkpoint as the trusted head
 *
 * The local tree (`tree`) is always restored from the store at the start
 * of a round, so a round that stops half way leaves nothing stale behind.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "scitt/cose.h"
#include "scitt/merkle.h"
#include "scitt/mirror.h"
#include "scitt/note.h"
#include "scitt/receipt.h"
#include "scitt/store.h"

#define CACHE_SLOTS   64
#define MAX_KEYS      16
#define MAX_KEYSET    65536
#define MAX_CONFIG    65536
#define MAX_STATEMENT ((size_t)1 << 30) /* the ceiling of what a log may announce */
#define META_KEYS     "mirror.receipt-keys"
#define META_LIMIT    "mirror.max-statement-bytes"
#define META_ORIGIN   "mirror.origin"
#define META_PENDING  "mirror.pending"
#define VKEY_FILE     "checkpoint.vkey"
#define MAX_PINNED    16

/* A tile as the log serves it for the size being verified. */
typedef struct cached_tile {
    bool used;
    unsigned level;
    uint64_t index;
    scitt_buf_t hashes;
} cached_tile_t;

struct scitt_mirror {
    scitt_mirror_config_t cfg;
    char dir[4096];
    char db_dir[4200];
    scitt_store_t *store;
    /* The pinned checkpoint keys (DIR/checkpoint.vkey, one vkey line each):
     * the first one pinned, then each a key rotation announced (issue 21). */
    scitt_note_verifier_t verifiers[MAX_PINNED];
    size_t num_verifiers;
    scitt_buf_t vkey; /* the pinned lines, '\n' between them, none at the end */

    /* Our state: the trusted head and the entries held (>= head). */
    uint64_t head_size;
    uint8_t head_root[32];
    scitt_buf_t head_note;
    scitt_merkle_t *tree; /* over every entry held */

    /* The round in progress. */
    uint64_t log_size;
    uint8_t log_root[32]; /* the root the log's checkpoint signed at log_size */
    cached_tile_t cache[CACHE_SLOTS];
    int fetch_verdict;     /* set by the log tile reader when a fetch fails */
    bool fetch_missing;    /* and the log answered 404 */
    scitt_buf_t fetch_why; /* and why */
    scitt_buf_t offered;   /* the new checkpoint note */
    size_t max_statement;  /* the largest statement the log can serve (its configuration) */

    /* The log's receipt keys (/.well-known/scitt-keys), fetched once per
     * round when a statement first carries a receipt. */
    bool keys_fetched;
    size_t num_keys; /* keys loaded from `keyset` (empty when the log publishes none) */
    scitt_key_t *keys[MAX_KEYS];
    scitt_span_t kids[MAX_KEYS]; /* into `keyset` */
    scitt_buf_t keyset;
    /* The last tree size whose root was proven against the checkpoint, and
     * the last receipt signature verified (SHA-256 of its protected header,
     * signature and root): the receipts of one batch share both. */
    uint64_t proven_size;
    uint8_t proven_root[32];
    uint8_t signed_memo[32];
    scitt_receipt_t receipt;
    scitt_buf_t scratch;
    /* scitt_mirror_check_root's one-shot check: no store, nothing pinned
     * or kept on disk. */
    bool oneshot;
};

const char *scitt_mirror_verdict_name(int verdict)
{
    switch (verdict) {
    case SCITT_MIRROR_OK:
        return "ok";
    case SCITT_MIRROR_FAILED:
        return "failed";
    case SCITT_MIRROR_BAD_CHECKPOINT:
        return "bad-checkpoint";
    case SCITT_MIRROR_FORK:
        return "fork";
    case SCITT_MIRROR_BAD_TILE:
        return "bad-tile";
    case SCITT_MIRROR_BAD_STATEMENT:
        return "bad-statement";
    case SCITT_MIRROR_ROLLBACK:
        return "rollback";
    case SCITT_MIRROR_BAD_RECEIPT:
        return "bad-receipt";
    case SCITT_MIRROR_UNWITNESSED:
        return "unwitnessed";
    }
    return "unknown";
}

/* say appends a formatted sentence to `msg` and returns `verdict`, for
 * one-line exits. */
static int say(scitt_buf_t *msg, int verdict, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(scitt_buf_t *msg, int verdict, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    scitt_buf_append_str(msg, text);
    return verdict;
}

static void hex32(char out[65], const uint8_t h[32])
{
    scitt_hex_encode(out, h, 32);
}

/* -- Files -- */

static int write_file(const char *path, scitt_span_t data)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        return -errno;
    }
    size_t n = fwrite(data.base, 1, data.len, f);
    int rc = fclose(f);
    return n == data.len && rc == 0 ? 0 : SCITT_EIO;
}

/* evidence keeps what proves an inconsistency: the checkpoints involved,
 * the offending item and the message, in DIR/evidence/<time>-<kind>/. */
static void evidence(scitt_mirror_t *m, int verdict, const char *item_name, scitt_span_t item, scitt_buf_t *msg)
{
    char base[4400], path[4600], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    if (m->oneshot) {
        return;
    }
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(base, sizeof(base), "%s/evidence", m->dir);
    mkdir(base, 0700);
    snprintf(base, sizeof(base), "%s/evidence/%s-%s", m->dir, stamp, scitt_mirror_verdict_name(verdict));
    for (int i = 2; mkdir(base, 0700) != 0 && errno == EEXIST && i < 100; i++) {
        snprintf(base, sizeof(base), "%s/evidence/%s-%s-%d", m->dir, stamp, scitt_mirror_verdict_name(verdict), i);
    }
    if (m->head_note.len > 0) {
        snprintf(path, sizeof(path), "%s/trusted.checkpoint", base);
        write_file(path, scitt_buf_span(&m->head_note));
    }
    scitt_store_read_t *rd;
    if (scitt_store_read_begin(m->store, &rd) == 0) {
        scitt_span_t pending;
        if (scitt_store_get_meta(rd, META_PENDING, &pending) == 0) {
            snprintf(path, sizeof(path), "%s/pending.checkpoint", base);
            write_file(path, pending);
        }
        scitt_store_read_end(rd);
    }
    if (m->offered.len > 0) {
        snprintf(path, sizeof(path), "%s/offered.checkpoint", base);
        write_file(path, scitt_buf_span(&m->offered));
    }
    if (item_name != NULL) {
        snprintf(path, sizeof(path), "%s/%s", base, item_name);
        write_file(path, item);
    }
    snprintf(path, sizeof(path), "%s/report.txt", base);
    scitt_buf_append_str(msg, "\n");
    write_file(path, scitt_buf_span(msg));
    msg->len--;
    say(msg, verdict, "\nevidence kept in %s", base);
}

/* -- Fetching -- */

static void get_init(scitt_mirror_get_t *g, size_t max)
{
    memset(g, 0, sizeof(*g));
    scitt_buf_init(&g->body, NULL, max);
}

/* fetch_one GETs one path into `g` (initialised here; the caller cleans
 * the body up). Returns 0 with g->status set, or the source's error. */
static int fetch_one(scitt_mirror_t *m, scitt_mirror_get_t *g, const char *path, size_t max)
{
    get_init(g, max);
    snprintf(g->path, sizeof(g->path), "%s", path);
    int rc = m->cfg.source->get(m->cfg.source->ud, g, 1);
    return rc != 0 ? rc : g->rc;
}

/* tile_path writes the path of tile (level, index) as of tree size `size`
 * (full or partial) and its width in hashes; false when the tile does not
 * exist at that size. */
static bool tile_path(char *out, size_t cap, bool entries, unsigned level, uint64_t index, uint64_t size,
                      size_t *out_width)
{
    uint64_t level_size = level >= 8 ? 0 : size >> (8 * level);
    if (index >= (level_size + 255) / 256) {
        return false;
    }
    uint64_t w = level_size - index * 256;
    scitt_tile_path_t tp = {.entries = entries, .level = level, .index = index, .width = w >= 256 ? 0 : (unsigned)w};
    size_t len;
    out[0] = '/';
    if (scitt_merkle_tile_path_encode(out + 1, cap - 1, &len, &tp) != 0) {
        return false;
    }
    *out_width = w >= 256 ? 256 : (size_t)w;
    return true;
}

static void cache_clear(scitt_mirror_t *m, bool level0_only)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        cached_tile_t *t = &m->cache[i];
        if (t->used && (!level0_only || t->level == 0)) {
            scitt_buf_cleanup(&t->hashes);
            t->used = false;
        }
    }
}

static cached_tile_t *cache_find(scitt_mirror_t *m, unsigned level, uint64_t index)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (m->cache[i].used && m->cache[i].level == level && m->cache[i].index == index) {
            return &m->cache[i];
        }
    }
    return NULL;
}

/* cache_put takes over `hashes` (its storage moves into the cache). */
static void cache_put(scitt_mirror_t *m, unsigned level, uint64_t index, scitt_buf_t *hashes)
{
    cached_tile_t *slot = NULL;
    for (int pass = 0; slot == NULL && pass < 3; pass++) {
        for (size_t i = 0; slot == NULL && i < CACHE_SLOTS; i++) {
            slot = m->cache[i].used ? NULL : &m->cache[i];
        }
        if (slot == NULL) {
            cache_clear(m, pass == 0); /* level-0 tiles first: they are only needed once */
        }
    }
    slot->used = true;
    slot->level = level;
    slot->index = index;
    slot->hashes = *hashes;
    scitt_buf_init(hashes, NULL, 0);
}

/* keys_clear forgets the receipt keys and what they verified (each round
 * fetches them anew). */
static void keys_clear(scitt_mirror_t *m)
{
    for (size_t i = 0; i < m->num_keys; i++) {
        scitt_key_free(m->keys[i]);
    }
    m->num_keys = 0;
    m->keys_fetched = false;
    m->proven_size = 0;
    memset(m->signed_memo, 0, sizeof(m->signed_memo));
}

/* check_tile_body checks that a fetched tile has the width its path says. */
static int check_tile_body(scitt_mirror_t *m, const scitt_mirror_get_t *g, size_t width)
{
    m->fetch_missing = g->status == 404;
    if (g->status != 200) {
        scitt_buf_reset(&m->fetch_why);
        say(&m->fetch_why, 0, "the log does not serve %s (HTTP %d)", g->path, g->status);
        m->fetch_verdict = SCITT_MIRROR_FAILED;
        return SCITT_ENOTFOUND;
    }
    if (g->body.len != width * 32) {
        scitt_buf_reset(&m->fetch_why);
        say(&m->fetch_why, 0, "the log serves %s with %zu bytes, not %zu", g->path, g->body.len, width * 32);
        m->fetch_verdict = SCITT_MIRROR_BAD_TILE;
        return SCITT_ECORRUPT;
    }
    return 0;
}

/* logtiles_read is the tile reader over the log's tiles at m->log_size. */
static int logtiles_read(void *ud, unsigned level, uint64_t index, const uint8_t **out_hashes, size_t *out_width)
{
    scitt_mirror_t *m = ud;
    cached_tile_t *t = cache_find(m, level, index);
    if (t == NULL) {
        char path[SCITT_MERKLE_TILE_PATH_MAX + 2];
        size_t width;
        if (!tile_path(path, sizeof(path), false, level, index, m->log_size, &width)) {
            return SCITT_ENOTFOUND;
        }
        scitt_mirror_get_t g;
        int rc = fetch_one(m, &g, path, 256 * 32);
        if (rc != 0) {
            scitt_buf_reset(&m->fetch_why);
            say(&m->fetch_why, 0, "cannot fetch %s: %s", path, scitt_strerror(rc));
            m->fetch_verdict = SCITT_MIRROR_FAILED;
        } else {
            rc = check_tile_body(m, &g, width);
        }
        if (rc == 0) {
            cache_put(m, level, index, &g.body);
            t = cache_find(m, level, index);
        }
        scitt_buf_cleanup(&g.body);
        if (rc != 0) {
            return rc;
        }
    }
    *out_hashes = t->hashes.base;
    *out_width = t->hashes.len / 32;
    return 0;
}

/* log_root computes the root at `size` from the log's tiles. On failure it
 * returns the verdict and says why in `msg`. */
static int log_root(scitt_mirror_t *m, uint64_t size, uint8_t out[32], scitt_buf_t *msg)
{
    scitt_tile_reader_t rd = {logtiles_read, m, NULL};
    m->fetch_verdict = 0;
    int rc = scitt_merkle_root_at(NULL, &rd, size, out);
    if (rc == 0) {
        return SCITT_MIRROR_OK;
    }
    if (m->fetch_verdict != 0) {
        say(msg, m->fetch_verdict, "%.*s", (int)m->fetch_why.len, (const char *)m->fetch_why.base);
        return m->fetch_verdict;
    }
    return say(msg, SCITT_MIRROR_BAD_TILE, "the log's tiles cannot give a root for size %llu: %s",
               (unsigned long long)size, scitt_strerror(rc));
}

/* -- The store -- */

static int store_read_tile(void *ud, unsigned level, uint64_t index, const uint8_t **out_hashes, size_t *out_width)
{
    return scitt_store_get_tile(ud, level, index, out_hashes, out_width);
}

/* count_entries finds how many entries the store holds: entries are
 * appended in index order, so it is the first absent index (exponential
 * then binary search). */
static int count_entries(scitt_store_read_t *rd, uint64_t *out)
{
    scitt_span_t v;
    uint64_t lo = 0, hi = 1; /* entries [0, lo) exist; index hi-1 is unknown */
    int rc;
    while ((rc = scitt_store_get_entry(rd, hi - 1, &v)) == 0) {
        lo = hi;
        hi = hi * 2;
    }
    if (rc != SCITT_ENOTFOUND) {
        return rc;
    }
    hi = hi - 1; /* absent */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        rc = scitt_store_get_entry(rd, mid, &v);
        if (rc == 0) {
            lo = mid + 1;
        } else if (rc == SCITT_ENOTFOUND) {
            hi = mid;
        } else {
            return rc;
        }
    }
    *out = lo;
    return 0;
}

/* load_state reads the trusted head and rebuilds the tree over every entry
 * held from our own tiles. */
static int load_state(scitt_mirror_t *m, scitt_buf_t *msg)
{
    scitt_store_read_t *rd;
    int rc = scitt_store_read_begin(m->store, &rd);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot read the mirror's store: %s", scitt_strerror(rc));
    }
    scitt_store_head_t head;
    uint64_t held = 0;
    m->head_size = 0;
    scitt_buf_reset(&m->head_note);
    scitt_merkle_empty_root(m->head_root);
    rc = scitt_store_get_latest_head(rd, &head);
    if (rc == 0) {
        m->head_size = head.size;
        memcpy(m->head_root, head.root, 32);
        rc = scitt_buf_append(&m->head_note, head.checkpoint.base, head.checkpoint.len);
    } else if (rc == SCITT_ENOTFOUND) {
        rc = 0;
    }
    rc = rc != 0 ? rc : count_entries(rd, &held);
    scitt_tile_reader_t tr = {store_read_tile, rd, NULL};
    rc = rc != 0 ? rc : scitt_merkle_restore(m->tree, &tr, held);
    scitt_store_read_end(rd);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "the mirror's store is damaged: %s", scitt_strerror(rc));
    }
    uint8_t root[32];
    if (held == m->head_size) {
        scitt_merkle_root(m->tree, root);
        if (memcmp(root, m->head_root, 32) != 0) {
            return say(msg, SCITT_MIRROR_FAILED, "the mirror's store is damaged: its tiles do not give its head");
        }
    }
    if (held < m->head_size) {
        return say(msg, SCITT_MIRROR_FAILED, "the mirror's store is damaged: fewer entries than its head");
    }
    return SCITT_MIRROR_OK;
}

/* -- Opening -- */

/* has_line: `line` is one of the '\n'-separated lines of `text`. */
static bool has_line(scitt_span_t text, scitt_span_t line)
{
    for (size_t at = 0; at <= text.len;) {
        const uint8_t *nl = memchr(text.base + at, '\n', text.len - at);
        size_t end = nl != NULL ? (size_t)(nl - text.base) : text.len;
        if (scitt_span_eq(scitt_span(text.base + at, end - at), line)) {
            return true;
        }
        at = end + 1;
    }
    return false;
}

/* write_pinned replaces DIR/checkpoint.vkey with the pinned lines. */
static int write_pinned(scitt_mirror_t *m)
{
    int rc = scitt_buf_append_byte(&m->vkey, '\n');
    if (rc == 0) {
        rc = scitt_write_file_atomic(m->dir, VKEY_FILE, scitt_buf_span(&m->vkey), 0644);
        m->vkey.len--;
    }
    return rc;
}

static int pin_vkey(scitt_mirror_t *m, scitt_buf_t *msg)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", m->dir, VKEY_FILE);
    scitt_buf_t pinned;
    scitt_buf_init(&pinned, NULL, 4096);
    int rc = m->oneshot ? SCITT_ENOTFOUND : scitt_read_file(path, &pinned);
    bool was_pinned = rc == 0 || m->oneshot;
    while (pinned.len > 0 && (pinned.base[pinned.len - 1] == '\n' || pinned.base[pinned.len - 1] == '\r')) {
        pinned.len--;
    }
    int verdict = SCITT_MIRROR_OK;
    if (rc == 0 && m->cfg.vkey != NULL && !has_line(scitt_buf_span(&pinned), scitt_span_str(m->cfg.vkey))) {
        verdict =
            say(msg, SCITT_MIRROR_BAD_CHECKPOINT, "the --vkey given (%s) differs from the one pinned in %s (%.*s)",
                m->cfg.vkey, path, (int)pinned.len, (const char *)pinned.base);
    } else if (rc == 0) {
        scitt_buf_append(&m->vkey, pinned.base, pinned.len);
    } else if (m->cfg.vkey != NULL) {
        scitt_buf_append_str(&m->vkey, m->cfg.vkey);
    } else {
        /* First contact and no key given: trust what the log publishes, and
         * pin it so that every later round holds the log to it. */
        scitt_mirror_get_t g;
        rc = fetch_one(m, &g, "/checkpoint.vkey", 4096);
        if (rc != 0 || g.status != 200) {
            verdict = say(msg, SCITT_MIRROR_FAILED, "cannot fetch /checkpoint.vkey (%s, HTTP %d); give --vkey",
                          scitt_strerror(rc), g.status);
        } else {
            scitt_buf_append(&m->vkey, g.body.base, g.body.len);
            while (m->vkey.len > 0 && m->vkey.base[m->vkey.len - 1] == '\n') {
                m->vkey.len--;
            }
        }
        scitt_buf_cleanup(&g.body);
    }
    scitt_buf_cleanup(&pinned);
    if (verdict != SCITT_MIRROR_OK) {
        return verdict;
    }
    for (size_t at = 0; at < m->vkey.len;) {
        const uint8_t *nl = memchr(m->vkey.base + at, '\n', m->vkey.len - at);
        size_t end = nl != NULL ? (size_t)(nl - m->vkey.base) : m->vkey.len;
        if (m->num_verifiers == MAX_PINNED ||
            scitt_note_verifier_parse(&m->verifiers[m->num_verifiers], (const char *)m->vkey.base + at, end - at) !=
                0) {
            return say(msg, SCITT_MIRROR_BAD_CHECKPOINT, "not a signed-note vkey: %.*s", (int)(end - at),
                       (const char *)m->vkey.base + at);
        }
        m->num_verifiers++;
        at = end + 1;
    }
    if (m->num_verifiers == 0) {
        return say(msg, SCITT_MIRROR_BAD_CHECKPOINT, "no signed-note vkey pinned or given");
    }
    if (!was_pinned) {
        /* Atomically: a torn pin would fail every later round. */
        rc = write_pinned(m);
        if (rc != 0) {
            return say(msg, SCITT_MIRROR_FAILED, "cannot write %s: %s", path, scitt_strerror(rc));
        }
    }
    return SCITT_MIRROR_OK;
}

void scitt_mirror_entry_hash(uint8_t out[32], const uint8_t *stored, size_t len)
{
    /* The mirror keeps transparent statements (receipts under 394); the
     * log's entry is the hash of the statement with an empty unprotected
     * header, which scitt_cose_entry computes from either form. */
    scitt_cose_sign1_t s;
    if (scitt_cose_sign1_decode_stored(&s, stored, len) == 0) {
        scitt_cose_entry(&s, out);
    } else {
        scitt_sha256(out, stored, len); /* cannot happen: only verified statements are stored */
    }
}

int scitt_mirror_published(scitt_store_t *store, size_t *out_max_statement, scitt_buf_t *keyset)
{
    uint64_t n = SCITT_COSE_DEFAULT_MAX_LEN;
    scitt_store_read_t *rd;
    scitt_span_t v;
    int rc = scitt_store_read_begin(store, &rd);
    if (rc != 0) {
        return rc;
    }
    if (scitt_store_get_meta(rd, META_LIMIT, &v) != 0 || scitt_parse_u64((const char *)v.base, v.len, &n) != 0 ||
        n == 0 || n > MAX_STATEMENT) {
        n = SCITT_COSE_DEFAULT_MAX_LEN;
    }
    if (scitt_store_get_meta(rd, META_KEYS, &v) == 0) {
        rc = scitt_buf_append(keyset, v.base, v.len);
    }
    scitt_store_read_end(rd);
    *out_max_statement = (size_t)n;
    return rc;
}

scitt_store_t *scitt_mirror_store(scitt_mirror_t *m)
{
    return m->store;
}

/* mirror_new allocates a mirror with its buffers and nothing opened. */
static scitt_mirror_t *mirror_new(const scitt_mirror_config_t *cfg)
{
    scitt_mirror_t *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    m->cfg = *cfg;
    if (m->cfg.chunk_entries == 0) {
        m->cfg.chunk_entries = 1024;
    }
    if (m->cfg.chunk_entries > 256 * 255) {
        m->cfg.chunk_entries = 256 * 255; /* chunk_entries keeps widths for 2 x 256 tiles */
    }
    snprintf(m->dir, sizeof(m->dir), "%s", cfg->dir);
    snprintf(m->db_dir, sizeof(m->db_dir), "%s/db", cfg->dir);
    scitt_buf_init(&m->vkey, NULL, 4096);
    scitt_buf_init(&m->head_note, NULL, 0);
    scitt_buf_init(&m->fetch_why, NULL, 0);
    scitt_buf_init(&m->offered, NULL, SCITT_NOTE_MAX_LEN);
    scitt_buf_init(&m->keyset, NULL, MAX_KEYSET);
    scitt_buf_init(&m->scratch, NULL, 0);
    return m;
}

int scitt_mirror_open(scitt_mirror_t **out, const scitt_mirror_config_t *cfg, scitt_buf_t *msg)
{
    scitt_mirror_t *m = mirror_new(cfg);
    if (m == NULL) {
        return say(msg, SCITT_MIRROR_FAILED, "out of memory");
    }
    int verdict = SCITT_MIRROR_OK;
    const char *why = NULL;
    if (mkdir(m->dir, 0700) != 0 && errno != EEXIST) {
        verdict = say(msg, SCITT_MIRROR_FAILED, "cannot create %s: %s", m->dir, strerror(errno));
    }
    scitt_store_config_t sc = {.dir = m->db_dir, .entry_hash = scitt_mirror_entry_hash};
    int rc = verdict == 0 ? scitt_store_open(&m->store, &sc, &why) : 0;
    if (rc != 0) {
        verdict = say(msg, SCITT_MIRROR_FAILED, "cannot open the mirror's store in %s: %s", m->db_dir,
                      why != NULL ? why : scitt_strerror(rc));
    }
    if (verdict == 0 && scitt_merkle_new(&m->tree, NULL) != 0) {
        verdict = say(msg, SCITT_MIRROR_FAILED, "out of memory");
    }
    verdict = verdict != 0 ? verdict : pin_vkey(m, msg);
    verdict = verdict != 0 ? verdict : load_state(m, msg);
    if (verdict != 0) {
        scitt_mirror_close(m);
        return verdict;
    }
    *out = m;
    return SCITT_MIRROR_OK;
}

void scitt_mirror_close(scitt_mirror_t *m)
{
    if (m == NULL) {
        return;
    }
    cache_clear(m, false);
    keys_clear(m);
    scitt_buf_cleanup(&m->keyset);
    scitt_buf_cleanup(&m->scratch);
    scitt_merkle_free(m->tree);
    if (m->store != NULL) {
        scitt_store_close(m->store);
    }
    for (size_t i = 0; i < m->num_verifiers; i++) {
        scitt_note_verifier_cleanup(&m->verifiers[i]);
    }
    scitt_buf_cleanup(&m->vkey);
    scitt_buf_cleanup(&m->head_note);
    scitt_buf_cleanup(&m->fetch_why);
    scitt_buf_cleanup(&m->offered);
    free(m);
}

void scitt_mirror_get_status(const scitt_mirror_t *m, scitt_mirror_status_t *out)
{
    out->trusted_size = m->head_size;
    out->entries = scitt_merkle_size(m->tree);
    out->log_size = m->log_size;
}

const char *scitt_mirror_store_dir(const scitt_mirror_t *m)
{
    return m->db_dir;
}

/* prove_prefix checks that `root` is the root of the first `size` entries
 * of the checkpoint's tree: the signed root itself at the checkpoint's
 * size, else a consistency proof (from the log's tiles) to the signed root. */
static int prove_prefix(scitt_mirror_t *m, uint64_t size, const uint8_t root[32], scitt_buf_t *msg)
{
    if (size == m->log_size) {
        if (memcmp(root, m->log_root, 32) != 0) {
            return say(msg, SCITT_MIRROR_BAD_TILE, "the entries up to %llu do not give the checkpoint's root",
                       (unsigned long long)size);
        }
        return SCITT_MIRROR_OK;
    }
    scitt_tile_reader_t rd = {logtiles_read, m, NULL};
    uint8_t proof[SCITT_MERKLE_MAX_PROOF][32];
    size_t proof_len;
    m->fetch_verdict = 0;
    int rc = scitt_merkle_consistency_proof(NULL, &rd, size, m->log_size, proof, &proof_len);
    if (rc != 0) {
        return say(msg, m->fetch_verdict != 0 ? m->fetch_verdict : SCITT_MIRROR_FAILED,
                   "cannot prove entries up to %llu against the checkpoint: %s", (unsigned long long)size,
                   scitt_strerror(rc));
    }
    if (scitt_merkle_verify_consistency(size, m->log_size, root, m->log_root, (const uint8_t(*)[32])proof, proof_len) !=
        0) {
        say(msg, SCITT_MIRROR_BAD_TILE,
            "the log's tiles do not prove that its first %llu entries are in the checkpoint it signed",
            (unsigned long long)size);
        evidence(m, SCITT_MIRROR_BAD_TILE, NULL, scitt_span(NULL, 0), msg);
        return SCITT_MIRROR_BAD_TILE;
    }
    return SCITT_MIRROR_OK;
}

/* keep_published stores what the log publishes (its limit, its receipt
 * keys) in the store's meta when it changed, for --serve to publish. */
static int keep_published(scitt_mirror_t *m, const char *key, scitt_span_t value, scitt_buf_t *msg)
{
    scitt_store_read_t *rd;
    scitt_span_t held;
    bool same = false;
    if (scitt_store_read_begin(m->store, &rd) == 0) {
        same = scitt_store_get_meta(rd, key, &held) == 0 && scitt_span_eq(held, value);
        scitt_store_read_end(rd);
    }
    if (!same && scitt_store_meta_put(m->store, key, value) != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot write the mirror's store");
    }
    return SCITT_MIRROR_OK;
}

/* -- Receipts -- */

/* fetch_keys reads the log's COSE_KeySet. A log that publishes none (404)
 * leaves `keyset` empty: receipts are then checked against the log's roots
 * only, and the round ends with a warning. */
static int fetch_keys(scitt_mirror_t *m, scitt_buf_t *msg)
{
    scitt_mirror_get_t g;
    int rc = fetch_one(m, &g, "/.well-known/scitt-keys", MAX_KEYSET);
    m->keys_fetched = true;
    scitt_buf_reset(&m->keyset);
    int verdict = SCITT_MIRROR_OK;
    if (rc != 0 || (g.status != 200 && g.status != 404)) {
        verdict = say(msg, SCITT_MIRROR_FAILED, "cannot fetch /.well-known/scitt-keys: %s (HTTP %d)",
                      scitt_strerror(rc), g.status);
    } else if (g.status == 200 && scitt_buf_append(&m->keyset, g.body.base, g.body.len) != 0) {
        verdict = say(msg, SCITT_MIRROR_FAILED, "out of memory");
    }
    scitt_buf_cleanup(&g.body);
    scitt_cose_key_t parsed[MAX_KEYS];
    size_t num = 0;
    const char *why = NULL;
    if (verdict == SCITT_MIRROR_OK && m->keyset.len > 0 &&
        (rc = scitt_cose_keyset_parse(parsed, MAX_KEYS, &num, m->keyset.base, m->keyset.len, &why)) != 0) {
        verdict = say(msg, SCITT_MIRROR_BAD_RECEIPT, "the log's /.well-known/scitt-keys is not a COSE_KeySet: %s",
                      why != NULL ? why : scitt_strerror(rc));
    }
    for (size_t i = 0; verdict == SCITT_MIRROR_OK && i < num; i++) {
        if (scitt_cose_key_load(&m->keys[m->num_keys], &parsed[i]) != 0) {
            verdict =
                say(msg, SCITT_MIRROR_BAD_RECEIPT, "key %zu of the log's /.well-known/scitt-keys is not usable", i + 1);
        } else {
            m->kids[m->num_keys++] = parsed[i].kid;
        }
    }
    if (verdict == SCITT_MIRROR_OK && m->keyset.len > 0) {
        verdict = keep_published(m, META_KEYS, scitt_buf_span(&m->keyset), msg);
    }
    return verdict;
}

static const scitt_key_t *find_key(const scitt_mirror_t *m, scitt_span_t kid)
{
    for (size_t i = 0; i < m->num_keys; i++) {
        if (m->kids[i].len == 0 || scitt_span_eq(m->kids[i], kid)) {
            return m->keys[i];
        }
    }
    return NULL;
}

/* proven_root gives the root of the checkpoint's tree at `size`: from the
 * log's tiles, proven consistent with the signed root. */
static int proven_root(scitt_mirror_t *m, uint64_t size, uint8_t out[32], scitt_buf_t *msg)
{
    if (size != m->proven_size || size == 0) {
        int verdict = log_root(m, size, m->proven_root, msg);
        verdict = verdict != SCITT_MIRROR_OK ? verdict : prove_prefix(m, size, m->proven_root, msg);
        if (verdict != SCITT_MIRROR_OK) {
            m->proven_size = 0;
            return verdict;
        }
        m->proven_size = size;
    }
    memcpy(out, m->proven_root, 32);
    return SCITT_MIRROR_OK;
}

/* check_receipt verifies one receipt of the statement at `index`: for that
 * leaf, its inclusion proof leads to the log's root at its tree size (which
 * must not exceed the checkpoint's), and it is signed by one of the log's
 * receipt keys. Returns a verdict, the reason in `msg` without evidence. */
static int check_receipt(scitt_mirror_t *m, scitt_span_t bytes, const uint8_t entry[32], uint64_t index,
                         scitt_buf_t *msg)
{
    scitt_receipt_t *r = &m->receipt;
    const char *why = NULL;
    int rc = scitt_receipt_decode(r, bytes.base, bytes.len, &why);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_BAD_RECEIPT, "it is not a receipt: %s", why != NULL ? why : scitt_strerror(rc));
    }
    if (r->leaf_index != index || r->leaf_index >= r->tree_size || r->tree_size > m->log_size) {
        return say(msg, SCITT_MIRROR_BAD_RECEIPT, "it claims leaf %llu of tree size %llu (the checkpoint's is %llu)",
                   (unsigned long long)r->leaf_index, (unsigned long long)r->tree_size,
                   (unsigned long long)m->log_size);
    }
    uint8_t leaf[32], theirs[32], root[32];
    scitt_merkle_leaf_hash(leaf, entry, 32);
    rc = scitt_merkle_root_from_inclusion(theirs, r->leaf_index, r->tree_size, leaf, (const uint8_t(*)[32])r->path,
                                          r->path_len);
    int verdict = proven_root(m, r->tree_size, root, msg);
    if (verdict != SCITT_MIRROR_OK) {
        return verdict;
    }
    if (rc != 0 || memcmp(theirs, root, 32) != 0) {
        char hex[65];
        hex32(hex, root);
        return say(msg, SCITT_MIRROR_BAD_RECEIPT, "its inclusion proof does not lead to the log's root %s at size %llu",
                   hex, (unsigned long long)r->tree_size);
    }
    if (!m->keys_fetched && (verdict = fetch_keys(m, msg)) != SCITT_MIRROR_OK) {
        return verdict;
    }
    if (m->num_keys == 0 && m->keyset.len == 0) {
        return SCITT_MIRROR_OK; /* no keys published: the roots are all we can check */
    }
    const scitt_key_t *key = find_key(m, r->sign1.prot.kid);
    if (key == NULL) {
        return say(msg, SCITT_MIRROR_BAD_RECEIPT, "no key of the log's /.well-known/scitt-keys has its kid");
    }
    /* One signature covers every receipt of a tree size. */
    uint8_t memo[32];
    scitt_buf_reset(&m->scratch);
    rc = scitt_buf_append(&m->scratch, r->sign1.protected_item.base, r->sign1.protected_item.len);
    rc = rc != 0 ? rc : scitt_buf_append(&m->scratch, r->sign1.signature_item.base, r->sign1.signature_item.len);
    rc = rc != 0 ? rc : scitt_buf_append(&m->scratch, root, 32);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "out of memory");
    }
    scitt_sha256(memo, m->scratch.base, m->scratch.len);
    if (r->num_proofs == 1 && r->sign1.detached && memcmp(memo, m->signed_memo, 32) == 0) {
        return SCITT_MIRROR_OK;
    }
    rc = scitt_receipt_verify(r, entry, key, NULL, &m->scratch, &why);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_BAD_RECEIPT, "it does not verify with the log's key: %s",
                   why != NULL ? why : scitt_strerror(rc));
    }
    memcpy(m->signed_memo, memo, 32);
    return SCITT_MIRROR_OK;
}

/* check_receipts verifies every receipt a statement carries (header 394);
 * a failure is evidence, with the statement. */
static int check_receipts(scitt_mirror_t *m, const scitt_cose_sign1_t *s, uint64_t index, const scitt_mirror_get_t *g,
                          scitt_buf_t *msg)
{
    uint8_t entry[32];
    const scitt_span_t *receipts;
    size_t num;
    scitt_receipt_split(s, entry, &receipts, &num);
    for (size_t i = 0; i < num; i++) {
        size_t mark = msg->len;
        say(msg, 0, "entry %llu: receipt %zu of the statement at %s: ", (unsigned long long)index, i + 1, g->path);
        int verdict = check_receipt(m, receipts[i], entry, index, msg);
        if (verdict == SCITT_MIRROR_BAD_RECEIPT) {
            evidence(m, verdict, "statement", scitt_buf_span(&g->body), msg);
        }
        if (verdict != SCITT_MIRROR_OK) {
            return verdict;
        }
        msg->len = mark;
    }
    return SCITT_MIRROR_OK;
}

/* -- One chunk of entries -- */

/* chunk_t holds the fetched material of entries [first, end). */
typedef struct chunk {
    uint64_t first, end;
    uint64_t first_tile;
    size_t num_tiles;
    scitt_mirror_get_t *tiles; /* level-0 tiles, then bundles: 2 * num_tiles */
    scitt_mirror_get_t *stmts; /* end - first statements */
    uint8_t (*entries)[32];    /* end - first entries */
    uint8_t (*leaves)[32];
    scitt_span_t *stored;
} chunk_t;

static void chunk_free(chunk_t *c)
{
    for (size_t i = 0; c->tiles != NULL && i < 2 * c->num_tiles; i++) {
        scitt_buf_cleanup(&c->tiles[i].body);
    }
    for (uint64_t i = 0; c->stmts != NULL && i < c->end - c->first; i++) {
        scitt_buf_cleanup(&c->stmts[i].body);
    }
    free(c->tiles);
    free(c->stmts);
    free(c->entries);
    free(c->leaves);
    free(c->stored);
}

/* chunk_entries fetches the level-0 tiles and entry bundles of the chunk,
 * checks every bundle entry against the tile, and extracts the entries. */
static int chunk_entries(scitt_mirror_t *m, chunk_t *c, scitt_buf_t *msg)
{
    size_t nt = c->num_tiles, widths[2 * 256];
    for (size_t i = 0; i < 2 * nt; i++) {
        get_init(&c->tiles[i], 256 * (2 + 65535));
        tile_path(c->tiles[i].path, sizeof(c->tiles[i].path), i >= nt, 0, c->first_tile + i % nt, m->log_size,
                  &widths[i]);
    }
    int rc = m->cfg.source->get(m->cfg.source->ud, c->tiles, 2 * nt);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot fetch tiles: %s", scitt_strerror(rc));
    }
    for (size_t i = 0; i < nt; i++) {
        scitt_mirror_get_t *tile = &c->tiles[i], *bundle = &c->tiles[nt + i];
        m->fetch_verdict = 0;
        if (check_tile_body(m, tile, widths[i]) != 0) {
            if (m->fetch_verdict == SCITT_MIRROR_BAD_TILE) {
                say(msg, SCITT_MIRROR_BAD_TILE, "%.*s", (int)m->fetch_why.len, (const char *)m->fetch_why.base);
                evidence(m, SCITT_MIRROR_BAD_TILE, "tile", scitt_buf_span(&tile->body), msg);
            } else {
                say(msg, m->fetch_verdict, "%.*s", (int)m->fetch_why.len, (const char *)m->fetch_why.base);
            }
            return m->fetch_verdict;
        }
        if (bundle->status != 200) {
            return say(msg, SCITT_MIRROR_FAILED, "the log does not serve %s (HTTP %d)", bundle->path, bundle->status);
        }
        scitt_span_t ents[256];
        size_t num;
        uint64_t tile_index = c->first_tile + i;
        if (scitt_merkle_bundle_decode(ents, 256, &num, bundle->body.base, bundle->body.len) != 0 || num != widths[i]) {
            say(msg, SCITT_MIRROR_BAD_TILE, "the entry bundle %s does not hold %zu entries", bundle->path, widths[i]);
            evidence(m, SCITT_MIRROR_BAD_TILE, "bundle", scitt_buf_span(&bundle->body), msg);
            return SCITT_MIRROR_BAD_TILE;
        }
        for (size_t k = 0; k < num; k++) {
            uint64_t index = tile_index * 256 + k;
            if (index < c->first || index >= c->end) {
                continue;
            }
            uint8_t leaf[32];
            char want[65], got[65];
            scitt_merkle_leaf_hash(leaf, ents[k].base, ents[k].len);
            if (ents[k].len != 32 || memcmp(leaf, tile->body.base + 32 * k, 32) != 0) {
                hex32(want, tile->body.base + 32 * k);
                hex32(got, leaf);
                say(msg, SCITT_MIRROR_BAD_TILE,
                    "entry %llu: tile %s holds leaf hash %s, but entry %zu of bundle %s (%zu bytes) hashes to %s",
                    (unsigned long long)index, tile->path, want, k, bundle->path, ents[k].len, got);
                evidence(m, SCITT_MIRROR_BAD_TILE, "tile", scitt_buf_span(&tile->body), msg);
                return SCITT_MIRROR_BAD_TILE;
            }
            memcpy(c->entries[index - c->first], ents[k].base, 32);
            memcpy(c->leaves[index - c->first], leaf, 32);
        }
        /* The level-0 tile is the log's; the reader uses it for comparisons. */
        if (cache_find(m, 0, tile_index) == NULL) {
            scitt_buf_t copy;
            scitt_buf_init(&copy, NULL, 0);
            if (scitt_buf_append(&copy, tile->body.base, tile->body.len) != 0) {
                scitt_buf_cleanup(&copy);
                return say(msg, SCITT_MIRROR_FAILED, "out of memory");
            }
            cache_put(m, 0, tile_index, &copy);
        }
    }
    return SCITT_MIRROR_OK;
}

/* chunk_statements fetches the statement of every entry and checks that
 * it hashes to the entry. */
static int chunk_statements(scitt_mirror_t *m, chunk_t *c, scitt_buf_t *msg)
{
    size_t n = (size_t)(c->end - c->first);
    for (size_t i = 0; i < n; i++) {
        char id[65];
        hex32(id, c->entries[i]);
        get_init(&c->stmts[i], m->max_statement);
        snprintf(c->stmts[i].path, sizeof(c->stmts[i].path), "/entries/%s/statement", id);
    }
    int rc = m->cfg.source->get(m->cfg.source->ud, c->stmts, n);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot fetch statements: %s", scitt_strerror(rc));
    }
    for (size_t i = 0; i < n; i++) {
        scitt_mirror_get_t *g = &c->stmts[i];
        unsigned long long index = (unsigned long long)(c->first + i);
        if (g->status == 404) {
            say(msg, SCITT_MIRROR_BAD_STATEMENT, "entry %llu: the log serves no statement at %s", index, g->path);
            evidence(m, SCITT_MIRROR_BAD_STATEMENT, NULL, scitt_span(NULL, 0), msg);
            return SCITT_MIRROR_BAD_STATEMENT;
        }
        if (g->status != 200) {
            return say(msg, SCITT_MIRROR_FAILED, "GET %s: HTTP %d", g->path, g->status);
        }
        scitt_cose_sign1_t s;
        uint8_t got[32];
        char want_hex[65], got_hex[65];
        /* What the log committed is judged by the rules of any scittd that
         * could have logged it (stored), not by today's registration. */
        rc = g->body.len > m->max_statement ? SCITT_ETOOBIG
                                            : scitt_cose_sign1_decode_stored(&s, g->body.base, g->body.len);
        if (rc == 0) {
            scitt_cose_entry(&s, got);
        }
        if (rc != 0 || memcmp(got, c->entries[i], 32) != 0) {
            hex32(want_hex, c->entries[i]);
            if (rc != 0) {
                say(msg, SCITT_MIRROR_BAD_STATEMENT, "entry %llu: the statement at %s is not a COSE_Sign1 (%s)", index,
                    g->path, scitt_strerror(rc));
            } else {
                hex32(got_hex, got);
                say(msg, SCITT_MIRROR_BAD_STATEMENT,
                    "entry %llu: the statement served at %s hashes to %s, but the log's entry is %s", index, g->path,
                    got_hex, want_hex);
            }
            evidence(m, SCITT_MIRROR_BAD_STATEMENT, "statement", scitt_buf_span(&g->body), msg);
            return SCITT_MIRROR_BAD_STATEMENT;
        }
        int verdict = check_receipts(m, &s, c->first + i, g, msg);
        if (verdict != SCITT_MIRROR_OK) {
            return verdict;
        }
        c->stored[i] = scitt_buf_span(&g->body);
    }
    return SCITT_MIRROR_OK;
}

/* chunk_commit appends the chunk to our tree, compares every tile that
 * changed with the log's, and commits entries and our tiles together. */
static int chunk_commit(scitt_mirror_t *m, chunk_t *c, scitt_buf_t *msg)
{
    const scitt_merkle_tile_t *tiles;
    size_t num_tiles;
    size_t n = (size_t)(c->end - c->first);
    int rc = scitt_merkle_append(m->tree, (const uint8_t(*)[32])c->leaves, n, &tiles, &num_tiles, NULL);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot extend the tree: %s", scitt_strerror(rc));
    }
    scitt_store_tile_t stiles[64];
    if (num_tiles > scitt_countof(stiles)) {
        return say(msg, SCITT_MIRROR_FAILED, "too many tiles changed at once (%zu)", num_tiles);
    }
    scitt_tile_reader_t rd = {logtiles_read, m, NULL};
    for (size_t i = 0; i < num_tiles; i++) {
        const scitt_merkle_tile_t *t = &tiles[i];
        const uint8_t *theirs;
        size_t width;
        m->fetch_verdict = 0;
        rc = rd.read(rd.ud, t->level, t->index, &theirs, &width);
        if (rc != 0) {
            return say(msg, m->fetch_verdict != 0 ? m->fetch_verdict : SCITT_MIRROR_FAILED, "%.*s",
                       (int)m->fetch_why.len, (const char *)m->fetch_why.base);
        }
        for (size_t k = 0; k < t->width; k++) {
            if (k >= width || memcmp(theirs + 32 * k, t->hashes[k], 32) != 0) {
                char want[65] = "(absent)", got[65];
                if (k < width) {
                    hex32(want, theirs + 32 * k);
                }
                hex32(got, t->hashes[k]);
                say(msg, SCITT_MIRROR_BAD_TILE,
                    "tile %u/%llu hash %zu: the log serves %s, but the entries it logged give %s", t->level,
                    (unsigned long long)t->index, k, want, got);
                evidence(m, SCITT_MIRROR_BAD_TILE, "tile", scitt_span(theirs, 32 * width), msg);
                return SCITT_MIRROR_BAD_TILE;
            }
        }
        stiles[i] = (scitt_store_tile_t){t->level, t->index, t->width, t->hashes};
    }
    /* Bind the chunk to the signed root before storing it. Matching the
     * log's tiles is not enough: a level-L tile is tied to the checkpoint
     * only once the tile above it completes, up to 65536 entries later. So
     * the tree we just extended must be a prefix of the checkpoint's tree:
     * a consistency proof (from the log's tiles) from our root at `end` to
     * the signed root, or the signed root itself at the last chunk. */
    uint8_t ours[32];
    scitt_merkle_root(m->tree, ours);
    int verdict = prove_prefix(m, c->end, ours, msg);
    if (verdict != SCITT_MIRROR_OK) {
        return verdict;
    }
    scitt_store_batch_t b = {.first_index = c->first,
                             .num_entries = n,
                             .entries = c->stored,
                             .entry_hashes = (const uint8_t(*)[32])c->entries,
                             .tiles = stiles,
                             .num_tiles = num_tiles};
    rc = scitt_store_commit(m->store, &b);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot store entries %llu..%llu: %s", (unsigned long long)c->first,
                   (unsigned long long)c->end - 1, scitt_strerror(rc));
    }
    return SCITT_MIRROR_OK;
}

static int mirror_chunk(scitt_mirror_t *m, uint64_t first, uint64_t end, scitt_buf_t *msg)
{
    chunk_t c = {.first = first, .end = end, .first_tile = first / 256};
    c.num_tiles = (size_t)((end - 1) / 256 - c.first_tile + 1);
    size_t n = (size_t)(end - first);
    c.tiles = calloc(2 * c.num_tiles, sizeof(*c.tiles));
    c.stmts = calloc(n, sizeof(*c.stmts));
    c.entries = calloc(n, 32);
    c.leaves = calloc(n, 32);
    c.stored = calloc(n, sizeof(*c.stored));
    int verdict = SCITT_MIRROR_OK;
    if (c.tiles == NULL || c.stmts == NULL || c.entries == NULL || c.leaves == NULL || c.stored == NULL) {
        verdict = say(msg, SCITT_MIRROR_FAILED, "out of memory");
    }
    verdict = verdict != 0 ? verdict : chunk_entries(m, &c, msg);
    verdict = verdict != 0 ? verdict : chunk_statements(m, &c, msg);
    verdict = verdict != 0 ? verdict : chunk_commit(m, &c, msg);
    chunk_free(&c);
    cache_clear(m, true);
    return verdict;
}

/* -- A round -- */

/* learn_keys pins the log's new checkpoint key during a key rotation's
 * transition (issue 21): when the checkpoint, which a pinned key signed,
 * carries more signatures under the log's name than pinned keys verified,
 * each key /checkpoint.vkey lists that is not pinned yet and whose signature
 * on this very checkpoint verifies is pinned too. A key no pinned key
 * vouched for this way is never trusted. Failures only skip the learning. */
static void learn_keys(scitt_mirror_t *m, const scitt_checkpoint_t *cp)
{
    char prefix[SCITT_NOTE_MAX_NAME + 8];
    int n = snprintf(prefix, sizeof(prefix), "\n\u2014 %.*s ", (int)cp->origin.len, (const char *)cp->origin.base);
    size_t named = 0;
    for (size_t at = 0; n > 0 && (size_t)n < sizeof(prefix) && at + (size_t)n <= m->offered.len; at++) {
        named += memcmp(m->offered.base + at, prefix, (size_t)n) == 0;
    }
    if (named <= cp->num_verified || m->num_verifiers == MAX_PINNED) {
        return;
    }
    scitt_mirror_get_t g;
    int rc = fetch_one(m, &g, "/checkpoint.vkey", 4096 * 4);
    for (size_t at = 0; rc == 0 && g.status == 200 && at < g.body.len && m->num_verifiers < MAX_PINNED;) {
        const uint8_t *nl = memchr(g.body.base + at, '\n', g.body.len - at);
        size_t end = nl != NULL ? (size_t)(nl - g.body.base) : g.body.len;
        scitt_span_t line = scitt_span(g.body.base + at, end - at);
        scitt_note_verifier_t *v = &m->verifiers[m->num_verifiers];
        scitt_checkpoint_t c;
        at = end + 1;
        if (line.len == 0 || has_line(scitt_buf_span(&m->vkey), line) ||
            scitt_note_verifier_parse(v, (const char *)line.base, line.len) != 0) {
            continue;
        }
        if (scitt_note_open(m->offered.base, m->offered.len, v, 1, &c, NULL) != 0 ||
            !scitt_span_eq(scitt_span_str(v->name), cp->origin) || scitt_buf_append_byte(&m->vkey, '\n') != 0 ||
            scitt_buf_append(&m->vkey, line.base, line.len) != 0) {
            scitt_note_verifier_cleanup(v);
            continue;
        }
        m->num_verifiers++;
        if (write_pinned(m) == 0) {
            fprintf(stderr, "scitt: the log's checkpoint key rotated: pinned %.*s too\n", (int)line.len,
                    (const char *)line.base);
        }
    }
    scitt_buf_cleanup(&g.body);
}

/* fetch_note fetches /checkpoint into m->offered and opens it with the
 * pinned keys. */
static int fetch_note(scitt_mirror_t *m, scitt_checkpoint_t *cp, scitt_buf_t *msg)
{
    scitt_mirror_get_t g;
    int rc = fetch_one(m, &g, "/checkpoint", SCITT_NOTE_MAX_LEN);
    scitt_buf_reset(&m->offered);
    if (rc != 0 || g.status != 200) {
        scitt_buf_cleanup(&g.body);
        return say(msg, SCITT_MIRROR_FAILED, "cannot fetch /checkpoint: %s (HTTP %d)", scitt_strerror(rc), g.status);
    }
    scitt_buf_append(&m->offered, g.body.base, g.body.len);
    scitt_buf_cleanup(&g.body);
    const char *why = NULL;
    rc = scitt_note_open(m->offered.base, m->offered.len, m->verifiers, m->num_verifiers, cp, &why);
    if (rc != 0) {
        say(msg, SCITT_MIRROR_BAD_CHECKPOINT, "the log's checkpoint does not verify with the pinned key %s: %s",
            m->verifiers[0].name, why != NULL ? why : scitt_strerror(rc));
        evidence(m, SCITT_MIRROR_BAD_CHECKPOINT, NULL, scitt_span(NULL, 0), msg);
        return SCITT_MIRROR_BAD_CHECKPOINT;
    }
    return SCITT_MIRROR_OK;
}

static int fetch_checkpoint(scitt_mirror_t *m, scitt_checkpoint_t *cp, scitt_buf_t *msg)
{
    int verdict = fetch_note(m, cp, msg);
    if (verdict != SCITT_MIRROR_OK) {
        return verdict;
    }
    /* The origin names the log: it may never change under a mirror. */
    scitt_store_read_t *rd;
    scitt_span_t origin;
    bool known = false, same = true;
    if (scitt_store_read_begin(m->store, &rd) == 0) {
        if (scitt_store_get_meta(rd, META_ORIGIN, &origin) == 0) {
            known = true;
            same = scitt_span_eq(origin, cp->origin);
        }
        scitt_store_read_end(rd);
    }
    if (!same) {
        say(msg, SCITT_MIRROR_BAD_CHECKPOINT, "the checkpoint's origin \"%.*s\" is not the log this mirror follows",
            (int)cp->origin.len, (const char *)cp->origin.base);
        evidence(m, SCITT_MIRROR_BAD_CHECKPOINT, NULL, scitt_span(NULL, 0), msg);
        return SCITT_MIRROR_BAD_CHECKPOINT;
    }
    if (!known && scitt_store_meta_put(m->store, META_ORIGIN, cp->origin) != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot write the mirror's store");
    }
    learn_keys(m, cp);
    return SCITT_MIRROR_OK;
}

/* check_witnesses applies the witness policy to the offered checkpoint:
 * at least witness_threshold listed witnesses must have cosigned it. */
static int check_witnesses(scitt_mirror_t *m, scitt_buf_t *msg)
{
    const scitt_mirror_config_t *cfg = &m->cfg;
    if (cfg->witness_threshold == 0) {
        return SCITT_MIRROR_OK;
    }
    size_t count = 0;
    bool valid[SCITT_NOTE_MAX_SIGS];
    int rc = scitt_cosig_count(m->offered.base, m->offered.len, cfg->witnesses, cfg->num_witnesses, valid, &count);
    if (rc == 0 && count >= cfg->witness_threshold) {
        return SCITT_MIRROR_OK;
    }
    say(msg, SCITT_MIRROR_UNWITNESSED,
        "the log's checkpoint has valid cosignatures from %zu of the %zu witnesses given, "
        "%zu needed",
        count, cfg->num_witnesses, cfg->witness_threshold);
    for (size_t i = 0; rc == 0 && i < cfg->num_witnesses; i++) {
        say(msg, 0, "\n  %s %s", cfg->witnesses[i].v.name, valid[i] ? "cosigned" : "missing or invalid");
    }
    evidence(m, SCITT_MIRROR_UNWITNESSED, NULL, scitt_span(NULL, 0), msg);
    return SCITT_MIRROR_UNWITNESSED;
}

/* fetch_config reads the log's limits from its configuration: statements
 * up to max_transparent_statement_bytes (capped at MAX_STATEMENT). A log
 * that publishes none is held to what the default --max-statement-bytes
 * gives. The log's registration limit is kept in the store's meta, for
 * --serve to publish. */
static int fetch_config(scitt_mirror_t *m, const scitt_checkpoint_t *cp, scitt_buf_t *msg)
{
    scitt_mirror_get_t g;
    int rc = fetch_one(m, &g, "/.well-known/transparency-configuration", MAX_CONFIG);
    scitt_cose_config_t c = {.max_statement_bytes = SCITT_COSE_DEFAULT_MAX_LEN};
    const char *why = NULL;
    int verdict = SCITT_MIRROR_OK;
    if (rc != 0 || (g.status != 200 && g.status != 404)) {
        verdict = say(msg, SCITT_MIRROR_FAILED, "cannot fetch /.well-known/transparency-configuration: %s (HTTP %d)",
                      scitt_strerror(rc), g.status);
    } else if (g.status == 200 && (rc = scitt_cose_config_decode(&c, g.body.base, g.body.len, &why)) != 0) {
        verdict = say(msg, SCITT_MIRROR_FAILED, "the log's /.well-known/transparency-configuration is malformed: %s",
                      why != NULL ? why : scitt_strerror(rc));
    }
    scitt_buf_cleanup(&g.body);
    if (verdict != SCITT_MIRROR_OK) {
        return verdict;
    }
    uint64_t limit = c.max_transparent_statement_bytes;
    if (limit == 0) {
        limit = scitt_receipt_transparent_max_len(c.max_statement_bytes, cp->origin.len);
    }
    m->max_statement = limit > MAX_STATEMENT ? MAX_STATEMENT : (size_t)limit;
    char text[24];
    snprintf(text, sizeof(text), "%llu", (unsigned long long)c.max_statement_bytes);
    return keep_published(m, META_LIMIT, scitt_span_str(text), msg);
}

static int fork_at(scitt_mirror_t *m, scitt_buf_t *msg, const char *what, uint64_t size, const uint8_t ours[32],
                   const uint8_t theirs[32])
{
    char a[65], b[65];
    hex32(a, ours);
    hex32(b, theirs);
    say(msg, SCITT_MIRROR_FORK, "at tree size %llu %s has root %s, but the log's new checkpoint (size %llu) gives %s",
        (unsigned long long)size, what, a, (unsigned long long)m->log_size, b);
    evidence(m, SCITT_MIRROR_FORK, NULL, scitt_span(NULL, 0), msg);
    return SCITT_MIRROR_FORK;
}

static int commit_head(scitt_mirror_t *m, const scitt_checkpoint_t *cp, scitt_buf_t *msg)
{
    /* A mirror has no receipt signature. The span still points at a byte:
     * the store memcpy()s it, and memcpy from NULL is undefined even for 0
     * bytes. */
    static const uint8_t no_sig[1];
    scitt_store_head_t head = {.size = cp->size,
                               .time = (int64_t)time(NULL),
                               .receipt_sig = scitt_span(no_sig, 0),
                               .checkpoint = scitt_buf_span(&m->offered)};
    memcpy(head.root, cp->root, 32);
    scitt_store_batch_t b = {.first_index = scitt_merkle_size(m->tree), .head = &head};
    int rc = scitt_store_commit(m->store, &b);
    if (rc != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot store the checkpoint: %s", scitt_strerror(rc));
    }
    m->head_size = cp->size;
    memcpy(m->head_root, cp->root, 32);
    scitt_buf_reset(&m->head_note);
    scitt_buf_append(&m->head_note, m->offered.base, m->offered.len);
    return SCITT_MIRROR_OK;
}

/* still_served checks that the log still serves what the mirror verified at
 * its trusted size: the log's tiles as of that size give the trusted root,
 * and the entry bundle holding the last trusted entry matches our tile.
 * Returns SCITT_MIRROR_OK, SCITT_MIRROR_ROLLBACK (a 404, or other data) or
 * SCITT_MIRROR_FAILED (the log could not be asked), with the reason in
 * `why`. Tile paths are those of the trusted size while it runs. */
static int still_served(scitt_mirror_t *m, scitt_buf_t *why)
{
    uint64_t size = m->head_size, seen = m->log_size;
    uint8_t root[32];
    m->log_size = size;
    cache_clear(m, false);
    int verdict = log_root(m, size, root, why);
    if (verdict == SCITT_MIRROR_OK && memcmp(root, m->head_root, 32) != 0) {
        verdict =
            say(why, SCITT_MIRROR_ROLLBACK, "its tiles as of size %llu give another root", (unsigned long long)size);
    } else if (verdict == SCITT_MIRROR_BAD_TILE || (verdict == SCITT_MIRROR_FAILED && m->fetch_missing)) {
        verdict = SCITT_MIRROR_ROLLBACK;
    }
    scitt_mirror_get_t g = {0};
    char path[SCITT_MERKLE_TILE_PATH_MAX + 2];
    size_t width;
    uint64_t tile = (size - 1) / 256;
    if (verdict == SCITT_MIRROR_OK && tile_path(path, sizeof(path), true, 0, tile, size, &width)) {
        int rc = fetch_one(m, &g, path, 256 * (2 + 65535));
        scitt_span_t ents[256];
        size_t num = 0;
        const uint8_t *ours = NULL;
        size_t our_width = 0;
        scitt_store_read_t *rd = NULL;
        if (rc != 0 || (g.status != 200 && g.status != 404)) {
            verdict =
                say(why, SCITT_MIRROR_FAILED, "cannot fetch %s: %s (HTTP %d)", g.path, scitt_strerror(rc), g.status);
        } else if (g.status == 404 || scitt_merkle_bundle_decode(ents, 256, &num, g.body.base, g.body.len) != 0 ||
                   num != width) {
            verdict =
                say(why, SCITT_MIRROR_ROLLBACK, "it does not serve the entry bundle %s (HTTP %d)", g.path, g.status);
        } else if (scitt_store_read_begin(m->store, &rd) != 0 ||
                   scitt_store_get_tile(rd, 0, tile, &ours, &our_width) != 0 || our_width < width) {
            verdict = say(why, SCITT_MIRROR_FAILED, "the mirror's store is damaged: no tile 0/%llu",
                          (unsigned long long)tile);
        }
        for (size_t k = 0; verdict == SCITT_MIRROR_OK && k < num; k++) {
            uint8_t leaf[32];
            scitt_merkle_leaf_hash(leaf, ents[k].base, ents[k].len);
            if (ents[k].len != 32 || memcmp(leaf, ours + 32 * k, 32) != 0) {
                verdict = say(why, SCITT_MIRROR_ROLLBACK, "its entry bundle %s holds another entry %llu", g.path,
                              (unsigned long long)(tile * 256 + k));
            }
        }
        if (rd != NULL) {
            scitt_store_read_end(rd);
        }
    }
    scitt_buf_cleanup(&g.body);
    cache_clear(m, false);
    m->log_size = seen;
    return verdict;
}

/* older_checkpoint handles a signed checkpoint smaller than the trusted one
 * (and consistent with it). A cache in front of an honest log may serve an
 * old checkpoint, and the log then still serves everything up to the
 * trusted size: a warning (in `msg`, with SCITT_MIRROR_OK). A log that no
 * longer serves the entries it signed for has rolled back: their receipts
 * are still out there, so that is evidence. */
static int older_checkpoint(scitt_mirror_t *m, scitt_buf_t *msg)
{
    scitt_buf_t why;
    scitt_buf_init(&why, NULL, 0);
    int verdict = still_served(m, &why);
    if (verdict == SCITT_MIRROR_OK) {
        say(msg, 0,
            "warning: the log serves a checkpoint of size %llu, older than the one this mirror verified (%llu), "
            "but still serves the tiles of size %llu: a stale cache?",
            (unsigned long long)m->log_size, (unsigned long long)m->head_size, (unsigned long long)m->head_size);
    } else if (verdict == SCITT_MIRROR_ROLLBACK) {
        say(msg, verdict,
            "the log rolled back: its checkpoint is at size %llu, but this mirror verified size %llu, and the log "
            "no longer serves those entries: %.*s",
            (unsigned long long)m->log_size, (unsigned long long)m->head_size, (int)why.len, (const char *)why.base);
        evidence(m, verdict, NULL, scitt_span(NULL, 0), msg);
    } else {
        say(msg, verdict, "the log serves an older checkpoint (size %llu) and cannot be asked for size %llu: %.*s",
            (unsigned long long)m->log_size, (unsigned long long)m->head_size, (int)why.len, (const char *)why.base);
    }
    scitt_buf_cleanup(&why);
    return verdict;
}

static int sync_round(scitt_mirror_t *m, scitt_buf_t *msg)
{
    int verdict = load_state(m, msg);
    if (verdict != 0) {
        return verdict;
    }
    scitt_checkpoint_t cp;
    verdict = fetch_checkpoint(m, &cp, msg);
    verdict = verdict != 0 ? verdict : check_witnesses(m, msg);
    verdict = verdict != 0 ? verdict : fetch_config(m, &cp, msg);
    if (verdict != 0) {
        return verdict;
    }
    m->log_size = cp.size;
    memcpy(m->log_root, cp.root, 32);
    uint64_t held = scitt_merkle_size(m->tree);
    uint8_t root[32];

    if (cp.size <= held) {
        /* Nothing new to fetch: the checkpoint must name our tree at its
         * size, otherwise the log signed two histories. */
        scitt_store_read_t *rd;
        int rc = scitt_store_read_begin(m->store, &rd);
        if (rc == 0) {
            scitt_tile_reader_t tr = {store_read_tile, rd, NULL};
            rc = scitt_merkle_root_at(NULL, &tr, cp.size, root);
            scitt_store_read_end(rd);
        }
        if (rc != 0) {
            return say(msg, SCITT_MIRROR_FAILED, "the mirror's store is damaged: %s", scitt_strerror(rc));
        }
        if (memcmp(root, cp.root, 32) != 0) {
            return fork_at(m, msg, "the mirror's verified copy", cp.size, root, cp.root);
        }
        if (cp.size < m->head_size) {
            return older_checkpoint(m, msg);
        }
        return cp.size > m->head_size ? commit_head(m, &cp, msg) : SCITT_MIRROR_OK;
    }
    if (cp.size < m->head_size) { /* unreachable: held >= head_size */
        return say(msg, SCITT_MIRROR_FAILED, "internal: checkpoint below the trusted head");
    }

    /* The log's own tiles must give its root, and the roots we trust. */
    cache_clear(m, false);
    verdict = log_root(m, cp.size, root, msg);
    if (verdict != 0) {
        return verdict;
    }
    if (memcmp(root, cp.root, 32) != 0) {
        char a[65], b[65];
        hex32(a, root);
        hex32(b, cp.root);
        say(msg, SCITT_MIRROR_BAD_TILE, "the log's tiles for size %llu give root %s, but its checkpoint says %s",
            (unsigned long long)cp.size, a, b);
        evidence(m, SCITT_MIRROR_BAD_TILE, NULL, scitt_span(NULL, 0), msg);
        return SCITT_MIRROR_BAD_TILE;
    }
    if (m->head_size > 0) {
        verdict = log_root(m, m->head_size, root, msg);
        if (verdict != 0) {
            return verdict;
        }
        if (memcmp(root, m->head_root, 32) != 0) {
            return fork_at(m, msg, "the last checkpoint the mirror trusted", m->head_size, m->head_root, root);
        }
    }
    if (held > m->head_size) {
        uint8_t ours[32];
        scitt_merkle_root(m->tree, ours);
        verdict = log_root(m, held, root, msg);
        if (verdict != 0) {
            return verdict;
        }
        if (memcmp(root, ours, 32) != 0) {
            return fork_at(m, msg, "the entries the mirror verified under its pending checkpoint", held, ours, root);
        }
    }
    if (scitt_store_meta_put(m->store, META_PENDING, scitt_buf_span(&m->offered)) != 0) {
        return say(msg, SCITT_MIRROR_FAILED, "cannot write the mirror's store");
    }

    /* Chunks aligned to level-0 tiles, so a chunk fetches whole bundles. */
    uint64_t step = (m->cfg.chunk_entries + 255) / 256 * 256;
    while (held < cp.size) {
        uint64_t end = (held / 256) * 256 + step;
        end = end > cp.size ? cp.size : end;
        verdict = mirror_chunk(m, held, end, msg);
        if (verdict != 0) {
            return verdict;
        }
        held = end;
        if (m->cfg.progress != NULL) {
            m->cfg.progress(m->cfg.progress_ud, held, cp.size);
        }
    }
    scitt_merkle_root(m->tree, root);
    if (memcmp(root, cp.root, 32) != 0) {
        /* Unreachable unless a tile check above is wrong: stop, never store. */
        return say(msg, SCITT_MIRROR_BAD_TILE, "the entries do not reproduce the checkpoint root");
    }
    return commit_head(m, &cp, msg);
}

int scitt_mirror_check_root(const scitt_mirror_config_t *cfg, uint64_t size, const uint8_t root[32], uint64_t *out_size,
                            scitt_buf_t *msg)
{
    scitt_mirror_t *m = mirror_new(cfg);
    if (m == NULL) {
        return say(msg, SCITT_MIRROR_FAILED, "out of memory");
    }
    m->oneshot = true;
    scitt_checkpoint_t cp;
    int verdict = pin_vkey(m, msg);
    verdict = verdict != 0 ? verdict : fetch_note(m, &cp, msg);
    verdict = verdict != 0 ? verdict : check_witnesses(m, msg);
    if (verdict == SCITT_MIRROR_OK) {
        *out_size = m->log_size = cp.size;
        memcpy(m->log_root, cp.root, 32);
        if (size > cp.size) {
            verdict =
                say(msg, SCITT_MIRROR_FAILED, "the log's checkpoint (size %llu) does not cover tree size %llu yet",
                    (unsigned long long)cp.size, (unsigned long long)size);
        } else {
            verdict = prove_prefix(m, size, root, msg);
        }
        if (verdict == SCITT_MIRROR_BAD_TILE) {
            /* Tiles of the checkpoint's tree that do not give the root
             * signed at `size`: that root is from another history. */
            verdict = say(msg, SCITT_MIRROR_FORK, "\nthe root signed at tree size %llu is not in this history",
                          (unsigned long long)size);
        }
    }
    scitt_mirror_close(m);
    return verdict;
}

int scitt_mirror_sync(scitt_mirror_t *m, scitt_mirror_status_t *status, scitt_buf_t *msg)
{
    m->log_size = 0;
    keys_clear(m);
    int verdict = sync_round(m, msg);
    if (verdict == SCITT_MIRROR_OK && m->keys_fetched && m->keyset.len == 0) {
        say(msg, 0,
            "warning: the log publishes no receipt keys (/.well-known/scitt-keys): the receipts in its "
            "statements were checked against its roots, their signatures were not");
    }
    cache_clear(m, false);
    if (status != NULL) {
        scitt_mirror_get_status(m, status);
    }
    return verdict;
}
