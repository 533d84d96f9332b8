/*
 * ratelimit.h: per client address token buckets (issue 19), for the
 * registrations (POST /entries) and the polls of pending entries (GET
 * /entries/{id} answered 204) of clients without credentials. SCRAPI-11
 * asks a service without authentication to rate-limit.
 *
 * Each tracked address (a 16-byte key, see scitt_h2__peer_key: an IPv4
 * address or an IPv6 /64) has one bucket per kind. A bucket holds at most
 * `burst` tokens, refills at `rate` tokens per second, and a request takes
 * one. Tokens are counted in thousandths, so refills need no floating
 * point; time is the loop's milliseconds.
 *
 * Memory is fixed at creation: a table of `slots` entries in sets of
 * SCITT_RL_WAYS, the set chosen by a hash seeded at random (so a client
 * choosing addresses cannot aim at one set). An address not in its set
 * takes a free way, else one whose buckets are full again (forgetting it
 * loses nothing), else the way seen least recently. Every call looks at
 * one set only: O(1), no allocation. Many addresses therefore cannot grow
 * memory; at worst an evicted address starts over with a full bucket.
 *
 * Pure and single-threaded (the io loop owns it); no libuv, no nghttp2,
 * so unit tests reach it directly.
 */
#ifndef SCITT_SRC_FRONTEND_RATELIMIT_H
#define SCITT_SRC_FRONTEND_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define SCITT_RL_WAYS 8
/* Tracked addresses by default: 16384 x 48 bytes = 768 KiB. */
#define SCITT_RL_SLOTS 16384
/* Largest --post-rate and --post-burst (keeps the arithmetic in range). */
#define SCITT_RL_MAX 1000000u

enum { SCITT_RL_POST, SCITT_RL_PENDING, SCITT_RL_KINDS };

typedef struct scitt_rl scitt_rl_t;

/* scitt_rl_new makes a table of `slots` entries (rounded up to a power of
 * two, at least SCITT_RL_WAYS) whose buckets hold `burst` tokens and refill
 * at `rate` per second (both 1..SCITT_RL_MAX). 0, SCITT_EINVAL or
 * SCITT_ENOMEM. */
int scitt_rl_new(scitt_rl_t **out, uint32_t rate, uint32_t burst, size_t slots, uint64_t seed);
void scitt_rl_free(scitt_rl_t *rl);

/* scitt_rl_take takes one token from bucket `kind` of `key` at `now_ms`:
 * 0 when it did, else the milliseconds until a token will be there (> 0;
 * nothing is taken). */
uint64_t scitt_rl_take(scitt_rl_t *rl, const uint8_t key[16], int kind, uint64_t now_ms);

/* scitt_rl_tracked returns the addresses in the table now; scitt_rl_slots
 * its capacity. */
size_t scitt_rl_tracked(const scitt_rl_t *rl);
size_t scitt_rl_slots(const scitt_rl_t *rl);

#endif /* SCITT_SRC_FRONTEND_RATELIMIT_H */
