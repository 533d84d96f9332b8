/*
 * internal.h: the CBOR cursor and encoder shared by the files of src/cose/
 * (statements now, receipts next). Only src/cose/ includes <cbor.h>.
 *
 * Reading: a scitt_cose__cur_t walks a byte range. Every read either
 * consumes exactly one item (or one head, for arrays, maps and tags) and
 * returns 0, or returns a negative SCITT_E* code, leaves the cursor where it
 * was, and sets `cur->err_desc` to a static reason. Heads must be definite
 * and minimal (RFC 8949 section 4.2.1 preferred serialisation, floats
 * included), text strings valid UTF-8, and the maps the cursor skips free of
 * duplicate keys; strings come back as spans into the input. Nothing
 * allocates.
 *
 * Writing: scitt_cose__put_* append preferred-serialisation CBOR to a
 * scitt_buf_t; they return 0, SCITT_ENOMEM or SCITT_ETOOBIG.
 */
#ifndef SCITT_SRC_COSE_INTERNAL_H
#define SCITT_SRC_COSE_INTERNAL_H

#include "scitt/cose.h"

/* Nesting below any item the cursor skips; deeper is SCITT_EDEPTH. */
#define SCITT_COSE__MAX_DEPTH 16

enum {
    SCITT_CBOR_UINT = 0,
    SCITT_CBOR_NEGINT = 1,
    SCITT_CBOR_BSTR = 2,
    SCITT_CBOR_TSTR = 3,
    SCITT_CBOR_ARRAY = 4,
    SCITT_CBOR_MAP = 5,
    SCITT_CBOR_TAG = 6,
    SCITT_CBOR_SIMPLE = 7,
};
/* Simple values (major 7) we accept; floats are accepted when skipped. */
enum { SCITT_CBOR_FALSE = 20, SCITT_CBOR_TRUE = 21, SCITT_CBOR_NULL = 22, SCITT_CBOR_UNDEF = 23 };

typedef struct scitt_cose__cur {
    const uint8_t *p;
    const uint8_t *end;
    const char *err_desc; /* why the last failing read failed */
    /* stored: the bytes were committed to the log by an earlier release, so
     * the checks added since are skipped (text that is not UTF-8, floats
     * wider than needed, repeated keys in maps the cursor skips); the
     * profile of heads (definite, minimal) is kept. Never for input. */
    bool stored;
} scitt_cose__cur_t;

/* scitt_cose__item_t is one decoded head. */
typedef struct scitt_cose__item {
    int major;
    uint64_t val;     /* integer argument, string length, count, tag number or simple value */
    scitt_span_t raw; /* the head, plus the content for strings */
    scitt_span_t str; /* bstr/tstr content */
} scitt_cose__item_t;

static inline void scitt_cose__cur_init(scitt_cose__cur_t *cur, scitt_span_t in)
{
    cur->p = in.base;
    cur->end = in.base + in.len;
    cur->err_desc = NULL;
    cur->stored = false;
}

static inline size_t scitt_cose__left(const scitt_cose__cur_t *cur)
{
    return (size_t)(cur->end - cur->p);
}

/* scitt_cose__peek returns the major type of the next item, or -1 at the end. */
static inline int scitt_cose__peek(const scitt_cose__cur_t *cur)
{
    return cur->p < cur->end ? cur->p[0] >> 5 : -1;
}

/* scitt_cose__fail records `desc` and returns `rc`, for one-line error exits. */
static inline int scitt_cose__fail(scitt_cose__cur_t *cur, int rc, const char *desc)
{
    cur->err_desc = desc;
    return rc;
}

/* scitt_cose__read_head reads one head (and a string's content). */
int scitt_cose__read_head(scitt_cose__cur_t *cur, scitt_cose__item_t *out);
/* scitt_cose__read_skip reads one complete item of any type, validating it,
 * and sets `*out_raw` (may be NULL) to its bytes. */
int scitt_cose__read_skip(scitt_cose__cur_t *cur, scitt_span_t *out_raw);
/* Typed reads: anything else is SCITT_ETYPE with reason `what`. */
int scitt_cose__read_bstr(scitt_cose__cur_t *cur, scitt_span_t *out, const char *what);
int scitt_cose__read_tstr(scitt_cose__cur_t *cur, scitt_span_t *out, const char *what);
int scitt_cose__read_int(scitt_cose__cur_t *cur, int64_t *out, const char *what);
int scitt_cose__read_uint(scitt_cose__cur_t *cur, uint64_t *out, const char *what);
/* Array and map heads; the count is checked against the bytes left. */
int scitt_cose__read_array(scitt_cose__cur_t *cur, uint64_t *out_num, const char *what);
int scitt_cose__read_map(scitt_cose__cur_t *cur, uint64_t *out_num, const char *what);
/* scitt_cose__read_label reads an int or tstr (a label, or "int / tstr"). */
int scitt_cose__read_label(scitt_cose__cur_t *cur, scitt_cose_label_t *out, const char *what);
/* scitt_cose__read_end fails with SCITT_ETRAILING unless the cursor is done. */
int scitt_cose__read_end(scitt_cose__cur_t *cur);

/* scitt_cose__keys_t detects duplicate map keys. Every encoding the cursor
 * accepts is the only one of its value, so two keys are equal exactly when
 * their encodings are. A small hash table on a fingerprint of each key (its
 * length, first and last 8 bytes) keeps the check linear for the common
 * keys: only keys with equal fingerprints are compared in full. A zeroed
 * struct is empty. */
#define SCITT_COSE__KEY_SLOTS (2 * SCITT_COSE_MAX_MAP_KEYS)
typedef struct scitt_cose__keys {
    size_t num;
    scitt_span_t raw[SCITT_COSE_MAX_MAP_KEYS];
    uint8_t slot[SCITT_COSE__KEY_SLOTS];  /* 1 + index into raw; 0: empty */
    uint32_t mark[SCITT_COSE__KEY_SLOTS]; /* the fingerprint of the key in the slot */
} scitt_cose__keys_t;

/* scitt_cose__keys_init empties `keys` (cheaper than zeroing it). */
static inline void scitt_cose__keys_init(scitt_cose__keys_t *keys)
{
    keys->num = 0;
    memset(keys->slot, 0, sizeof(keys->slot));
}

/* scitt_cose__keys_add records `raw`: SCITT_EDUPKEY if already seen,
 * SCITT_EHEADER beyond SCITT_COSE_MAX_MAP_KEYS. */
int scitt_cose__keys_add(scitt_cose__cur_t *cur, scitt_cose__keys_t *keys, scitt_span_t raw);
bool scitt_cose__keys_has(const scitt_cose__keys_t *keys, scitt_span_t raw);

/* scitt_cose__label_is reports whether `l` is the integer label `num`. */
static inline bool scitt_cose__label_is(const scitt_cose_label_t *l, int64_t num)
{
    return !l->is_text && l->num == num;
}

/* scitt_cose__hdrs_read reads one header map at `cur` into `out`, recording
 * its keys in `keys` (for the protected/unprotected disjointness check). */
int scitt_cose__hdrs_read(scitt_cose__cur_t *cur, scitt_cose_hdrs_t *out, scitt_cose__keys_t *keys);

/* Encoding. */
int scitt_cose__put_head(scitt_buf_t *out, int major, uint64_t val);
int scitt_cose__put_int(scitt_buf_t *out, int64_t v);
int scitt_cose__put_bstr(scitt_buf_t *out, scitt_span_t s);
int scitt_cose__put_tstr(scitt_buf_t *out, scitt_span_t s);

/* scitt_cose__put_sig_structure appends ["Signature1", protected_bstr, h'',
 * payload]; shared by statements and receipts (whose payload is the
 * detached Merkle root). */
int scitt_cose__put_sig_structure(scitt_buf_t *out, scitt_span_t protected_bstr, scitt_span_t payload);

#endif /* SCITT_SRC_COSE_INTERNAL_H */
