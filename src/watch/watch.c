/*
 * watch.c: the watch file parser and the alert rules of `scitt monitor`
 * (see watch.h for the format). The parser is strict on purpose: a watch
 * file that silently means something other than what its owner wrote would
 * hide the very alerts it exists for, so every line is a known rule, a
 * comment or blank, and the first bad line stops the parse with its number.
 */
#include <stdio.h>
#include <string.h>

#include "scitt/watch.h"

typedef struct keyword {
    const char *name;
    scitt_watch_kind_t kind;
} keyword_t;

static const keyword_t keywords[] = {
    {"kid", SCITT_WATCH_KID},
    {"iss", SCITT_WATCH_ISS},
    {"sub", SCITT_WATCH_SUB},
    {"expect-sub", SCITT_WATCH_EXPECT_SUB},
    {"expect-iss", SCITT_WATCH_EXPECT_ISS},
    {"expect-hours", SCITT_WATCH_EXPECT_HOURS},
};

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* parse_hour reads 1 or 2 decimal digits at `*p` (before `end`). */
static bool parse_hour(const uint8_t **p, const uint8_t *end, unsigned *out)
{
    unsigned v = 0, n = 0;
    while (*p < end && **p >= '0' && **p <= '9' && n < 3) {
        v = v * 10 + (unsigned)(**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n == 1 || n == 2;
}

static int parse_hours(scitt_watch_rule_t *r, scitt_span_t v, const char **why)
{
    const uint8_t *p = v.base, *end = v.base + v.len;
    *why = "expect-hours wants HH-HH [UTC] (hours 0-24, from != to)";
    if (!parse_hour(&p, end, &r->from_hour) || p == end || *p++ != '-' || !parse_hour(&p, end, &r->to_hour)) {
        return SCITT_EMALFORMED;
    }
    if (p < end) {
        if (!is_blank(*p)) {
            return SCITT_EMALFORMED;
        }
        while (p < end && is_blank(*p)) {
            p++;
        }
        if ((size_t)(end - p) != 3 || memcmp(p, "UTC", 3) != 0) {
            *why = "expect-hours: only UTC hours are supported";
            return SCITT_EMALFORMED;
        }
    }
    if (r->from_hour > 23 || r->to_hour > 24 || r->to_hour == 0 || r->from_hour == r->to_hour) {
        return SCITT_EMALFORMED;
    }
    return 0;
}

static int add_rule(scitt_watch_t *w, const scitt_watch_rule_t *r)
{
    if (w->num_rules == SCITT_WATCH_MAX_RULES) {
        return SCITT_ETOOBIG;
    }
    if (w->num_rules == w->_cap) {
        size_t cap = w->_cap == 0 ? 16 : w->_cap * 2;
        scitt_watch_rule_t *rules = scitt_mem_realloc(w->mem, w->rules, cap * sizeof(*rules));
        if (rules == NULL) {
            return SCITT_ENOMEM;
        }
        w->rules = rules;
        w->_cap = cap;
    }
    w->rules[w->num_rules++] = *r;
    w->num_by_kind[r->kind]++;
    return 0;
}

/* parse_line parses one line without its newline; blank lines and comments
 * add nothing. */
static int parse_line(scitt_watch_t *w, scitt_span_t line, unsigned num, const char **why)
{
    const uint8_t *p = line.base, *end = line.base + line.len;
    for (const uint8_t *c = p; c < end; c++) {
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
            *why = "control character in the line";
            return SCITT_EMALFORMED;
        }
    }
    while (p < end && is_blank(*p)) {
        p++;
    }
    while (end > p && is_blank(end[-1])) {
        end--;
    }
    if (p == end || *p == '#') {
        return 0;
    }
    const uint8_t *kw = p;
    while (p < end && !is_blank(*p)) {
        p++;
    }
    size_t kw_len = (size_t)(p - kw);
    while (p < end && is_blank(*p)) {
        p++;
    }
    scitt_watch_rule_t r = {.line = num, .value = scitt_span(p, (size_t)(end - p))};
    for (size_t i = 0; i < scitt_countof(keywords); i++) {
        if (strlen(keywords[i].name) == kw_len && memcmp(keywords[i].name, kw, kw_len) == 0) {
            r.kind = keywords[i].kind;
        }
    }
    if (r.kind == 0) {
        *why = "unknown rule (want kid, iss, sub, expect-sub, expect-iss or expect-hours)";
        return SCITT_EMALFORMED;
    }
    if (r.value.len == 0) {
        *why = "the rule has no value";
        return SCITT_EMALFORMED;
    }
    int rc = 0;
    switch (r.kind) {
    case SCITT_WATCH_KID:
        rc = scitt_kid_parse(r.kid, sizeof(r.kid), &r.kid_len, (const char *)r.value.base, r.value.len);
        if (rc != 0) {
            *why = rc == SCITT_ETOOBIG ? "kid longer than 64 bytes"
                                       : "kid wants the key id in unpadded base64url (as scitt keygen prints it) "
                                         "or 64 hex digits";
            return rc;
        }
        break;
    case SCITT_WATCH_EXPECT_SUB:
    case SCITT_WATCH_EXPECT_ISS:
        if (r.value.base[r.value.len - 1] == '*') {
            r.prefix = true;
            r.value.len--;
        }
        break;
    case SCITT_WATCH_EXPECT_HOURS:
        rc = parse_hours(&r, r.value, why);
        if (rc != 0) {
            return rc;
        }
        break;
    default:
        break;
    }
    rc = add_rule(w, &r);
    if (rc != 0) {
        *why = rc == SCITT_ETOOBIG ? "more than 4096 rules" : "out of memory";
    }
    return rc;
}

int scitt_watch_parse(scitt_watch_t *out, const scitt_mem_t *mem, const uint8_t *data, size_t len, unsigned *out_line,
                      const char **out_err_desc)
{
    *out = (scitt_watch_t){.mem = mem != NULL ? mem : scitt_mem_default()};
    const char *why = NULL;
    unsigned num = 0;
    size_t off = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        const uint8_t *nl = memchr(data + off, '\n', len - off);
        size_t n = nl != NULL ? (size_t)(nl - (data + off)) : len - off;
        num++;
        scitt_span_t line = scitt_span(data + off, n);
        if (line.len > 0 && line.base[line.len - 1] == '\r') {
            line.len--;
        }
        if (line.len > SCITT_WATCH_MAX_LINE) {
            why = "line longer than 4096 bytes";
            rc = SCITT_ETOOBIG;
        } else {
            rc = parse_line(out, line, num, &why);
        }
        off += n + (nl != NULL);
    }
    if (rc == 0 &&
        out->num_by_kind[SCITT_WATCH_KID] + out->num_by_kind[SCITT_WATCH_ISS] + out->num_by_kind[SCITT_WATCH_SUB] ==
            0) {
        num = 0;
        why = "nothing to watch: no kid, iss or sub rule";
        rc = SCITT_EINVAL;
    }
    if (out_line != NULL) {
        *out_line = rc == 0 ? 0 : num;
    }
    if (out_err_desc != NULL) {
        *out_err_desc = why;
    }
    return rc;
}

void scitt_watch_cleanup(scitt_watch_t *w)
{
    if (w->rules != NULL) {
        scitt_mem_free(w->mem, w->rules);
    }
    *w = (scitt_watch_t){0};
}

static bool fits(const scitt_watch_rule_t *r, scitt_span_t v)
{
    if (r->prefix) {
        return v.len >= r->value.len && (r->value.len == 0 || memcmp(v.base, r->value.base, r->value.len) == 0);
    }
    return scitt_span_eq(v, r->value);
}

static bool in_hours(const scitt_watch_rule_t *r, int64_t t)
{
    int64_t day = t % 86400;
    unsigned h = (unsigned)((day < 0 ? day + 86400 : day) / 3600);
    if (r->from_hour < r->to_hour) {
        return h >= r->from_hour && h < r->to_hour;
    }
    return h >= r->from_hour || h < r->to_hour;
}

bool scitt_watch_check(const scitt_watch_t *w, const scitt_watch_entry_t *e, scitt_watch_hit_t *out)
{
    scitt_watch_hit_t hit = {0};
    bool sub_ok = false, iss_ok = false, key_ok = false, hours_ok = false;
    for (size_t i = 0; i < w->num_rules; i++) {
        const scitt_watch_rule_t *r = &w->rules[i];
        unsigned by = 0;
        switch (r->kind) {
        case SCITT_WATCH_KID:
            by = e->key_id.len > 0 && scitt_span_eq(e->key_id, scitt_span(r->kid, r->kid_len)) ? SCITT_WATCH_BY_KID : 0;
            key_ok = key_ok || by != 0;
            break;
        case SCITT_WATCH_ISS:
            by = e->iss.len > 0 && scitt_span_eq(e->iss, r->value) ? SCITT_WATCH_BY_ISS : 0;
            break;
        case SCITT_WATCH_SUB:
            by = e->sub.len > 0 && scitt_span_eq(e->sub, r->value) ? SCITT_WATCH_BY_SUB : 0;
            break;
        case SCITT_WATCH_EXPECT_SUB:
            sub_ok = sub_ok || fits(r, e->sub);
            break;
        case SCITT_WATCH_EXPECT_ISS:
            iss_ok = iss_ok || fits(r, e->iss);
            break;
        case SCITT_WATCH_EXPECT_HOURS:
            hours_ok = hours_ok || (e->has_time && in_hours(r, e->time));
            break;
        }
        if (by != 0 && hit.matched == 0) {
            hit.line = r->line;
        }
        hit.matched |= by;
    }
    if (hit.matched == 0) {
        return false;
    }
    if (w->num_by_kind[SCITT_WATCH_EXPECT_SUB] > 0 && !sub_ok) {
        hit.flags |= SCITT_WATCH_UNEXPECTED_SUBJECT;
    }
    if (w->num_by_kind[SCITT_WATCH_EXPECT_ISS] > 0 && !iss_ok) {
        hit.flags |= SCITT_WATCH_UNEXPECTED_ISSUER;
    }
    if (w->num_by_kind[SCITT_WATCH_KID] > 0 && !key_ok) {
        hit.flags |= SCITT_WATCH_UNEXPECTED_KEY;
    }
    if (w->num_by_kind[SCITT_WATCH_EXPECT_HOURS] > 0 && !hours_ok) {
        hit.flags |= e->has_time ? SCITT_WATCH_OUTSIDE_HOURS : SCITT_WATCH_TIME_UNKNOWN;
    }
    *out = hit;
    return true;
}

const char *scitt_watch_flag_name(unsigned flag)
{
    switch (flag) {
    case SCITT_WATCH_UNEXPECTED_SUBJECT:
        return "unexpected-subject";
    case SCITT_WATCH_UNEXPECTED_ISSUER:
        return "unexpected-issuer";
    case SCITT_WATCH_UNEXPECTED_KEY:
        return "unexpected-key";
    case SCITT_WATCH_OUTSIDE_HOURS:
        return "outside-hours";
    case SCITT_WATCH_TIME_UNKNOWN:
        return "time-unknown";
    }
    return "unknown";
}

const char *scitt_watch_match_name(unsigned by)
{
    switch (by) {
    case SCITT_WATCH_BY_KID:
        return "kid";
    case SCITT_WATCH_BY_ISS:
        return "iss";
    case SCITT_WATCH_BY_SUB:
        return "sub";
    }
    return "unknown";
}

void scitt_watch_flags_text(char *out, size_t cap, unsigned flags)
{
    size_t len = 0;
    if (cap == 0) {
        return;
    }
    out[0] = '\0';
    if (flags == 0) {
        snprintf(out, cap, "expected");
        return;
    }
    for (unsigned i = 0; i < SCITT_WATCH_NUM_FLAGS; i++) {
        if ((flags & (1u << i)) && len < cap) {
            int n = snprintf(out + len, cap - len, "%s%s", len > 0 ? "," : "", scitt_watch_flag_name(1u << i));
            len += n > 0 ? (size_t)n : 0;
        }
    }
}
