/*
 * peers.c: what each client address holds: open connections and
 * registrations in the pipeline (issue 16), so that one client can take
 * neither every connection (--max-connections-per-address) nor the whole
 * registration queue (--max-pending-per-address).
 *
 * An address is an IPv4 address or the /64 prefix of an IPv6 address (one
 * host usually holds a whole /64), kept as 16 bytes. The table is open
 * addressing with linear probing, at most half full, grown by doubling;
 * an entry leaves it when both of its counts are zero (backward-shift
 * deletion, no tombstones). Its hash is seeded at random, so a client
 * choosing addresses cannot make the probe runs long.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct scitt_h2_peer {
    uint8_t key[16];
    uint32_t count[SCITT_H2_PEER_NUM]; /* all 0: an empty slot */
};

static bool used(const scitt_h2_peer_t *p)
{
    return p->count[SCITT_H2_PEER_CONNS] != 0 || p->count[SCITT_H2_PEER_REGS] != 0;
}

static size_t home(const scitt_frontend_t *fe, const uint8_t key[16])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = (a ^ fe->peer_seed) * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 29) ^ b) * 0xBF58476D1CE4E5B9ull;
    return (size_t)(h ^ (h >> 32)) & fe->peer_mask;
}

/* find returns the slot holding `key`, or the empty slot where it would go. */
static size_t find(const scitt_frontend_t *fe, const uint8_t key[16])
{
    size_t i = home(fe, key);
    while (used(&fe->peers[i]) && memcmp(fe->peers[i].key, key, 16) != 0) {
        i = (i + 1) & fe->peer_mask;
    }
    return i;
}

static int grow(scitt_frontend_t *fe)
{
    size_t cap = fe->peers == NULL ? 64 : 2 * (fe->peer_mask + 1);
    scitt_h2_peer_t *old = fe->peers;
    size_t old_cap = old == NULL ? 0 : fe->peer_mask + 1;
    scitt_h2_peer_t *t = calloc(cap, sizeof(*t));
    if (t == NULL) {
        return SCITT_ENOMEM;
    }
    if (old == NULL) {
        uv_random(NULL, NULL, &fe->peer_seed, sizeof(fe->peer_seed), 0, NULL);
    }
    fe->peers = t;
    fe->peer_mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (used(&old[i])) {
            fe->peers[find(fe, old[i].key)] = old[i];
        }
    }
    free(old);
    return 0;
}

void scitt_h2__peer_key(const struct sockaddr_storage *sa, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key[10] = key[11] = 0xff; /* as an IPv4-mapped IPv6 address */
        memcpy(key + 12, &in->sin_addr, 4);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        bool v4 = memcmp(in6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0;
        memcpy(key, in6->sin6_addr.s6_addr, v4 ? 16 : 8);
    }
}

int scitt_h2__peer_add(scitt_frontend_t *fe, const uint8_t key[16], int what, size_t limit)
{
    if ((fe->peers == NULL || 2 * (fe->num_peers + 1) > fe->peer_mask + 1) && grow(fe) != 0) {
        return SCITT_ENOMEM;
    }
    scitt_h2_peer_t *p = &fe->peers[find(fe, key)];
    if (p->count[what] >= limit) {
        return SCITT_EFULL;
    }
    if (!used(p)) {
        memcpy(p->key, key, 16);
        fe->num_peers++;
    }
    p->count[what]++;
    return 0;
}

void scitt_h2__peer_sub(scitt_frontend_t *fe, const uint8_t key[16], int what)
{
    if (fe->peers == NULL) {
        return;
    }
    size_t i = find(fe, key), j = i;
    scitt_h2_peer_t *p = &fe->peers[i];
    if (p->count[what] == 0 || (--p->count[what], used(p))) {
        return;
    }
    /* Empty now: close the hole by moving later members of the probe run
     * back, unless their home lies cyclically in (i, j]. */
    fe->num_peers--;
    for (;;) {
        j = (j + 1) & fe->peer_mask;
        if (!used(&fe->peers[j])) {
            break;
        }
        size_t k = home(fe, fe->peers[j].key);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            fe->peers[i] = fe->peers[j];
            i = j;
        }
    }
    memset(&fe->peers[i], 0, sizeof(fe->peers[i]));
}

void scitt_h2__peers_free(scitt_frontend_t *fe)
{
    free(fe->peers);
    fe->peers = NULL;
}
