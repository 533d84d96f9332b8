/*
 * check.h: `scittd --check`, an offline scrub of a whole store (issue 16 K).
 *
 * Served statements are checked one by one against their level-0 tile
 * (scitt_store_get_entry_checked); this reads everything once, so damage
 * nobody has asked for yet is found too.
 */
#ifndef SCITT_CHECK_H
#define SCITT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "scitt/seq.h"
#include "scitt/store.h"

typedef struct scitt_check_report {
    uint64_t entries; /* entries verified */
    uint64_t heads;   /* tree heads (and their signed checkpoints) verified */
} scitt_check_report_t;

/* scitt_check_store rebuilds the Merkle tree from every stored entry and
 * compares it, in order, with every stored tile (level 0 holds each entry's
 * leaf hash), every tree head's root, and every head's signed checkpoint
 * (verified with the log's checkpoint key in `keys`, for the origin meta
 * records); it also refuses entries past the latest head. Returns 0 when
 * all agree; otherwise SCITT_EDAMAGED (an entry that does not match its
 * leaf hash), SCITT_ECORRUPT (anything else that disagrees) or a read
 * error, and `msg` names the first damage: the entry index, tile or tree
 * size. One long read transaction: run it while no scittd writes. */
int scitt_check_store(scitt_store_t *st, const scitt_seq_keys_t *keys, scitt_check_report_t *out, char *msg,
                      size_t msg_cap);

#endif /* SCITT_CHECK_H */
