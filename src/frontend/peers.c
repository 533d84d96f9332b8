/*
 * peers.c: what each client address holds: open connections and
 * registrations in the pipeline (issue 16), so that one client can take
 * neither every connection (--max-connections-per-address) nor the whole
 * registration queue (--max-pending-per-address).
 *
 * An address is an IPv4 address or the /64 prefix of an IPv6 address (one
 * host usually holds a whole /64), kept as 16 bytes. The table chains its
 * entries from buckets, doubles them when there are more entries than
 * buckets, and frees an entry once both of its counts are zero. Its hash
 * is seeded at random, so a client choosing addresses cannot make the
 * chains long.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct scitt_h2_peer {
    scitt_h2_peer_t *next; /* in its bucket */
    uint8_t key[16];
    uint32_t count[SCITT_H2_PEER_NUM];
};

static size_t bucket_of(const scitt_frontend_t *fe, const uint8_t key[16])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = (a ^ fe->peer_seed) * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 29) ^ b) * 0xBF58476D1CE4E5B9ull;
    return (size_t)(h ^ (h >> 32)) & fe->peer_mask;
}

/* slot returns the link that points at the entry for `key`, or at NULL
 * at the end of its bucket's chain. */
static scitt_h2_peer_t **slot(scitt_frontend_t *fe, const uint8_t key[16])
{
    scitt_h2_peer_t **at = &fe->peers[bucket_of(fe, key)];
    while (*at != NULL && memcmp((*at)->key, key, 16) != 0) {
        at = &(*at)->next;
    }
    return at;
}

static int grow(scitt_frontend_t *fe)
{
    size_t old_num = fe->peers == NULL ? 0 : fe->peer_mask + 1;
    size_t num = old_num == 0 ? 64 : 2 * old_num;
    scitt_h2_peer_t **old = fe->peers;
    scitt_h2_peer_t **b = calloc(num, sizeof(*b));
    if (b == NULL) {
        return SCITT_ENOMEM;
    }
    if (old == NULL) {
        uv_random(NULL, NULL, &fe->peer_seed, sizeof(fe->peer_seed), 0, NULL);
    }
    fe->peers = b;
    fe->peer_mask = num - 1;
    for (size_t i = 0; i < old_num; i++) {
        while (old[i] != NULL) {
            scitt_h2_peer_t *p = old[i];
            old[i] = p->next;
            scitt_h2_peer_t **at = &fe->peers[bucket_of(fe, p->key)];
            p->next = *at;
            *at = p;
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
    if ((fe->peers == NULL || fe->num_peers > fe->peer_mask) && grow(fe) != 0) {
        return SCITT_ENOMEM;
    }
    scitt_h2_peer_t **at = slot(fe, key);
    if (*at == NULL) {
        if (limit == 0) {
            return SCITT_EFULL;
        }
        scitt_h2_peer_t *p = calloc(1, sizeof(*p));
        if (p == NULL) {
            return SCITT_ENOMEM;
        }
        memcpy(p->key, key, 16);
        *at = p;
        fe->num_peers++;
    } else if ((*at)->count[what] >= limit) {
        return SCITT_EFULL;
    }
    (*at)->count[what]++;
    return 0;
}

void scitt_h2__peer_sub(scitt_frontend_t *fe, const uint8_t key[16], int what)
{
    scitt_h2_peer_t **at = fe->peers != NULL ? slot(fe, key) : NULL;
    scitt_h2_peer_t *p = at != NULL ? *at : NULL;
    if (p == NULL || p->count[what] == 0) {
        return;
    }
    p->count[what]--;
    if (p->count[SCITT_H2_PEER_CONNS] == 0 && p->count[SCITT_H2_PEER_REGS] == 0) {
        *at = p->next;
        free(p);
        fe->num_peers--;
    }
}

void scitt_h2__peers_free(scitt_frontend_t *fe)
{
    for (size_t i = 0; fe->peers != NULL && i <= fe->peer_mask; i++) {
        while (fe->peers[i] != NULL) {
            scitt_h2_peer_t *p = fe->peers[i];
            fe->peers[i] = p->next;
            free(p);
        }
    }
    free(fe->peers);
    fe->peers = NULL;
}
