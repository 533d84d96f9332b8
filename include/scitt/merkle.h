/*
 * merkle.h: the RFC 9162 (SHA-256) Merkle tree of the log, kept as C2SP
 * tlog-tiles of height 8, with inclusion and consistency proofs.
 *
 * The module is pure computation: it never does I/O. Stored tiles are read
 * through a scitt_tile_reader_t that the caller implements (src/store over
 * LMDB, tests in memory), and appends hand back the tiles that changed so the
 * caller can write them in one transaction.
 *
 * Vocabulary. A tile (level L, index N) holds up to 256 hashes of height 8L:
 * level-0 hashes are leaf hashes SHA-256(0x00 || entry), and a level-L hash
 * is the root of one full level L-1 tile. Tile N at level L holds hashes
 * [256N, 256N + 256) of its level. The rightmost ("growing") tile of each
 * level is stored too, with its current width; the partial tile for an
 * earlier tree size is a prefix of it.
 *
 * Thread safety: a scitt_merkle_t or scitt_merkle_prover_t is used by one
 * thread at a time. The verification, tile path and bundle calls keep no
 * state and may run on any thread.
 */
#ifndef SCITT_MERKLE_H
#define SCITT_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/core.h"

#define SCITT_MERKLE_HASH_LEN    32
#define SCITT_MERKLE_TILE_HEIGHT 8
#define SCITT_MERKLE_TILE_WIDTH  256
/* Tile levels a uint64_t tree size can reach (8 levels cover heights 0..63). */
#define SCITT_MERKLE_MAX_LEVELS 8
/* No proof for a uint64_t tree size is longer than this; verifiers refuse
 * longer input before doing any work. */
#define SCITT_MERKLE_MAX_PROOF 64

/* scitt_tile_reader_t reads stored tiles. `read` sets `*out_hashes` to the
 * tile's hashes (32 bytes each) and `*out_width` to how many are stored
 * (1..256), or returns SCITT_ENOTFOUND when the tile is absent (any other
 * negative code is passed through to the caller). The stored width may
 * exceed what a given tree size needs; the engine uses the prefix it needs.
 *
 * Lifetime: the returned pointer is borrowed and stays valid until the next
 * `read` call on the same reader (or the end of the caller's read session).
 * The engine copies or consumes the hashes before reading again. */
typedef struct scitt_merkle_tile_cache scitt_merkle_tile_cache_t;

/* `cache` (optional, NULL for none) shares the tile trees of full tiles
 * between provers over the same tiles (see scitt_merkle_tile_cache_new). */
typedef struct scitt_tile_reader {
    int (*read)(void *ud, unsigned level, uint64_t index, const uint8_t **out_hashes, size_t *out_width);
    void *ud;
    scitt_merkle_tile_cache_t *cache;
} scitt_tile_reader_t;

/* scitt_merkle_tile_t is one changed tile handed back by an append. */
typedef struct scitt_merkle_tile {
    unsigned level;
    uint64_t index;
    size_t width;                /* 1..256 hashes; 256 means a full tile */
    const uint8_t (*hashes)[32]; /* borrowed, see scitt_merkle_append */
} scitt_merkle_tile_t;

/* scitt_merkle_leaf_hash computes the RFC 9162 leaf hash SHA-256(0x00 || entry). */
void scitt_merkle_leaf_hash(uint8_t out[32], const uint8_t *entry, size_t entry_len);

/* scitt_merkle_empty_root writes MTH({}) = SHA-256(""). */
void scitt_merkle_empty_root(uint8_t out[32]);

/* ------------------------------------------------------------------------ */
/* The growing tree (the sequencer's state)                                  */

/* scitt_merkle_t holds the tree size, the right-edge (growing) tile of each
 * level and the frontier: the root of every maximal perfect subtree on the
 * right edge (at most 64 hashes), which the growing tiles determine. */
typedef struct scitt_merkle scitt_merkle_t;

/* scitt_merkle_new makes an empty tree (size 0). `mem` NULL means the
 * default allocator; it is kept for the tree's lifetime. `*out` is newly
 * allocated. Returns 0 or SCITT_ENOMEM. */
int scitt_merkle_new(scitt_merkle_t **out, const scitt_mem_t *mem);

/* scitt_merkle_free releases `t`; NULL is a no-op. */
void scitt_merkle_free(scitt_merkle_t *t);

/* scitt_merkle_size returns the number of leaves. */
uint64_t scitt_merkle_size(const scitt_merkle_t *t);

/* scitt_merkle_root writes MTH of the current tree (SHA-256("") when empty).
 * It folds the frontier: at most 63 hashes, no allocation. */
void scitt_merkle_root(const scitt_merkle_t *t, uint8_t out[32]);

/* scitt_merkle_restore replaces the state of `t` with the tree of `size`
 * leaves held by the tiles `rd` reads: it reads only the growing tile of
 * each level (at most 8 reads) and recomputes the frontier from them. The
 * caller should compare scitt_merkle_root() with its stored tree head.
 * Returns 0; SCITT_ECORRUPT if a needed tile is absent or narrower than the
 * size needs; a reader error; SCITT_ENOMEM. On failure `t` is left empty. */
int scitt_merkle_restore(scitt_merkle_t *t, const scitt_tile_reader_t *rd, uint64_t size);

/* scitt_merkle_append adds `num_leaves` leaf hashes (already SHA-256(0x00 ||
 * entry)) at indexes size..size+num_leaves-1. Every new interior node is
 * computed height by height, one scitt_sha256_nodes() call per height for
 * the whole batch, so the multi-lane kernel gets wide batches.
 *
 * On success `*out_tiles` lists `*out_num_tiles` tiles that changed, ordered
 * by level then index: each full tile completed by the batch, and each
 * level's growing tile with its new width. Writing all of them (replacing
 * the stored tile at that level and index) brings storage to the new size.
 * `out_root` (may be NULL) receives the new root. The list and the hashes it
 * points to are owned by `t` and stay valid until the next append, restore
 * or free of `t`.
 *
 * Returns 0; SCITT_ERANGE if the size would overflow; SCITT_ENOMEM (then `t`
 * is unchanged). `num_leaves` 0 is allowed and changes nothing. */
int scitt_merkle_append(scitt_merkle_t *t, const uint8_t (*leaf_hashes)[32], size_t num_leaves,
                        const scitt_merkle_tile_t **out_tiles, size_t *out_num_tiles, uint8_t out_root[32]);

/* ------------------------------------------------------------------------ */
/* Proofs from stored tiles                                                 */

/* scitt_merkle_prover_t answers root, inclusion and consistency questions
 * about one tree size from stored tiles. It caches the internal nodes of
 * every tile it reads (a direct-mapped cache), so proofs for many leaves at
 * one size (a sequencer batch) hash each tile once. Creating it reads the
 * last leaf's tile; the nodes on the right border above it are folded from
 * the right-edge tiles when first needed (O(log n) tiles); each proof reads
 * at most one tile per level.
 *
 * The reader must stay valid, and the stored tiles unchanged up to `size`,
 * for the prover's lifetime. */
typedef struct scitt_merkle_prover scitt_merkle_prover_t;

/* scitt_merkle_prover_new prepares proofs for the tree of `size` leaves
 * (size >= 1). `cache_tiles` is the number of tile slots to keep (rounded up
 * to a multiple of 8, at least 8; each slot takes 16 KiB when used); pass 0
 * for the default of 64, enough for one batch of 16384 leaves.
 * Returns 0; SCITT_ERANGE for size 0; SCITT_ECORRUPT if a tile is missing or
 * too narrow; a reader error; SCITT_ENOMEM. */
int scitt_merkle_prover_new(scitt_merkle_prover_t **out, const scitt_mem_t *mem, const scitt_tile_reader_t *rd,
                            uint64_t size, size_t cache_tiles);

void scitt_merkle_prover_free(scitt_merkle_prover_t *p);

/* scitt_merkle_prover_root writes MTH of the prover's tree. Returns 0 or
 * a tile error (the right border above the lowest node is folded on first
 * need, here or in a proof). */
int scitt_merkle_prover_root(scitt_merkle_prover_t *p, uint8_t out[32]);

/* scitt_merkle_prover_inclusion writes PATH(index, D[size]) (RFC 9162
 * 2.1.3.1), leaf to root, into `out_path` (room for SCITT_MERKLE_MAX_PROOF
 * hashes) and its length into `*out_len`. Returns 0; SCITT_ERANGE if index
 * >= size; SCITT_ECORRUPT, a reader error or SCITT_ENOMEM from tile reads. */
int scitt_merkle_prover_inclusion(scitt_merkle_prover_t *p, uint8_t (*out_path)[32], size_t *out_len, uint64_t index);

/* scitt_merkle_prover_consistency writes PROOF(old_size, D[size]) (RFC 9162
 * 2.1.4.1) for 0 < old_size < size, or an empty proof for old_size == size.
 * Returns 0; SCITT_ERANGE for old_size 0 or old_size > size; tile errors as
 * above. */
int scitt_merkle_prover_consistency(scitt_merkle_prover_t *p, uint8_t (*out_proof)[32], size_t *out_len,
                                    uint64_t old_size);

/* scitt_merkle_tile_cache_t keeps the 511-node tile trees of tiles, so
 * provers over the same tiles hash each tile once instead of once per
 * proof: a proof for an old leaf becomes lookups. A tile's tree is built
 * from all the hashes stored when it was read (a stored hash never changes
 * and a tile only grows), serves every prover needing no more of them, and
 * is rebuilt once a prover needs more of a growing tile. Attach it to a
 * scitt_tile_reader_t (`cache`); provers then look tiles up and add every
 * tile they read.
 *
 * One cache per tile source (one append-only log): entries are keyed by
 * level and index alone. Thread-safe: any number of provers on any threads may share it.
 * Bounded: the tiles it holds take at most `max_bytes` (16 KiB and a little
 * each; least recently used first out), plus the tiles live provers still
 * use after their eviction (at most one per prover slot). A `max_bytes`
 * below one tile caches nothing. It must outlive every prover using it.
 * scitt_merkle_tile_cache_new returns 0 or SCITT_ENOMEM; `*out` is newly
 * allocated; scitt_merkle_tile_cache_free(NULL) is a no-op. */
int scitt_merkle_tile_cache_new(scitt_merkle_tile_cache_t **out, size_t max_bytes);
void scitt_merkle_tile_cache_free(scitt_merkle_tile_cache_t *c);

typedef struct scitt_merkle_tile_cache_stats {
    size_t num_tiles, bytes, max_bytes;
    uint64_t hits, misses, evictions; /* tile lookups since creation */
} scitt_merkle_tile_cache_stats_t;

/* scitt_merkle_tile_cache_stats reads the counters (one consistent view). */
void scitt_merkle_tile_cache_stats(scitt_merkle_tile_cache_t *c, scitt_merkle_tile_cache_stats_t *out);

/* scitt_merkle_tile_cache_copy copies the 256 hashes of full tile (level,
 * index) into `out` when the cache holds its tree built from all of them
 * (counted as a lookup): 0, or SCITT_ENOTFOUND. */
int scitt_merkle_tile_cache_copy(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index, uint8_t (*out)[32]);

/* scitt_merkle_tile_cache_add caches the tile tree of tile (level, index)
 * built from its first `width` (1..256) `hashes`, in place of a narrower
 * one, as a prover reading them would. The caller vouches that they are
 * the log's (read from its committed store). */
void scitt_merkle_tile_cache_add(scitt_merkle_tile_cache_t *c, unsigned level, uint64_t index, const uint8_t *hashes,
                                 size_t width);

/* One-shot forms: each makes a small prover, answers, and frees it. Same
 * results and errors as above. scitt_merkle_root_at accepts size 0. */
int scitt_merkle_root_at(const scitt_mem_t *mem, const scitt_tile_reader_t *rd, uint64_t size, uint8_t out[32]);
int scitt_merkle_inclusion_proof(const scitt_mem_t *mem, const scitt_tile_reader_t *rd, uint64_t size, uint64_t index,
                                 uint8_t (*out_path)[32], size_t *out_len);
int scitt_merkle_consistency_proof(const scitt_mem_t *mem, const scitt_tile_reader_t *rd, uint64_t old_size,
                                   uint64_t size, uint8_t (*out_proof)[32], size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Verification (RFC 9162 2.1.3.2 and 2.1.4.2, transparency-dev semantics)   */

/* scitt_merkle_root_from_inclusion computes the root that `path` proves for
 * `leaf_hash` at `index` in a tree of `size` leaves. Returns 0;
 * SCITT_ERANGE if index >= size; SCITT_EMALFORMED if path_len > 64 (checked
 * first) or `path` is NULL with path_len > 0; SCITT_EPROOF if the path has
 * the wrong length for (index, size). */
int scitt_merkle_root_from_inclusion(uint8_t out_root[32], uint64_t index, uint64_t size, const uint8_t leaf_hash[32],
                                     const uint8_t (*path)[32], size_t path_len);

/* scitt_merkle_verify_inclusion checks that `path` proves `leaf_hash` at
 * `index` in the tree of `size` leaves with root `root`. Returns 0 or the
 * errors of scitt_merkle_root_from_inclusion, and SCITT_EPROOF when the
 * computed root differs. */
int scitt_merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[32], const uint8_t (*path)[32],
                                  size_t path_len, const uint8_t root[32]);

/* scitt_merkle_verify_consistency checks that the tree of `size2` leaves
 * with root `root2` extends the tree of `size1` leaves with root `root1`.
 * size1 == size2 needs an empty proof and equal roots. Returns 0;
 * SCITT_EMALFORMED if proof_len > 64 (checked first); SCITT_ERANGE if
 * size1 == 0 or size2 < size1; SCITT_EPROOF otherwise when it does not
 * verify. */
int scitt_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[32], const uint8_t root2[32],
                                    const uint8_t (*proof)[32], size_t proof_len);

/* Length-checked forms for untrusted input (receipts, fuzzing, test
 * probes): every hash must be exactly 32 bytes, else SCITT_EMALFORMED.
 * The count cap is checked before any length. Otherwise as above, with one
 * exception that transparency-dev/merkle has and its probes pin: for
 * consistency with size1 == size2 > 0 nothing is hashed, and the roots are
 * compared as byte strings of any length (equal and an empty proof: 0). */
int scitt_merkle_verify_inclusion_spans(uint64_t index, uint64_t size, scitt_span_t leaf_hash, const scitt_span_t *path,
                                        size_t path_len, scitt_span_t root);
int scitt_merkle_verify_consistency_spans(uint64_t size1, uint64_t size2, scitt_span_t root1, scitt_span_t root2,
                                          const scitt_span_t *proof, size_t proof_len);

/* ------------------------------------------------------------------------ */
/* C2SP tlog-tiles paths and entry bundles                                   */

/* Longest path scitt_merkle_tile_path_encode writes, without the NUL. */
#define SCITT_MERKLE_TILE_PATH_MAX 64

/* scitt_tile_path_t names a tile resource: `tile/<L>/<N>[.p/<W>]`, or with
 * `entries` set `tile/entries/<N>[.p/<W>]` (then `level` is 0). `width` 0
 * means a full tile, 1..255 a partial one. */
typedef struct scitt_tile_path {
    bool entries;
    unsigned level; /* 0..63 */
    uint64_t index;
    unsigned width; /* 0 (full) or 1..255 */
} scitt_tile_path_t;

/* scitt_merkle_tile_path_encode writes the canonical path of `tp` and a NUL
 * into `out` (capacity `out_cap`, SCITT_MERKLE_TILE_PATH_MAX + 1 always
 * suffices) and its length into `*out_len`. N is written in 3-digit groups,
 * every group but the last prefixed with `x` (1234067 -> x001/x234/067).
 * Returns 0; SCITT_EINVAL for level > 63, width > 255 or a level with
 * `entries`; SCITT_ETOOBIG if `out` is too small. */
int scitt_merkle_tile_path_encode(char *out, size_t out_cap, size_t *out_len, const scitt_tile_path_t *tp);

/* scitt_merkle_tile_path_parse accepts exactly the canonical paths encode
 * writes (no leading `/`, no query): anything else, including leading zeros
 * in L or W, a first N group of 000 when more follow, missing or misprefixed
 * groups, W outside 1..255, N beyond uint64_t, extra slashes or trailing
 * bytes, is SCITT_EMALFORMED. */
int scitt_merkle_tile_path_parse(scitt_tile_path_t *out, const char *path, size_t path_len);

/* scitt_merkle_bundle_encode appends the entry bundle of `num_entries`
 * entries (1..256) to `out`: each entry as a big-endian uint16 length and
 * its bytes. Returns 0; SCITT_EINVAL for a count outside 1..256;
 * SCITT_ETOOBIG for an entry over 65535 bytes or the buffer's maximum;
 * SCITT_ENOMEM. On failure `out` keeps its previous length. */
int scitt_merkle_bundle_encode(scitt_buf_t *out, const scitt_span_t *entries, size_t num_entries);

/* scitt_merkle_bundle_decode splits a bundle into spans pointing into
 * `data` (borrowed, valid as long as `data`). Returns 0 with `*out_num`
 * entries (>= 1); SCITT_EMALFORMED for an empty bundle; SCITT_ETRUNCATED if
 * a length or an entry runs past the end; SCITT_ETOOBIG for more than
 * `max_entries` entries. */
int scitt_merkle_bundle_decode(scitt_span_t *out_entries, size_t max_entries, size_t *out_num, const uint8_t *data,
                               size_t data_len);

#endif /* SCITT_MERKLE_H */
