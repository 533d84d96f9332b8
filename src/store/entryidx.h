/*
 * entryidx.h (internal to src/store): the entry index, entry hash -> leaf index,
 * kept OUT of the LMDB commit path in a file beside the environment,
 * `<data>/dedup.idx` (store format 2).
 *
 * Why: as a B-tree keyed by random 32-byte hashes, every insert into a large
 * table dirties its own 4 KiB page, and every commit wrote and fsynced those
 * pages: ~4 KiB per 400-byte entry, which capped the sequencer at ~90k
 * entries/s with fsync (bench/RESULTS.md). The index is derived data (every
 * entry is in `entries`), so it does not need to be durable per batch.
 *
 * File: a 4 KiB header page, then a power-of-two array of 16-byte slots
 * {tag, index + 1 | check << 40} (host byte order), mmap'd MAP_SHARED.
 * tag = the first 8 bytes of the entry hash, home slot = tag & mask,
 * linear probing, no deletions; an all-zero slot is empty. check is a
 * CRC-24 of tag and index + 1 (version 2; issue 16 J): a slot with a
 * flipped bit would otherwise hide its entry, or cut the probe chains
 * through it, and the entry would be registered a second time. The CRC
 * finds every single flipped bit (and any burst up to 24 bits; wider
 * garbage with probability 1 - 2^-24). A damaged slot found at open
 * rebuilds the table; one met by a lookup fails that lookup with
 * SCITT_ECORRUPT (never a miss), and one met by a growth stops the table
 * (as a failed growth does) until it is rebuilt. A slot zeroed whole
 * looks empty: that is the torn write of a crash, which the watermark
 * below covers, not damage a check can see. The table grows (doubles,
 * into a new file renamed over the old one) before its load passes 0.7.
 * The header holds magic, version, slot size, the store's entry index id (random,
 * in LMDB meta, so a table from another store is foreign), slot count,
 * count, `synced_size` and a checksum.
 *
 * Exactness: a slot stores only 64 bits of the hash, so a lookup confirms
 * every tag match through the caller's `confirm` callback (the store checks
 * all 32 bytes against the level-0 tile: its leaf hash at that index must be
 * SHA-256(0x00 || entry hash); only a leaf no tile covers yet is confirmed by
 * hashing the stored entry). No false hit is
 * possible, whatever the slots hold: hashes that share a tag, a torn slot
 * after power loss, a stale slot. Garbage can only cause a miss (or,
 * failing its check, an error).
 *
 * Durability: inserts happen after the LMDB commit of their entries returned
 * success (scitt_store_commit). A syncer thread msyncs the table every so
 * often and then durably advances `synced_size`: entries [0, synced_size)
 * are in the file on disk. On open, entries [synced_size, entry count) are
 * re-inserted from LMDB (idempotent: a slot with the same tag and index is
 * found, not duplicated); a missing, foreign, corrupt table, or one whose
 * watermark is past the log's end, is rebuilt from every entry.
 *
 * Threads: one writer (insert), any number of lookups. An rwlock guards the
 * slots: scitt_entryidx_find holds it shared, an insert batch and the pointer
 * swap of a growth hold it exclusively (a growth builds the new table
 * before, while lookups keep using the old one). `sync_lock` serialises the
 * syncer's msync with a growth unmapping the old table.
 */
#ifndef SCITT_SRC_STORE_ENTRYIDX_H
#define SCITT_SRC_STORE_ENTRYIDX_H

#include <stdbool.h>
#include <stdint.h>

#include "scitt/core.h"

#define SCITT_ENTRYIDX_FILE   "dedup.idx"
#define SCITT_ENTRYIDX_ID_LEN 16

/* The file's layout (host byte order). */
#define SCITT_ENTRYIDX_MAGIC   "SCITTDX\n"
#define SCITT_ENTRYIDX_VERSION 2    /* 1: slots without a check */
#define SCITT_ENTRYIDX_HDR_LEN 4096 /* the header page; slots follow */

typedef struct scitt_entryidx_hdr {
    char magic[8];
    uint32_t version;
    uint32_t slot_size;
    uint8_t id[SCITT_ENTRYIDX_ID_LEN]; /* meta "dedup_id" of the store it indexes */
    uint64_t slots;                    /* a power of two */
    uint64_t count;                    /* filled slots when synced_size was written */
    uint64_t synced_size;              /* entries [0, synced_size) are in the file */
    uint64_t check;                    /* scitt_entryidx_hdr_check */
} scitt_entryidx_hdr_t;

typedef struct scitt_entryidx_slot {
    uint64_t tag; /* the first 8 bytes of the entry hash */
    uint64_t pos; /* leaf index + 1 (low 40 bits) | check (high 24 bits); 0 with tag 0: empty */
} scitt_entryidx_slot_t;

/* scitt_entryidx_hdr_check: the first 8 bytes of SHA-256 of the fields before `check`. */
uint64_t scitt_entryidx_hdr_check(const scitt_entryidx_hdr_t *h);

typedef struct scitt_entryidx scitt_entryidx_t;

/* confirm reports whether leaf `index` exists and its entry hash is `hash`. */
typedef bool (*scitt_entryidx_confirm_fn)(void *ctx, uint64_t index, const uint8_t hash[32]);

/* scitt_entryidx_open maps `path` (creating or rebuilding it when missing,
 * foreign or damaged) for a log of `num_entries` entries. `*out_from` is the
 * first entry the table may lack: the caller re-inserts [from, num_entries)
 * with scitt_entryidx_insert and then calls scitt_entryidx_start. `*out_rebuilt`
 * tells the table was started from scratch (and why in `*why`). */
int scitt_entryidx_open(scitt_entryidx_t **out, const char *path, const uint8_t id[SCITT_ENTRYIDX_ID_LEN],
                        uint64_t num_entries, bool nosync, uint64_t *out_from, const char **why);

/* scitt_entryidx_start starts the syncer thread. */
int scitt_entryidx_start(scitt_entryidx_t *d);

/* scitt_entryidx_close stops the syncer, syncs the table (a clean close leaves
 * synced_size at the log's end) and unmaps it. NULL is a no-op. */
void scitt_entryidx_close(scitt_entryidx_t *d);

/* scitt_entryidx_insert adds entries first .. first + n - 1 (writer thread
 * only); `first` is at most the end of what is indexed (SCITT_EINVAL for a
 * gap). Idempotent. Fails when the table could not grow: then the table is
 * broken and every lookup fails with that error (never a wrong answer)
 * while later inserts retry the growth, until the caller has inserted every
 * entry it committed meanwhile and calls scitt_entryidx_mended. */
int scitt_entryidx_insert(scitt_entryidx_t *d, uint64_t first, const uint8_t (*hashes)[32], size_t n);

/* scitt_entryidx_broken (writer thread) tells whether a failed insert broke the
 * table; `*out_indexed` is the first entry the table lacks. */
bool scitt_entryidx_broken(const scitt_entryidx_t *d, uint64_t *out_indexed);

/* scitt_entryidx_damaged (writer thread): the table broke on a damaged slot,
 * which no re-insert mends (only a rebuild at open does). */
bool scitt_entryidx_damaged(const scitt_entryidx_t *d);

/* scitt_entryidx_mended (writer thread): every committed entry is inserted
 * again; lookups work again. */
void scitt_entryidx_mended(scitt_entryidx_t *d);

/* scitt_entryidx_find: 0 with the index, SCITT_ENOTFOUND, or the error that
 * broke the table. Any thread. */
int scitt_entryidx_find(scitt_entryidx_t *d, const uint8_t hash[32], scitt_entryidx_confirm_fn confirm, void *ctx,
                        uint64_t *out_index);

/* For tests: the number of slots, filled slots and the durable watermark. */
void scitt_entryidx_stats(scitt_entryidx_t *d, uint64_t *out_slots, uint64_t *out_count, uint64_t *out_synced);
/* scitt_entryidx_sync_now syncs at once (tests; the syncer does it on its own). */
int scitt_entryidx_sync_now(scitt_entryidx_t *d);
/* scitt_store__entryidx returns an LMDB store's index (lmdb.c; tests only). */
struct scitt_store;
scitt_entryidx_t *scitt_store__entryidx(struct scitt_store *st);

#endif
