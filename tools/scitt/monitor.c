/*
 * monitor.c: `scitt monitor` (issue 10): tail a log through a verified
 * mirror (follow.c, src/mirror) and raise an alert for every new entry that
 * matches the watch file (src/watch), so the owner of a stolen key sees
 * every statement it signed.
 *
 * State: DIR/monitor.state holds the next leaf index to examine. Delivery
 * is at most once: before an alert goes out the state already points past
 * its entry and names it as "delivering"; once the alert is printed and the
 * --exec command has returned the marker is cleared. A crash in between
 * leaves the marker, and the next run says on stderr that this one alert
 * may not have arrived instead of repeating it. Entries that raise no alert
 * are examined again after a crash, which repeats nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "scitt/receipt.h"
#include "scitt/watch.h"

extern char **environ;

static const char help[] = "usage: scitt monitor --url URL --dir DIR --watch WATCHFILE [--follow [--interval S]]\n"
                           "                     [--exec CMD] [--json] [--vkey VKEY] [--chunk N]\n"
                           "                     [--witness VKEY... [--witness-threshold K]]\n\n"
                           "Mirrors the log at URL into DIR exactly as `scitt mirror` does (same checks,\n"
                           "same evidence, same exit codes 10-15), then examines every entry it has not\n"
                           "examined before and raises an alert for each one whose key id, iss or sub\n"
                           "is watched. A first run examines the whole log, from leaf 0. The next leaf\n"
                           "to examine is kept in DIR/monitor.state (delete it to examine everything\n"
                           "again, e.g. after changing the watch file); one monitor per DIR.\n\n"
                           "WATCHFILE, one rule per line ('#' starts a comment line):\n"
                           "  kid KID              watch statements signed with this key id (the kid that\n"
                           "                       `scitt keygen` prints and `scitt inspect` shows, or the\n"
                           "                       x5chain leaf's SHA-256), in unpadded base64url or as\n"
                           "                       64 hex digits\n"
                           "  iss TEXT             watch statements whose CWT issuer is exactly TEXT\n"
                           "  sub TEXT             watch statements whose CWT subject is exactly TEXT\n"
                           "  expect-sub TEXT[*]   a subject of the owner's own statements (* = prefix)\n"
                           "  expect-iss TEXT[*]   an issuer of the owner's own statements (* = prefix)\n"
                           "  expect-hours HH-HH [UTC]  when the owner registers: [from, to) in UTC,\n"
                           "                       wrapping past midnight when from > to (22-06)\n"
                           "Values run to the end of the line. Errors name the line; exit code 2.\n\n"
                           "Flags of an alert (several may apply; none is \"expected\"):\n"
                           "  unexpected-subject  expect-sub rules exist and its subject fits none\n"
                           "  unexpected-issuer   expect-iss rules exist and its issuer fits none\n"
                           "  unexpected-key      kid rules exist and it is signed by another key\n"
                           "  outside-hours       expect-hours rules exist and its time is outside them\n"
                           "  time-unknown        expect-hours rules exist and it has no time at all\n"
                           "The time checked is the registration time (the iat of the receipt the log\n"
                           "served with the statement) or, without one, the statement's own signed iat.\n\n"
                           "Output, one line per alert on stdout (progress goes to stderr):\n"
                           "  ALERT <tab> index <tab> entry id <tab> flags <tab> registered=TIME|unknown\n"
                           "  <tab> match=kid,iss,sub <tab> iss=.. <tab> sub=.. <tab> kid=KID <tab> cty=..\n"
                           "(control bytes and '\\' in values are written as \\xHH and \\\\); with --json a\n"
                           "JSON object per line: index, id, registered (null when unknown),\n"
                           "registered_unix, signed, iss, sub, kid, content_type, match, rule_line, flags.\n\n"
                           "  --follow      keep going: a round every --interval seconds (default 5)\n"
                           "  --exec CMD    run `/bin/sh -c CMD` for each alert, the JSON object on its\n"
                           "                stdin and SCITT_ALERT_INDEX, SCITT_ALERT_ID, SCITT_ALERT_FLAGS,\n"
                           "                SCITT_ALERT_MATCH, SCITT_ALERT_REGISTERED, SCITT_ALERT_ISS,\n"
                           "                SCITT_ALERT_SUB, SCITT_ALERT_KID in its environment (each\n"
                           "                cut to 4096 bytes; the JSON has them whole); the\n"
                           "                monitor waits for it. A failing command is reported on stderr\n"
                           "                and not retried (the alert was printed on stdout).\n"
                           "  --vkey, --chunk  as for `scitt mirror`\n" CLI_WITNESS_HELP
                           "  --cacert, --cert, --key  for https:// URLs: see `scitt help`\n"
                           "\n"
                           "Each alert is delivered at most once, even across SIGKILL: the state moves\n"
                           "past an entry before its alert goes out. If the monitor dies while\n"
                           "delivering, the next run says on stderr which alert may not have arrived.\n\n"
                           "exit codes:\n"
                           "   0  no alert flagged other than \"expected\" was raised\n"
                           "   1  could not finish (network, disk, state file)\n"
                           "   2  usage error, or an error in WATCHFILE\n"
                           "   3  at least one alert with a flag (unexpected-*, outside-hours,\n"
                           "      time-unknown) was raised\n"
                           "  10-15  the log is inconsistent: the mirror's verdict (`scitt help mirror`)\n"
                           "  16  a checkpoint without the cosignatures --witness-threshold asks for\n";

#define STATE_FILE    "monitor.state"
#define STATE_MAGIC   "scitt-monitor 1\n"
#define BATCH         256  /* entries examined per read transaction */
#define ENV_VALUE_MAX 4096 /* bytes of one SCITT_ALERT_* value */

/* One alert, rendered while the entry is at hand (outside the read
 * transaction nothing borrowed from the store may be kept). */
typedef struct alert {
    uint64_t index;
    char id[65];
    scitt_watch_hit_t hit;
    char flags[96], match[16], registered[32];
    char *iss, *sub, *kid, *cty; /* escaped for the line and the environment */
    scitt_buf_t json;
} alert_t;

typedef struct monitor {
    const char *dir;
    const char *exec;
    bool json;
    scitt_watch_t watch;
    uint64_t next;    /* the next leaf to examine */
    uint64_t flagged; /* alerts with flags raised by this run */
    uint64_t raised;
} monitor_t;

/* -- Rendering -- */

/* text_value escapes bytes for a tab-separated line and the environment:
 * control bytes (C0, DEL, and C1 written in UTF-8, the two bytes c2 80..9f)
 * and '\' as \xHH and \\, so a value cannot drive a terminal. Newly
 * allocated. */
static char *text_value(scitt_span_t v)
{
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 0);
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.base[i];
        if (c == '\\') {
            scitt_buf_append_str(&b, "\\\\");
        } else if (c < 0x20 || c == 0x7f) {
            scitt_buf_printf(&b, "\\x%02x", c);
        } else if (c == 0xc2 && i + 1 < v.len && v.base[i + 1] >= 0x80 && v.base[i + 1] < 0xa0) {
            scitt_buf_printf(&b, "\\xc2\\x%02x", v.base[++i]);
        } else {
            scitt_buf_append_byte(&b, c);
        }
    }
    scitt_buf_append_byte(&b, 0);
    char *out = scitt_xmalloc(b.len);
    memcpy(out, b.base, b.len);
    scitt_buf_cleanup(&b);
    return out;
}

static void json_opt_str(scitt_buf_t *b, const char *name, scitt_span_t v, bool present)
{
    scitt_buf_printf(b, ",\"%s\":", name);
    if (present) {
        scitt_json_put_string(b, v); /* the service's rules: valid UTF-8 JSON, safe on a terminal */
    } else {
        scitt_buf_append_str(b, "null");
    }
}

static void json_names(scitt_buf_t *b, const char *name, const char *csv)
{
    scitt_buf_printf(b, ",\"%s\":[", name);
    for (const char *p = csv; *p != '\0';) {
        size_t n = strcspn(p, ",");
        scitt_buf_printf(b, "%s\"%.*s\"", p == csv ? "" : ",", (int)n, p);
        p += n + (p[n] == ',');
    }
    scitt_buf_append_byte(b, ']');
}

/* registration_time reads the iat of the first receipt the statement
 * carries; false when it has none (or a receipt without iat). */
static bool registration_time(const scitt_cose_sign1_t *s, int64_t *out)
{
    uint8_t entry[32];
    const scitt_span_t *receipts;
    size_t num = 0;
    if (scitt_receipt_split(s, entry, &receipts, &num) != 0 || num == 0) {
        return false;
    }
    scitt_receipt_t *r = scitt_xmalloc(sizeof(*r));
    bool ok = scitt_receipt_decode(r, receipts[0].base, receipts[0].len, NULL) == 0 && r->iat != 0;
    *out = r->iat;
    free(r);
    return ok;
}

/* render fills `a` (index, id and hit set) from the statement. */
static void render(alert_t *a, const scitt_cose_sign1_t *s, const scitt_cose_fields_t *f, bool has_reg, int64_t reg)
{
    bool has_cty = f->has_content_type, num_cty = has_cty && !f->content_type.is_text;
    a->kid = cli_kid_text(f->key_id);
    a->iss = text_value(f->iss);
    a->sub = text_value(f->sub);
    if (num_cty) {
        char n[24];
        snprintf(n, sizeof(n), "%lld", (long long)f->content_type.num);
        a->cty = strdup(n);
    } else {
        a->cty = text_value(has_cty ? f->content_type.text : scitt_span(NULL, 0));
    }
    if (has_reg) {
        cli_time(a->registered, reg);
    } else {
        snprintf(a->registered, sizeof(a->registered), "unknown");
    }
    scitt_watch_flags_text(a->flags, sizeof(a->flags), a->hit.flags);
    a->match[0] = '\0';
    for (unsigned by = SCITT_WATCH_BY_KID; by <= SCITT_WATCH_BY_SUB; by <<= 1) {
        if (a->hit.matched & by) {
            size_t n = strlen(a->match);
            snprintf(a->match + n, sizeof(a->match) - n, "%s%s", n > 0 ? "," : "", scitt_watch_match_name(by));
        }
    }

    scitt_buf_t *j = &a->json;
    scitt_buf_init(j, NULL, 0);
    scitt_buf_printf(j, "{\"index\":%llu,\"id\":\"%s\"", (unsigned long long)a->index, a->id);
    json_opt_str(j, "registered", scitt_span_str(a->registered), has_reg);
    if (has_reg) {
        scitt_buf_printf(j, ",\"registered_unix\":%lld", (long long)reg);
    } else {
        scitt_buf_append_str(j, ",\"registered_unix\":null");
    }
    bool has_iat = (s->prot.present & SCITT_COSE_HAS_CWT) && (s->prot.cwt.present & SCITT_CWT_HAS_IAT);
    char signed_at[32] = "";
    if (has_iat) {
        cli_time(signed_at, s->prot.cwt.iat);
    }
    json_opt_str(j, "signed", scitt_span_str(signed_at), has_iat);
    json_opt_str(j, "iss", f->iss, f->iss.base != NULL);
    json_opt_str(j, "sub", f->sub, f->sub.base != NULL);
    json_opt_str(j, "kid", scitt_span_str(a->kid), f->key_id.len > 0);
    if (num_cty) {
        scitt_buf_printf(j, ",\"content_type\":%s", a->cty);
    } else {
        json_opt_str(j, "content_type", f->content_type.text, has_cty);
    }
    json_names(j, "match", a->match);
    scitt_buf_printf(j, ",\"rule_line\":%u", a->hit.line);
    json_names(j, "flags", a->flags);
    scitt_buf_append_str(j, "}\n");
}

static void alert_cleanup(alert_t *a)
{
    free(a->iss);
    free(a->sub);
    free(a->kid);
    free(a->cty);
    scitt_buf_cleanup(&a->json);
}

/* examine looks at one stored transparent statement; true (and `a`
 * filled) when it raises an alert. A statement the mirror stored that does
 * not decode cannot happen (the mirror checked it); it is skipped with a
 * warning rather than stopping the watch. */
static bool examine(const monitor_t *mon, uint64_t index, scitt_span_t stored, alert_t *a)
{
    scitt_cose_sign1_t s;
    int rc = scitt_cose_sign1_decode_stored(&s, stored.base, stored.len);
    if (rc != 0) {
        cli_err("monitor: entry %llu is not a COSE_Sign1 (%s); skipped", (unsigned long long)index, scitt_strerror(rc));
        return false;
    }
    scitt_cose_fields_t f;
    scitt_cose_fields(&s, &f);
    int64_t reg = 0;
    bool has_reg = registration_time(&s, &reg);
    bool has_iat = (s.prot.present & SCITT_COSE_HAS_CWT) && (s.prot.cwt.present & SCITT_CWT_HAS_IAT);
    scitt_watch_entry_t e = {.key_id = f.key_id,
                             .iss = f.iss,
                             .sub = f.sub,
                             .has_time = has_reg || has_iat,
                             .time = has_reg ? reg : s.prot.cwt.iat};
    *a = (alert_t){.index = index};
    if (!scitt_watch_check(&mon->watch, &e, &a->hit)) {
        return false;
    }
    uint8_t entry[32];
    scitt_cose_entry(&s, entry);
    scitt_hex_encode(a->id, entry, sizeof(entry));
    render(a, &s, &f, has_reg, reg);
    return true;
}

/* -- State -- */

/* save_state writes the next leaf to examine and, while an alert is being
 * delivered, which one. */
static int save_state(const monitor_t *mon, const alert_t *delivering)
{
    char text[256];
    int n = snprintf(text, sizeof(text), STATE_MAGIC "next %llu\n", (unsigned long long)mon->next);
    if (delivering != NULL) {
        n += snprintf(text + n, sizeof(text) - (size_t)n, "delivering %llu %s\n", (unsigned long long)delivering->index,
                      delivering->id);
    }
    int rc = scitt_write_file_atomic(mon->dir, STATE_FILE, scitt_span(text, (size_t)n), 0600);
    if (rc != 0) {
        cli_err("monitor: cannot write %s/%s: %s", mon->dir, STATE_FILE, scitt_strerror(rc));
        return CLI_FAIL;
    }
    return 0;
}

/* state_number reads "<word> <decimal>" at the start of `*p`. */
static bool state_number(const char **p, const char *word, uint64_t *out)
{
    size_t wl = strlen(word);
    if (strncmp(*p, word, wl) != 0 || (*p)[wl] != ' ') {
        return false;
    }
    const char *num = *p + wl + 1;
    size_t n = strspn(num, "0123456789");
    if (scitt_parse_u64(num, n, out) != 0) {
        return false;
    }
    *p = num + n;
    return true;
}

/* load_state reads DIR/monitor.state (absent: start at leaf 0). A run that
 * died while delivering an alert is reported here, once. */
static int load_state(monitor_t *mon, uint64_t held)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/" STATE_FILE, mon->dir);
    scitt_buf_t b;
    scitt_buf_init(&b, NULL, 4096);
    int rc = scitt_read_file(path, &b);
    if (rc == SCITT_ENOENT) {
        scitt_buf_cleanup(&b);
        mon->next = 0;
        return 0;
    }
    int status = CLI_FAIL;
    uint64_t pending = 0;
    bool delivering = false;
    if (rc != 0 || scitt_buf_append_byte(&b, 0) != 0) {
        cli_err("monitor: cannot read %s: %s", path, scitt_strerror(rc));
        goto done;
    }
    const char *p = (const char *)b.base;
    bool magic = strncmp(p, STATE_MAGIC, strlen(STATE_MAGIC)) == 0;
    p += magic ? strlen(STATE_MAGIC) : 0;
    if (!magic || !state_number(&p, "next", &mon->next) || *p++ != '\n') {
        cli_err("monitor: %s is not a monitor state file", path);
        goto done;
    }
    if (*p != '\0') {
        delivering = state_number(&p, "delivering", &pending) && *p == ' ' && strlen(p + 1) == 65 && p[65] == '\n';
        if (!delivering) {
            cli_err("monitor: %s is not a monitor state file", path);
            goto done;
        }
    }
    if (mon->next > held) {
        cli_err("monitor: %s says leaf %llu is next, but the mirror holds %llu entries: not the same mirror?", path,
                (unsigned long long)mon->next, (unsigned long long)held);
        goto done;
    }
    status = 0;
    if (delivering) {
        cli_err("monitor: the last run stopped while delivering the alert for entry %llu (%.64s); it is not repeated "
                "(at most once): check that it arrived",
                (unsigned long long)pending, p + 1);
        status = save_state(mon, NULL);
    }
done:
    scitt_buf_cleanup(&b);
    return status;
}

/* -- Delivery -- */

/* env_var makes NAME=VALUE with VALUE cut to ENV_VALUE_MAX bytes, between
 * two escapes or characters: execve refuses a longer string (Linux: 128
 * KiB each), and a statement's iss or sub may be far longer. */
static char *env_var(const char *name, const char *value)
{
    size_t len = 0, total = strlen(value);
    while (len < total) {
        size_t tok = 1;
        if (value[len] == '\\') {
            tok = value[len + 1] == '\\' ? 2 : 4; /* \\ or \xHH */
        } else {
            while (tok < 4 && len + tok < total && ((uint8_t)value[len + tok] & 0xc0) == 0x80) {
                tok++; /* the continuation bytes of a UTF-8 sequence */
            }
        }
        if (len + tok > ENV_VALUE_MAX || len + tok > total) {
            break;
        }
        len += tok;
    }
    size_t n = strlen(name) + len + 2;
    char *out = scitt_xmalloc(n);
    snprintf(out, n, "%s=%.*s", name, (int)len, value);
    return out;
}

/* run_exec runs the --exec command for `a`: JSON on stdin, SCITT_ALERT_* in
 * the environment. Returns its exit status, or -1 if it could not run. The
 * environment is built before fork (the store runs a thread, so the child
 * may only call async-signal-safe functions). */
static int run_exec(const monitor_t *mon, const alert_t *a)
{
    char index[24];
    snprintf(index, sizeof(index), "%llu", (unsigned long long)a->index);
    char *ours[] = {env_var("SCITT_ALERT_INDEX", index),
                    env_var("SCITT_ALERT_ID", a->id),
                    env_var("SCITT_ALERT_FLAGS", a->flags),
                    env_var("SCITT_ALERT_MATCH", a->match),
                    env_var("SCITT_ALERT_REGISTERED", a->registered),
                    env_var("SCITT_ALERT_ISS", a->iss),
                    env_var("SCITT_ALERT_SUB", a->sub),
                    env_var("SCITT_ALERT_KID", a->kid)};
    size_t num_env = 0;
    while (environ[num_env] != NULL) {
        num_env++;
    }
    char **envp = scitt_xmalloc((num_env + scitt_countof(ours) + 1) * sizeof(*envp));
    size_t k = 0;
    for (size_t i = 0; i < num_env; i++) {
        if (strncmp(environ[i], "SCITT_ALERT_", 12) != 0) {
            envp[k++] = environ[i];
        }
    }
    for (size_t i = 0; i < scitt_countof(ours); i++) {
        envp[k++] = ours[i];
    }
    envp[k] = NULL;

    int status = -1, fds[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0) {
        cli_err("monitor: --exec: pipe: %s", strerror(errno));
        goto done;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[0], STDIN_FILENO);
        close(fds[0]);
        close(fds[1]);
        signal(SIGPIPE, SIG_DFL);
        char *argv[] = {"sh", "-c", (char *)mon->exec, NULL};
        execve("/bin/sh", argv, envp);
        _exit(127);
    }
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        cli_err("monitor: --exec: fork: %s", strerror(errno));
        goto done;
    }
    /* A command that does not read its stdin is fine: EPIPE is ignored. */
    for (size_t off = 0; off < a->json.len;) {
        ssize_t n = write(fds[1], a->json.base + off, a->json.len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    close(fds[1]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0) {
        if (errno != EINTR) {
            cli_err("monitor: --exec: waitpid: %s", strerror(errno));
            goto done;
        }
    }
    status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
done:
    for (size_t i = 0; i < scitt_countof(ours); i++) {
        free(ours[i]);
    }
    free(envp);
    return status;
}

/* deliver sends one alert, at most once (see the top of the file). */
static int deliver(monitor_t *mon, const alert_t *a)
{
    mon->next = a->index + 1;
    int rc = save_state(mon, a);
    if (rc != 0) {
        return rc;
    }
    if (mon->json) {
        fwrite(a->json.base, 1, a->json.len, stdout);
    } else {
        printf("ALERT\t%llu\t%s\t%s\tregistered=%s\tmatch=%s\tiss=%s\tsub=%s\tkid=%s\tcty=%s\n",
               (unsigned long long)a->index, a->id, a->flags, a->registered, a->match, a->iss, a->sub, a->kid, a->cty);
    }
    fflush(stdout);
    mon->raised++;
    mon->flagged += a->hit.flags != 0;
    if (mon->exec != NULL) {
        int status = run_exec(mon, a);
        if (status != 0) {
            cli_err("monitor: --exec for entry %llu (%s) failed (status %d); not retried", (unsigned long long)a->index,
                    a->id, status);
        }
    }
    return save_state(mon, NULL);
}

/* -- Rounds -- */

static int on_open(void *ud, scitt_mirror_t *m)
{
    scitt_mirror_status_t st;
    scitt_mirror_get_status(m, &st);
    return load_state(ud, st.entries);
}

/* on_round examines the entries the mirror verified since the last round,
 * BATCH at a time: alerts are rendered inside a read transaction and
 * delivered after it ends (an --exec command may take its time). */
static int on_round(void *ud, scitt_mirror_t *m, const scitt_mirror_status_t *st)
{
    monitor_t *mon = ud;
    alert_t *alerts = scitt_xmalloc(BATCH * sizeof(*alerts));
    int status = 0;
    uint64_t from = mon->next;
    while (mon->next < st->trusted_size && status == 0 && !cli_stopping()) {
        uint64_t end = mon->next + BATCH < st->trusted_size ? mon->next + BATCH : st->trusted_size;
        size_t num = 0;
        scitt_store_read_t *rd;
        int rc = scitt_store_read_begin(scitt_mirror_store(m), &rd);
        if (rc == 0) {
            for (uint64_t i = mon->next; i < end && rc == 0; i++) {
                scitt_span_t stored;
                rc = scitt_store_get_entry(rd, i, &stored);
                if (rc == 0 && examine(mon, i, stored, &alerts[num])) {
                    num++;
                }
            }
            scitt_store_read_end(rd);
        }
        if (rc != 0) {
            cli_err("monitor: cannot read the mirror's entries: %s", scitt_strerror(rc));
            status = CLI_FAIL;
        }
        for (size_t i = 0; i < num; i++) {
            if (status == 0) {
                status = deliver(mon, &alerts[i]);
            }
            alert_cleanup(&alerts[i]);
        }
        if (status == 0) {
            mon->next = end;
        }
    }
    if (status == 0 && mon->next != from) {
        status = save_state(mon, NULL);
        fprintf(stderr, "monitor: examined entries %llu..%llu\n", (unsigned long long)from,
                (unsigned long long)mon->next - 1);
    }
    free(alerts);
    return status;
}

static int run(int argc, char **argv)
{
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"watch", required_argument, NULL, 'w'},
                                         {"vkey", required_argument, NULL, 'k'},
                                         {"follow", no_argument, NULL, 'f'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {"exec", required_argument, NULL, 'e'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"chunk", required_argument, NULL, 'c'},
                                         CLI_WITNESS_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    monitor_t mon = {0};
    static cli_witnesses_t wit;
    cli_follow_t f = {.cmd = "monitor", .interval = 5, .out = stderr, .opened = on_open, .round = on_round, .ud = &mon};
    const char *watch = NULL;
    uint64_t chunk = 0;
    int ch;
    while ((ch = cli_getopt_url(argc, argv, opts)) != -1) {
        int taken = cli_witness_option(&wit, ch, optarg, "monitor");
        if (taken != 0) {
            if (taken != 1) {
                return taken;
            }
            continue;
        }
        switch (ch) {
        case 'u':
            f.url = optarg;
            break;
        case 'd':
            f.dir = optarg;
            break;
        case 'w':
            watch = optarg;
            break;
        case 'k':
            f.vkey = optarg;
            break;
        case 'f':
            f.follow = true;
            break;
        case 'i':
            if (scitt_parse_u64(optarg, strlen(optarg), &f.interval) != 0 || f.interval == 0 || f.interval > 86400) {
                return cli_usage("monitor", "--interval wants 1..86400 seconds");
            }
            break;
        case 'e':
            mon.exec = optarg;
            break;
        case 'j':
            mon.json = true;
            break;
        case 'c':
            if (scitt_parse_u64(optarg, strlen(optarg), &chunk) != 0 || chunk == 0 || chunk > 65280) {
                return cli_usage("monitor", "--chunk wants 1..65280 entries");
            }
            break;
        default:
            return cli_usage("monitor", "unknown option");
        }
    }
    if (f.url == NULL || f.dir == NULL || watch == NULL || optind != argc) {
        return cli_usage("monitor", "--url, --dir and --watch are required");
    }
    f.chunk = (size_t)chunk;
    mon.dir = f.dir;
    int wrc = cli_witnesses_load(&wit, "monitor");
    if (wrc != CLI_OK) {
        cli_witnesses_free(&wit);
        return wrc;
    }
    f.witnesses = &wit;

    scitt_buf_t text;
    scitt_buf_init(&text, NULL, 1 << 20);
    if (cli_read_file(watch, &text) != 0) {
        scitt_buf_cleanup(&text);
        cli_witnesses_free(&wit);
        return CLI_FAIL;
    }
    unsigned line = 0;
    const char *why = NULL;
    char msg[512];
    int lock_fd;
    int rc = scitt_watch_parse(&mon.watch, NULL, text.base, text.len, &line, &why);
    int status;
    if (rc != 0) {
        fprintf(stderr, "scitt monitor: %s:%u: %s\n", watch, line, why != NULL ? why : scitt_strerror(rc));
        status = rc == SCITT_ENOMEM ? CLI_FAIL : CLI_USAGE;
    } else if (scitt_dir_lock(f.dir, &lock_fd, msg, sizeof(msg)) != 0) {
        cli_err("monitor: %s", msg); /* one process per folder, as scitt mirror */
        status = CLI_FAIL;
    } else {
        signal(SIGPIPE, SIG_IGN);
        status = cli_follow(&f);
        if (status == CLI_OK && mon.flagged > 0) {
            status = 3;
        }
        fprintf(stderr, "monitor: %llu alerts raised, %llu flagged\n", (unsigned long long)mon.raised,
                (unsigned long long)mon.flagged);
    }
    scitt_watch_cleanup(&mon.watch);
    scitt_buf_cleanup(&text);
    cli_witnesses_free(&wit);
    return status;
}

const cli_cmd_t cli_monitor = {"monitor", "alert on new statements by watched keys, issuers or subjects", help, run};
