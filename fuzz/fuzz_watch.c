/*
 * fuzz_watch.c: arbitrary bytes into the watch file parser of `scitt
 * monitor`, then the alert rules. Invariants: a parse either succeeds with
 * at least one kid, iss or sub rule, or names a line within the input (0
 * only for "nothing to watch") with a reason; every rule's value lies
 * inside the input and is non-empty unless it is a bare '*' prefix; kids
 * fit, and print (scitt_kid_append) to a spelling that reads back as the
 * same bytes; hours are in range and differ; the per-kind counts add up; an entry
 * built from a watched rule's own value matches, and the flags text is
 * never empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/watch.h"

/* check_kid_prints_back: a parsed kid, printed, parses back to itself. */
static void check_kid_prints_back(scitt_span_t kid)
{
    scitt_buf_t b;
    uint8_t back[SCITT_WATCH_MAX_KID];
    size_t n;
    scitt_buf_init(&b, NULL, 0);
    if (scitt_kid_append(&b, kid) != 0 || scitt_kid_parse(back, sizeof(back), &n, (const char *)b.base, b.len) != 0 ||
        !scitt_span_eq(scitt_span(back, n), kid)) {
        abort();
    }
    scitt_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scitt_watch_t w;
    unsigned line = 0;
    const char *why = NULL;
    int rc = scitt_watch_parse(&w, NULL, data, size, &line, &why);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
        lines += data[i] == '\n';
    }
    if (rc != 0) {
        if (why == NULL || line > lines || (line == 0 && rc != SCITT_EINVAL)) {
            abort();
        }
        scitt_watch_cleanup(&w);
        return 0;
    }
    size_t counted = 0;
    scitt_span_t input = scitt_span(data, size);
    for (size_t i = 0; i < w.num_rules; i++) {
        const scitt_watch_rule_t *r = &w.rules[i];
        if (r->kind < SCITT_WATCH_KID || r->kind > SCITT_WATCH_EXPECT_HOURS || r->line == 0 || r->line > lines ||
            !scitt_span_within(r->value, input) || (r->value.len == 0 && !r->prefix) ||
            r->kid_len > SCITT_WATCH_MAX_KID) {
            abort();
        }
        if (r->kind == SCITT_WATCH_EXPECT_HOURS &&
            (r->from_hour > 23 || r->to_hour > 24 || r->to_hour == 0 || r->from_hour == r->to_hour)) {
            abort();
        }
        scitt_watch_entry_t e = {.has_time = true, .time = (int64_t)r->line * 3600};
        if (r->kind == SCITT_WATCH_KID) {
            e.key_id = scitt_span(r->kid, r->kid_len);
            check_kid_prints_back(e.key_id);
        } else if (r->kind == SCITT_WATCH_ISS) {
            e.iss = r->value;
        } else if (r->kind == SCITT_WATCH_SUB) {
            e.sub = r->value;
        }
        scitt_watch_hit_t hit;
        bool watched = r->kind <= SCITT_WATCH_SUB && (r->kind != SCITT_WATCH_KID || r->kid_len > 0);
        if (watched && !scitt_watch_check(&w, &e, &hit)) {
            abort();
        }
        char text[96];
        scitt_watch_flags_text(text, sizeof(text), watched ? hit.flags : 0);
        if (text[0] == '\0') {
            abort();
        }
    }
    for (size_t k = 0; k < scitt_countof(w.num_by_kind); k++) {
        counted += w.num_by_kind[k];
    }
    if (counted != w.num_rules ||
        w.num_by_kind[SCITT_WATCH_KID] + w.num_by_kind[SCITT_WATCH_ISS] + w.num_by_kind[SCITT_WATCH_SUB] == 0) {
        abort();
    }
    scitt_watch_cleanup(&w);
    return 0;
}
