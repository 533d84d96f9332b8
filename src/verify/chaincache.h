/*
 * chaincache.h: a bounded cache of validated x5chain certificate chains.
 *
 * Validating a chain (parsing every certificate, building the path, checking
 * each certificate's signature) costs several times the statement's own
 * signature check, and CI identities send the same short-lived chain for
 * many statements. An entry maps a digest of the chain's bytes (every
 * certificate, in order, with its length) and of the trust-root set's
 * identity to the validated leaf key and the span in which every
 * certificate of the path is valid. A lookup hits only inside that span;
 * anything else is a miss and the caller validates afresh. The statement's
 * signature is never cached: the caller verifies it every time.
 *
 * The table is fixed at creation: sets of CHAIN_CACHE_WAYS entries, the
 * least recently used of a set evicted. One mutex guards it; every
 * operation under it is a scan of one set. Keys are reference-counted, so
 * an entry evicted while another thread still verifies with its key stays
 * alive until that thread releases it.
 */
#ifndef SCITT_SRC_VERIFY_CHAINCACHE_H
#define SCITT_SRC_VERIFY_CHAINCACHE_H

#include <stdint.h>

#include "scitt/crypto.h"
#include "scitt/verify.h"

typedef struct scitt_chain_cache scitt_chain_cache_t;
typedef struct scitt_chain_ref scitt_chain_ref_t; /* a held leaf key */

/* scitt_chain_cache_new makes a cache of at least `capacity` (> 0) entries
 * (rounded up to whole sets). Returns 0 or SCITT_ENOMEM. */
int scitt_chain_cache_new(scitt_chain_cache_t **out, size_t capacity);
void scitt_chain_cache_free(scitt_chain_cache_t *c);

/* scitt_chain_cache_digest names a chain under a trust-root set: SHA-256
 * over `roots_id`, the certificates' lengths and their bytes. Returns false
 * (nothing to cache) for an empty chain or one longer than 8. */
bool scitt_chain_cache_digest(uint8_t out[SCITT_SHA256_LEN], const uint8_t roots_id[SCITT_SHA256_LEN],
                              const scitt_span_t *certs, size_t num_certs);

/* scitt_chain_cache_get returns the held key of the entry named `digest`
 * when `now` is inside its validity span, else NULL (a miss; an entry found
 * outside its span is dropped). Release the result. */
scitt_chain_ref_t *scitt_chain_cache_get(scitt_chain_cache_t *c, const uint8_t digest[SCITT_SHA256_LEN], int64_t now);

/* scitt_chain_cache_put records a chain just validated: its leaf `key` and
 * its validity span [not_before, not_after). On success the cache owns
 * `key` and `*out` holds it for the caller (release it); on SCITT_ENOMEM
 * nothing changed and the caller still owns `key`. */
int scitt_chain_cache_put(scitt_chain_cache_t *c, const uint8_t digest[SCITT_SHA256_LEN], scitt_key_t *key,
                          int64_t not_before, int64_t not_after, scitt_chain_ref_t **out);

const scitt_key_t *scitt_chain_ref_key(const scitt_chain_ref_t *ref);
void scitt_chain_ref_release(scitt_chain_ref_t *ref);

void scitt_chain_cache_stats(scitt_chain_cache_t *c, scitt_x5chain_cache_stats_t *out);

#endif /* SCITT_SRC_VERIFY_CHAINCACHE_H */
