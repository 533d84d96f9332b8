/* chaincache.c: see chaincache.h. */
#include "chaincache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define CHAIN_CACHE_WAYS      8
#define CHAIN_CACHE_MAX_CERTS 8

struct scitt_chain_ref {
    atomic_uint refs;
    scitt_key_t *key;
};

typedef struct entry {
    uint8_t digest[SCITT_SHA256_LEN];
    int64_t not_before, not_after;
    uint64_t last_use; /* 0: the slot is empty */
    scitt_chain_ref_t *ref;
} entry_t;

struct scitt_chain_cache {
    pthread_mutex_t lock;
    entry_t *entries; /* num_sets x CHAIN_CACHE_WAYS */
    size_t num_sets;  /* a power of two */
    uint64_t clock;
    scitt_x5chain_cache_stats_t stats;
};

int scitt_chain_cache_new(scitt_chain_cache_t **out, size_t capacity)
{
    size_t sets = 1;
    while (sets * CHAIN_CACHE_WAYS < capacity && sets < ((size_t)1 << 24)) {
        sets *= 2;
    }
    scitt_chain_cache_t *c = calloc(1, sizeof(*c));
    entry_t *entries = calloc(sets * CHAIN_CACHE_WAYS, sizeof(*entries));
    if (c == NULL || entries == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        free(entries);
        return SCITT_ENOMEM;
    }
    c->entries = entries;
    c->num_sets = sets;
    c->stats.capacity = sets * CHAIN_CACHE_WAYS;
    *out = c;
    return 0;
}

void scitt_chain_ref_release(scitt_chain_ref_t *ref)
{
    if (ref != NULL && atomic_fetch_sub(&ref->refs, 1) == 1) {
        scitt_key_free(ref->key);
        free(ref);
    }
}

const scitt_key_t *scitt_chain_ref_key(const scitt_chain_ref_t *ref)
{
    return ref->key;
}

static void drop(scitt_chain_cache_t *c, entry_t *e)
{
    scitt_chain_ref_release(e->ref);
    *e = (entry_t){0};
    c->stats.entries--;
}

void scitt_chain_cache_free(scitt_chain_cache_t *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->num_sets * CHAIN_CACHE_WAYS; i++) {
        if (c->entries[i].last_use != 0) {
            drop(c, &c->entries[i]);
        }
    }
    pthread_mutex_destroy(&c->lock);
    free(c->entries);
    free(c);
}

bool scitt_chain_cache_digest(uint8_t out[SCITT_SHA256_LEN], const uint8_t roots_id[SCITT_SHA256_LEN],
                              const scitt_span_t *certs, size_t num_certs)
{
    if (num_certs == 0 || num_certs > CHAIN_CACHE_MAX_CERTS) {
        return false;
    }
    /* The lengths keep the certificates' boundaries: no two chains share
     * the digest input by splitting the same bytes differently. */
    uint8_t lens[CHAIN_CACHE_MAX_CERTS * 8];
    scitt_span_t parts[2 + CHAIN_CACHE_MAX_CERTS];
    parts[0] = scitt_span(roots_id, SCITT_SHA256_LEN);
    parts[1] = scitt_span(lens, num_certs * 8);
    for (size_t i = 0; i < num_certs; i++) {
        for (int b = 0; b < 8; b++) {
            lens[i * 8 + (size_t)b] = (uint8_t)((uint64_t)certs[i].len >> (56 - 8 * b));
        }
        parts[2 + i] = certs[i];
    }
    scitt_sha256_parts(out, parts, 2 + num_certs);
    return true;
}

static entry_t *set_of(scitt_chain_cache_t *c, const uint8_t digest[SCITT_SHA256_LEN])
{
    size_t h;
    memcpy(&h, digest, sizeof(h));
    return &c->entries[(h & (c->num_sets - 1)) * CHAIN_CACHE_WAYS];
}

static entry_t *find(entry_t *set, const uint8_t digest[SCITT_SHA256_LEN])
{
    for (int w = 0; w < CHAIN_CACHE_WAYS; w++) {
        if (set[w].last_use != 0 && memcmp(set[w].digest, digest, SCITT_SHA256_LEN) == 0) {
            return &set[w];
        }
    }
    return NULL;
}

scitt_chain_ref_t *scitt_chain_cache_get(scitt_chain_cache_t *c, const uint8_t digest[SCITT_SHA256_LEN], int64_t now)
{
    scitt_chain_ref_t *ref = NULL;
    pthread_mutex_lock(&c->lock);
    entry_t *e = find(set_of(c, digest), digest);
    if (e != NULL && (now < e->not_before || now >= e->not_after)) {
        drop(c, e); /* expired or not yet valid: validate afresh */
        e = NULL;
    }
    if (e != NULL) {
        e->last_use = ++c->clock;
        ref = e->ref;
        atomic_fetch_add(&ref->refs, 1);
        c->stats.hits++;
    } else {
        c->stats.misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return ref;
}

int scitt_chain_cache_put(scitt_chain_cache_t *c, const uint8_t digest[SCITT_SHA256_LEN], scitt_key_t *key,
                          int64_t not_before, int64_t not_after, scitt_chain_ref_t **out)
{
    scitt_chain_ref_t *ref = malloc(sizeof(*ref));
    if (ref == NULL) {
        return SCITT_ENOMEM;
    }
    atomic_init(&ref->refs, 2); /* the table's and the caller's */
    ref->key = key;
    pthread_mutex_lock(&c->lock);
    entry_t *set = set_of(c, digest);
    entry_t *slot = find(set, digest); /* another thread's put of the same chain */
    for (int w = 0; slot == NULL && w < CHAIN_CACHE_WAYS; w++) {
        slot = set[w].last_use == 0 ? &set[w] : NULL;
    }
    if (slot == NULL) {
        slot = &set[0];
        for (int w = 1; w < CHAIN_CACHE_WAYS; w++) {
            slot = set[w].last_use < slot->last_use ? &set[w] : slot;
        }
        c->stats.evictions++;
    }
    if (slot->last_use != 0) {
        drop(c, slot);
    }
    memcpy(slot->digest, digest, SCITT_SHA256_LEN);
    slot->not_before = not_before;
    slot->not_after = not_after;
    slot->last_use = ++c->clock;
    slot->ref = ref;
    c->stats.entries++;
    pthread_mutex_unlock(&c->lock);
    *out = ref;
    return 0;
}

void scitt_chain_cache_stats(scitt_chain_cache_t *c, scitt_x5chain_cache_stats_t *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    pthread_mutex_unlock(&c->lock);
}
