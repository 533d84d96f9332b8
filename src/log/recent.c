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
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Average bytes per receipt the slot count is sized for (smaller receipts
 * leave bytes unused, larger ones slots). */
#define RECENT_BYTES_PER_SLOT 256

int scitt_log__recent_init(scitt_log__recent_t *r, size_t bytes)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    if (bytes < 4096) {
        return 0; /* off */
    }
    r->num_slots = bytes / RECENT_BYTES_PER_SLOT;
    r->cap = bytes - r->num_slots * sizeof(scitt_log__recent_slot_t);
    r->bytes = malloc(r->cap); /* pages are touched only as receipts arrive */
    r->slots = malloc(r->num_slots * sizeof(scitt_log__recent_slot_t));
    if (r->bytes == NULL || r->slots == NULL) {
        free(r->bytes);
        free(r->slots);
        r->bytes = NULL;
        r->slots = NULL;
        r->num_slots = 0;
        return SCITT_ENOMEM;
    }
    return 0;
}

void scitt_log__recent_cleanup(scitt_log__recent_t *r)
{
    free(r->bytes);
    free(r->slots);
    r->bytes = NULL;
    r->slots = NULL;
    r->num_slots = 0;
    pthread_mutex_destroy(&r->lock);
}

/* drop_oldest forgets leaf `first`; the caller holds the lock. */
static void drop_oldest(scitt_log__recent_t *r)
{
    scitt_log__recent_slot_t *s = &r->slots[r->first % r->num_slots];
    r->used -= s->owned;
    r->first++;
}

void scitt_log__recent_put(scitt_log__recent_t *r, uint64_t leaf, scitt_span_t receipt)
{
    if (r->num_slots == 0 || receipt.len == 0 || receipt.len > r->cap / 4) {
        return;
    }
    pthread_mutex_lock(&r->lock);
    if (leaf != r->next || r->first == r->next) {
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
    r->slots[leaf % r->num_slots] = (scitt_log__recent_slot_t){at, receipt.len, receipt.len};
    r->head = at + receipt.len;
    r->used += receipt.len;
    r->next = leaf + 1;
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
