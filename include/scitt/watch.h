/*
 * watch.h: the watch file of `scitt monitor` (issue 10) and the rules that
 * decide which log entries raise an alert and how they are flagged. Pure
 * bytes in, answers out: no I/O, so the parser can be fuzzed and the rules
 * tested without a log.
 *
 * A watch file is UTF-8 text, one rule per line:
 *
 *   # comment (a line whose first non-blank character is '#')
 *   kid <kid>                 watch statements signed with this key id (the
 *                             protected kid, or the SHA-256 thumbprint of the
 *                             x5chain leaf when there is no kid), in unpadded
 *                             base64url as scitt keygen prints it, or as 64
 *                             hex digits (scitt_kid_parse in scitt/core.h)
 *   iss <text>                watch statements whose CWT iss is exactly this
 *   sub <text>                watch statements whose CWT sub is exactly this
 *   expect-sub <text>[*]      a subject the owner's own statements use
 *   expect-iss <text>[*]      an issuer the owner's own statements use
 *   expect-hours <HH-HH> [UTC]  hours in which the owner registers statements
 *
 * The keyword and its value are separated by blanks (spaces or tabs); the
 * value runs to the end of the line, without trailing blanks (so it may
 * contain blanks and '#'). A trailing '*' in an expect-sub or expect-iss
 * value makes it a prefix. Hours are [from, to) in UTC, 0 <= from <= 23,
 * 1 <= to <= 24, from != to; from > to wraps past midnight (22-06). Lines
 * end in LF or CRLF; other control bytes are errors. At least one kid, iss
 * or sub rule is required.
 *
 * An entry matches when its key id, iss or sub equals a watched one. A
 * matching entry is flagged (several flags may apply):
 *   unexpected-subject  expect-sub rules exist and its sub fits none
 *   unexpected-issuer   expect-iss rules exist and its iss fits none
 *   unexpected-key      kid rules exist and its key id is none of them
 *                       (matched by iss or sub, signed by another key)
 *   outside-hours       expect-hours rules exist and its time is in none
 *   time-unknown        expect-hours rules exist and it has no time
 * An entry with no flag looks like the owner's own ("expected").
 */
#ifndef SCITT_WATCH_H
#define SCITT_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "scitt/core.h"

#define SCITT_WATCH_MAX_LINE  4096 /* bytes per line, without the newline */
#define SCITT_WATCH_MAX_RULES 4096
#define SCITT_WATCH_MAX_KID   64 /* bytes of a decoded kid */

typedef enum scitt_watch_kind {
    SCITT_WATCH_KID = 1,
    SCITT_WATCH_ISS,
    SCITT_WATCH_SUB,
    SCITT_WATCH_EXPECT_SUB,
    SCITT_WATCH_EXPECT_ISS,
    SCITT_WATCH_EXPECT_HOURS,
} scitt_watch_kind_t;

/* One rule. `value` points into the parsed input (iss, sub, expect-*,
 * without a prefix '*'); a kid's bytes are in `kid`. */
typedef struct scitt_watch_rule {
    scitt_watch_kind_t kind;
    unsigned line; /* 1-based */
    scitt_span_t value;
    bool prefix;
    unsigned from_hour, to_hour;
    size_t kid_len;
    uint8_t kid[SCITT_WATCH_MAX_KID];
} scitt_watch_rule_t;

typedef struct scitt_watch {
    const scitt_mem_t *mem;
    scitt_watch_rule_t *rules; /* in file order */
    size_t num_rules;
    size_t _cap;
    size_t num_by_kind[SCITT_WATCH_EXPECT_HOURS + 1];
} scitt_watch_t;

/* scitt_watch_parse parses the watch file in `data` into `out` (which the
 * caller releases with scitt_watch_cleanup, on failure too). The rules
 * borrow from `data`, which must outlive `out`. `mem` NULL means the default
 * allocator.
 *
 * Returns 0, or SCITT_EMALFORMED (a line that is not a rule), SCITT_ETOOBIG
 * (a line over SCITT_WATCH_MAX_LINE, a kid over SCITT_WATCH_MAX_KID bytes,
 * more than SCITT_WATCH_MAX_RULES rules), SCITT_EINVAL (no kid, iss or sub
 * rule; `*out_line` is then 0) or SCITT_ENOMEM; `*out_line` (the 1-based line
 * at fault) and `*out_err_desc` (static text) say where and why. */
int scitt_watch_parse(scitt_watch_t *out, const scitt_mem_t *mem, const uint8_t *data, size_t len, unsigned *out_line,
                      const char **out_err_desc);

void scitt_watch_cleanup(scitt_watch_t *w);

/* What scitt_watch_check looks at in an entry; empty spans are absent. */
typedef struct scitt_watch_entry {
    scitt_span_t key_id;
    scitt_span_t iss;
    scitt_span_t sub;
    bool has_time;
    int64_t time; /* Unix seconds: registration time (or signing time) */
} scitt_watch_entry_t;

/* Which rules an entry matched (scitt_watch_hit_t.matched). */
enum { SCITT_WATCH_BY_KID = 1u << 0, SCITT_WATCH_BY_ISS = 1u << 1, SCITT_WATCH_BY_SUB = 1u << 2 };

/* Flags of a matching entry (scitt_watch_hit_t.flags); 0 is "expected". */
enum {
    SCITT_WATCH_UNEXPECTED_SUBJECT = 1u << 0,
    SCITT_WATCH_UNEXPECTED_ISSUER = 1u << 1,
    SCITT_WATCH_UNEXPECTED_KEY = 1u << 2,
    SCITT_WATCH_OUTSIDE_HOURS = 1u << 3,
    SCITT_WATCH_TIME_UNKNOWN = 1u << 4,
};
#define SCITT_WATCH_NUM_FLAGS 5

typedef struct scitt_watch_hit {
    unsigned matched; /* SCITT_WATCH_BY_* */
    unsigned flags;   /* SCITT_WATCH_UNEXPECTED_* ... */
    unsigned line;    /* the first watch rule that matched */
} scitt_watch_hit_t;

/* scitt_watch_check returns true when `e` matches a kid, iss or sub rule of
 * `w`, and then fills `out` (flags as described at the top). */
bool scitt_watch_check(const scitt_watch_t *w, const scitt_watch_entry_t *e, scitt_watch_hit_t *out);

/* scitt_watch_flag_name names one flag bit ("unexpected-subject", ...);
 * scitt_watch_match_name one SCITT_WATCH_BY_* bit ("kid", "iss", "sub"). */
const char *scitt_watch_flag_name(unsigned flag);
const char *scitt_watch_match_name(unsigned by);

/* scitt_watch_flags_text writes `flags` as comma-separated names, or
 * "expected" for 0, into `out` (NUL-terminated; 96 bytes are enough). */
void scitt_watch_flags_text(char *out, size_t cap, unsigned flags);

#endif /* SCITT_WATCH_H */
