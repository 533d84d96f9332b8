/*
 * recent.c: the receipts of the most recently committed leaves, kept as the
 * answer thread built them, so the GET /entries/{id} that follows a 202 (or
 * any read of a fresh entry) is a copy instead of an inclusion proof, a
 * head read and a CBOR encoding.
 *
 * Leaves are committed in order, so the receipts arrive in leaf order and
 * the cache is a window [first, next) of consecutive leaves: a ring of
 * bytes holding the receipts back to back, and a ring of slots (offset,
 * length) indexed by leaf modulo the slot count. Adding a receipt drops the
 * oldest ones until its bytes fit; a receipt that arrives out of order
 * (after a restart, or a leaf whose receipt failed) restarts the window.
 * One mutex; a lookup copies under it (a few hundred bytes).
 *
 * Beside the ring, a table from entry hash to leaf for the leaves held (a
 * GET /entries/{id} names the entry, not the leaf): linear probing over
 * cells of leaf + 1, at least two cells per slot; the key of a cell is the
 * entry hash kept in its leaf's slot, so a lookup always compares the full
 * hash. A leaf leaves the table when it leaves the ring (backward-shift
 * deletion, no tombstones), so the table holds exactly the window's leaves
 * and only committed ones: put is called once a leaf is committed.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Average bytes per receipt the slot count is sized for (smaller receipts
 * leave bytes unused, larger ones slots): a receipt carries a 32-byte hash
 * per tree level, so from 4,096 leaves on it is 400 bytes and more. */
#define RECENT_BYTES_PER_SLOT 384

int scitt_log__recent_init(scitt_log__recent_t *r, size_t bytes)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    if (bytes < 4096) {
        return 0; /* off */
    }
    r->num_slots = bytes / RECENT_BYTES_PER_SLOT;
    size_t cells = 2;
    while (cells < 2 * r->num_slots) {
        cells *= 2;
    }
    r->cells_mask = cells - 1;
    size_t fixed = r->num_slots * sizeof(scitt_log__recent_slot_t) + cells * sizeof(uint64_t);
    r->cap = bytes > 2 * fixed ? bytes - fixed : bytes / 2;
    r->bytes = malloc(r->cap); /* pages are touched only as receipts arrive */
    r->slots = malloc(r->num_slots * sizeof(scitt_log__recent_slot_t));
    r->cells = calloc(cells, sizeof(uint64_t));
    if (r->bytes == NULL || r->slots == NULL || r->cells == NULL) {
        free(r->bytes);
        free(r->slots);
        free(r->cells);
        r->bytes = NULL;
        r->slots = NULL;
        r->cells = NULL;
        r->num_slots = 0;
        return SCITT_ENOMEM;
    }
    return 0;
}

void scitt_log__recent_cleanup(scitt_log__recent_t *r)
{
    free(r->bytes);
    free(r->slots);
    free(r->cells);
    r->bytes = NULL;
    r->slots = NULL;
    r->cells = NULL;
    r->num_slots = 0;
    pthread_mutex_destroy(&r->lock);
}

/* ---- the entry table; the caller holds the lock ---- */

static size_t home(const scitt_log__recent_t *r, const uint8_t entry[32])
{
    uint64_t h;
    memcpy(&h, entry, sizeof(h)); /* an entry hash is SHA-256: uniform */
    return (size_t)h & r->cells_mask;
}

/* cell_entry: the entry hash of the leaf in cell `i` (not empty). */
static const uint8_t *cell_entry(const scitt_log__recent_t *r, size_t i)
{
    return r->slots[(r->cells[i] - 1) % r->num_slots].entry;
}

/* find_cell returns the cell of `entry`, or the empty cell ending its run. */
static size_t find_cell(const scitt_log__recent_t *r, const uint8_t entry[32])
{
    size_t i = home(r, entry);
    while (r->cells[i] != 0 && memcmp(cell_entry(r, i), entry, 32) != 0) {
        i = (i + 1) & r->cells_mask;
    }
    return i;
}

/* unmap takes the entry of the slot of leaf `leaf` out of the table. */
static void unmap(scitt_log__recent_t *r, uint64_t leaf)
{
    const scitt_log__recent_slot_t *s = &r->slots[leaf % r->num_slots];
    if (!s->has_entry) {
        return;
    }
    size_t i = find_cell(r, s->entry);
    if (r->cells[i] != leaf + 1) {
        return; /* not mapped (a repeat of an entry mapped to another leaf) */
    }
    /* Backward shift: move later cells of the run into the hole when
     * their home is not between the hole and them. */
    for (size_t j = (i + 1) & r->cells_mask; r->cells[j] != 0; j = (j + 1) & r->cells_mask) {
        size_t k = home(r, cell_entry(r, j));
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            r->cells[i] = r->cells[j];
            i = j;
        }
    }
    r->cells[i] = 0;
}

/* drop_oldest forgets leaf `first`; the caller holds the lock. */
static void drop_oldest(scitt_log__recent_t *r)
{
    scitt_log__recent_slot_t *s = &r->slots[r->first % r->num_slots];
    unmap(r, r->first);
    r->used -= s->owned;
    r->first++;
}

void scitt_log__recent_put(scitt_log__recent_t *r, uint64_t leaf, const uint8_t *entry, scitt_span_t receipt)
{
    if (r->num_slots == 0 || receipt.len == 0 || receipt.len > r->cap / 4) {
        return;
    }
    pthread_mutex_lock(&r->lock);
    if (leaf != r->next || r->first == r->next) {
        while (r->first < r->next) {
            drop_oldest(r); /* empties the table */
        }
        r->first = r->next = leaf; /* a new window */
        r->head = 0;
        r->used = 0;
    }
    /* The receipt goes at head, or at 0 if it would cross the end (the
     * bytes skipped count as used by the leaf before it until it leaves). */
    bool wrap = r->head + receipt.len > r->cap;
    size_t at = wrap ? 0 : r->head;
    size_t skipped = wrap ? r->cap - r->head : 0;
    while (r->first < r->next && (r->next - r->first >= r->num_slots || r->used + skipped + receipt.len > r->cap)) {
        drop_oldest(r);
    }
    if (r->first == r->next) {
        r->used = 0; /* empty: skipped bytes need no owner */
        skipped = 0;
    } else if (skipped != 0) {
        r->slots[(r->next - 1) % r->num_slots].owned += skipped;
        r->used += skipped;
    }
    memcpy(r->bytes + at, receipt.base, receipt.len);
    scitt_log__recent_slot_t *s = &r->slots[leaf % r->num_slots];
    *s = (scitt_log__recent_slot_t){at, receipt.len, receipt.len, {0}, entry != NULL};
    r->head = at + receipt.len;
    r->used += receipt.len;
    r->next = leaf + 1;
    if (entry != NULL) {
        memcpy(s->entry, entry, 32);
        size_t i = find_cell(r, entry);
        if (r->cells[i] == 0) { /* an entry has one leaf: a repeat keeps the first */
            r->cells[i] = leaf + 1;
        }
    }
    pthread_mutex_unlock(&r->lock);
}

int scitt_log__recent_get(scitt_log__recent_t *r, uint64_t leaf, scitt_buf_t *out)
{
    int rc = SCITT_ENOTFOUND;
    if (r->num_slots == 0) {
        return rc;
    }
    pthread_mutex_lock(&r->lock);
    if (leaf >= r->first && leaf < r->next) {
        const scitt_log__recent_slot_t *s = &r->slots[leaf % r->num_slots];
        rc = scitt_buf_append(out, r->bytes + s->off, s->len);
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

int scitt_log__recent_find(scitt_log__recent_t *r, const uint8_t entry[32], uint64_t *out_leaf, scitt_buf_t *out)
{
    int rc = SCITT_ENOTFOUND;
    if (r->num_slots == 0) {
        return rc;
    }
    pthread_mutex_lock(&r->lock);
    size_t i = find_cell(r, entry);
    if (r->cells[i] != 0) {
        uint64_t leaf = r->cells[i] - 1;
        const scitt_log__recent_slot_t *s = &r->slots[leaf % r->num_slots];
        rc = scitt_buf_append(out, r->bytes + s->off, s->len);
        *out_leaf = leaf;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}
