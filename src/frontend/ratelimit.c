/*
 * ratelimit.c: per client address token buckets (see ratelimit.h).
 */
#include "ratelimit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/core.h"

/* A token is 1000 units; a bucket gains `rate` units per millisecond. */
#define UNIT 1000u

typedef struct rl_entry {
    uint8_t key[16];
    uint64_t seen_ms; /* when the buckets were last brought up to date */
    uint64_t units[SCITT_RL_KINDS];
    bool used;
} rl_entry_t;

struct scitt_rl {
    uint64_t rate; /* units per millisecond = tokens per second */
    uint64_t cap;  /* burst * UNIT */
    uint64_t seed;
    size_t set_mask; /* number of sets - 1 */
    size_t tracked;
    rl_entry_t *entries;
};

int scitt_rl_new(scitt_rl_t **out, uint32_t rate, uint32_t burst, size_t slots, uint64_t seed)
{
    if (rate == 0 || burst == 0 || rate > SCITT_RL_MAX || burst > SCITT_RL_MAX || slots > ((size_t)1 << 24)) {
        return SCITT_EINVAL;
    }
    size_t sets = 1;
    while (sets * SCITT_RL_WAYS < slots) {
        sets *= 2;
    }
    scitt_rl_t *rl = calloc(1, sizeof(*rl));
    rl_entry_t *e = calloc(sets * SCITT_RL_WAYS, sizeof(*e));
    if (rl == NULL || e == NULL) {
        free(rl);
        free(e);
        return SCITT_ENOMEM;
    }
    rl->rate = rate;
    rl->cap = (uint64_t)burst * UNIT;
    rl->seed = seed;
    rl->set_mask = sets - 1;
    rl->entries = e;
    *out = rl;
    return 0;
}

void scitt_rl_free(scitt_rl_t *rl)
{
    if (rl != NULL) {
        free(rl->entries);
        free(rl);
    }
}

/* set_of picks the set of `key`: a multiply-xorshift mix of its two
 * halves, keyed by the seed. */
static rl_entry_t *set_of(const scitt_rl_t *rl, const uint8_t key[16])
{
    uint64_t lo, hi;
    memcpy(&lo, key, 8);
    memcpy(&hi, key + 8, 8);
    uint64_t x = (hi + rl->seed) ^ (lo * 0xD6E8FEB86659FD93ull);
    x ^= x >> 32;
    x *= 0xD6E8FEB86659FD93ull;
    x ^= x >> 32;
    return &rl->entries[(size_t)(x & rl->set_mask) * SCITT_RL_WAYS];
}

/* refilled returns bucket `units` after `elapsed` ms, capped. */
static uint64_t refilled(const scitt_rl_t *rl, uint64_t units, uint64_t elapsed)
{
    uint64_t room = rl->cap - units;
    /* Past room / rate, elapsed * rate would pass `room`: full (and the
     * product is only formed when it fits in `room`). */
    return elapsed > room / rl->rate ? rl->cap : units + elapsed * rl->rate;
}

static bool all_full(const scitt_rl_t *rl, const rl_entry_t *e, uint64_t now_ms)
{
    uint64_t elapsed = now_ms > e->seen_ms ? now_ms - e->seen_ms : 0;
    for (int k = 0; k < SCITT_RL_KINDS; k++) {
        if (refilled(rl, e->units[k], elapsed) < rl->cap) {
            return false;
        }
    }
    return true;
}

/* lookup finds `key`'s entry in its set, or makes one (evicting). */
static rl_entry_t *lookup(scitt_rl_t *rl, const uint8_t key[16], uint64_t now_ms)
{
    rl_entry_t *set = set_of(rl, key), *victim = NULL;
    for (size_t i = 0; i < SCITT_RL_WAYS; i++) {
        if (set[i].used && memcmp(set[i].key, key, 16) == 0) {
            return &set[i];
        }
    }
    for (size_t i = 0; i < SCITT_RL_WAYS && victim == NULL; i++) {
        victim = !set[i].used || all_full(rl, &set[i], now_ms) ? &set[i] : NULL;
    }
    if (victim == NULL) {
        victim = &set[0];
        for (size_t i = 1; i < SCITT_RL_WAYS; i++) {
            victim = set[i].seen_ms < victim->seen_ms ? &set[i] : victim;
        }
    }
    rl->tracked += victim->used ? 0 : 1;
    victim->used = true;
    memcpy(victim->key, key, 16);
    victim->seen_ms = now_ms;
    for (int k = 0; k < SCITT_RL_KINDS; k++) {
        victim->units[k] = rl->cap;
    }
    return victim;
}

uint64_t scitt_rl_take(scitt_rl_t *rl, const uint8_t key[16], int kind, uint64_t now_ms)
{
    rl_entry_t *e = lookup(rl, key, now_ms);
    uint64_t elapsed = now_ms > e->seen_ms ? now_ms - e->seen_ms : 0;
    for (int k = 0; k < SCITT_RL_KINDS; k++) {
        e->units[k] = refilled(rl, e->units[k], elapsed);
    }
    e->seen_ms = now_ms > e->seen_ms ? now_ms : e->seen_ms;
    if (e->units[kind] >= UNIT) {
        e->units[kind] -= UNIT;
        return 0;
    }
    uint64_t missing = UNIT - e->units[kind];
    return (missing + rl->rate - 1) / rl->rate;
}

size_t scitt_rl_tracked(const scitt_rl_t *rl)
{
    return rl->tracked;
}

size_t scitt_rl_slots(const scitt_rl_t *rl)
{
    return (rl->set_mask + 1) * SCITT_RL_WAYS;
}
