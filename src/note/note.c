/*
 * note.c: signed notes and checkpoints.
 *
 * Parsing is strict and works on spans of the input: a note must be valid
 * UTF-8 without control characters other than "\n", the body ends at the
 * first blank line, every signature line has exactly the shape
 * "\u2014 name base64\n", and the signature covers the body including its
 * final newline. An unknown key's line is skipped (a checkpoint may carry
 * witness cosignatures), but a known key whose signature fails rejects the
 * whole note: that is a forgery attempt or a corrupted copy, not noise.
 */
#include <stdio.h>

#include "note_priv.h"

static const char em_dash[] = "\xe2\x80\x94"; /* U+2014 */

static bool valid_name(const char *name, size_t len)
{
    if (len == 0 || len > SCITT_NOTE_MAX_NAME) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c == 0x7f || c == '+') {
            return false;
        }
    }
    return true;
}

static void key_id(uint8_t out[4], const char *name, uint8_t type, const uint8_t pub[32])
{
    uint8_t sep_type[2] = {'\n', type};
    scitt_span_t parts[3] = {scitt_span_str(name), scitt_span(sep_type, 2), scitt_span(pub, 32)};
    uint8_t digest[32];
    scitt_sha256_parts(digest, parts, 3);
    memcpy(out, digest, 4);
}

static int ed25519_public(const scitt_key_t *key, uint8_t out[32])
{
    scitt_key_params_t p;
    if (!scitt_key_supports(key, SCITT_ALG_EDDSA) || scitt_key_params(key, &p) != 0 || p.x_len != 32) {
        return SCITT_EBADKEY;
    }
    memcpy(out, p.x, 32);
    return 0;
}

int scitt_note__verifier_init(scitt_note_verifier_t *v, const char *name, const scitt_key_t *key, uint8_t type)
{
    uint8_t pub[32];
    size_t len = strlen(name);
    if (!valid_name(name, len)) {
        return SCITT_EINVAL;
    }
    int rc = ed25519_public(key, pub);
    if (rc != 0) {
        return rc;
    }
    memcpy(v->name, name, len + 1);
    key_id(v->id, name, type, pub);
    v->key = (scitt_key_t *)key; /* borrowed: cleanup leaves it alone */
    v->_owns_key = false;
    return 0;
}

int scitt_note__verifier_parse(scitt_note_verifier_t *v, const char *vkey, size_t len, uint8_t type)
{
    v->key = NULL;
    v->_owns_key = false;
    const char *plus1 = memchr(vkey, '+', len);
    const char *plus2 = plus1 != NULL ? memchr(plus1 + 1, '+', (size_t)(vkey + len - plus1 - 1)) : NULL;
    if (plus2 == NULL || plus2 - plus1 != 9 || !valid_name(vkey, (size_t)(plus1 - vkey))) {
        return SCITT_EMALFORMED;
    }
    uint8_t id[4], raw[33];
    size_t n;
    if (scitt_hex_decode(id, 4, &n, plus1 + 1, 8) != 0 ||
        scitt_base64_decode(raw, sizeof(raw), &n, plus2 + 1, (size_t)(vkey + len - plus2 - 1), SCITT_B64_STD) != 0 ||
        n != 33 || raw[0] != type) {
        return SCITT_EMALFORMED;
    }
    size_t name_len = (size_t)(plus1 - vkey);
    memcpy(v->name, vkey, name_len);
    v->name[name_len] = '\0';
    key_id(v->id, v->name, type, raw + 1);
    if (memcmp(v->id, id, 4) != 0) {
        return SCITT_EMALFORMED;
    }
    int rc =
        scitt_key_from_cose(&v->key, SCITT_KTY_OKP, SCITT_CRV_ED25519, scitt_span(raw + 1, 32), scitt_span(NULL, 0));
    v->_owns_key = rc == 0;
    return rc;
}

void scitt_note_verifier_cleanup(scitt_note_verifier_t *v)
{
    if (v->_owns_key) {
        scitt_key_free(v->key);
    }
    v->key = NULL;
}

int scitt_note__vkey(scitt_buf_t *out, const scitt_note_verifier_t *v, uint8_t type)
{
    uint8_t raw[33];
    char hex[9], b64[48];
    raw[0] = type;
    int rc = ed25519_public(v->key, raw + 1);
    if (rc != 0) {
        return rc;
    }
    scitt_hex_encode(hex, v->id, 4);
    scitt_base64_encode(b64, raw, 33, SCITT_B64_STD);
    return scitt_buf_printf(out, "%s+%s+%s", v->name, hex, b64);
}

int scitt_checkpoint_body(scitt_buf_t *out, scitt_span_t origin, uint64_t size, const uint8_t root[32])
{
    char b64[48];
    scitt_base64_encode(b64, root, 32, SCITT_B64_STD);
    return scitt_buf_printf(out, "%.*s\n%llu\n%s\n", (int)origin.len, (const char *)origin.base,
                            (unsigned long long)size, b64);
}

int scitt_note_sign(scitt_buf_t *out, scitt_span_t body, const scitt_note_verifier_t *v, const scitt_key_t *key)
{
    if (body.len == 0 || body.base[body.len - 1] != '\n') {
        return SCITT_EINVAL;
    }
    uint8_t blob[4 + 64];
    size_t sig_len;
    memcpy(blob, v->id, 4);
    int rc = scitt_sig_sign(key, SCITT_ALG_EDDSA, body.base, body.len, blob + 4, 64, &sig_len);
    if (rc != 0) {
        return rc;
    }
    char b64[96];
    scitt_base64_encode(b64, blob, sizeof(blob), SCITT_B64_STD);
    size_t mark = out->len;
    rc = scitt_buf_append(out, body.base, body.len);
    if (rc == 0) {
        rc = scitt_buf_printf(out, "\n%s %s %s\n", em_dash, v->name, b64);
    }
    if (rc != 0) {
        out->len = mark;
    }
    return rc;
}

/* valid_text checks UTF-8 well-formedness and the control-character rule. */
static bool valid_text(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint8_t c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n') || c == 0x7f) {
                return false;
            }
            i++;
            continue;
        }
        size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (n == 0 || n > len - i) {
            return false;
        }
        uint32_t cp = c & (0x7f >> n);
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false; /* overlong, out of range or a surrogate */
        }
        i += n;
    }
    return true;
}

/* next_line sets `*line` to the text before the next "\n" starting at `*pos`
 * and moves past it; false when no newline is left. */
static bool next_line(scitt_span_t text, size_t *pos, scitt_span_t *line)
{
    const uint8_t *start = text.base + *pos;
    const uint8_t *nl = memchr(start, '\n', text.len - *pos);
    if (nl == NULL) {
        return false;
    }
    *line = scitt_span(start, (size_t)(nl - start));
    *pos += line->len + 1;
    return true;
}

static int parse_checkpoint(scitt_span_t body, scitt_checkpoint_t *out, const char **why)
{
    size_t pos = 0;
    scitt_span_t origin, size, root;
    *why = "the checkpoint body needs origin, size and root lines";
    if (!next_line(body, &pos, &origin) || !next_line(body, &pos, &size) || !next_line(body, &pos, &root) ||
        origin.len == 0) {
        return SCITT_EMALFORMED;
    }
    scitt_span_t ext;
    while (next_line(body, &pos, &ext)) {
        if (ext.len == 0) {
            *why = "a checkpoint extension line is empty";
            return SCITT_EMALFORMED;
        }
    }
    size_t n;
    if (scitt_parse_u64((const char *)size.base, size.len, &out->size) != 0) {
        *why = "the checkpoint size is not a canonical decimal number";
        return SCITT_EMALFORMED;
    }
    if (scitt_base64_decode(out->root, 32, &n, (const char *)root.base, root.len, SCITT_B64_STD) != 0 || n != 32) {
        *why = "the checkpoint root is not a base64 SHA-256 hash";
        return SCITT_EMALFORMED;
    }
    out->origin = origin;
    out->body = body;
    *why = NULL;
    return 0;
}

/* check_signature handles one signature line; 0 when it verified, 1 when
 * its key is unknown. Only a known key's signature is decoded in full:
 * other signers (witness cosignatures, post-quantum ones) may use any size. */
static int check_signature(scitt_span_t line, scitt_span_t body, const scitt_note_verifier_t *verifiers,
                           size_t num_verifiers, const char **why)
{
    size_t dash = sizeof(em_dash) - 1;
    *why = "a signature line is malformed";
    if (line.len < dash + 2 || memcmp(line.base, em_dash, dash) != 0 || line.base[dash] != ' ') {
        return SCITT_EMALFORMED;
    }
    scitt_span_t rest = scitt_span(line.base + dash + 1, line.len - dash - 1);
    const uint8_t *space = memchr(rest.base, ' ', rest.len);
    if (space == NULL || !valid_name((const char *)rest.base, (size_t)(space - rest.base))) {
        return SCITT_EMALFORMED;
    }
    scitt_span_t name = scitt_span(rest.base, (size_t)(space - rest.base));
    const char *b64 = (const char *)space + 1;
    size_t b64_len = (size_t)(rest.base + rest.len - space - 1);
    /* The first 8 characters are the key id and 2 signature bytes. */
    uint8_t head[6];
    size_t n;
    if (b64_len < 8 || scitt_base64_decode(head, sizeof(head), &n, b64, 8, SCITT_B64_STD) != 0) {
        return SCITT_EMALFORMED;
    }
    for (size_t i = 0; i < num_verifiers; i++) {
        const scitt_note_verifier_t *v = &verifiers[i];
        if (!scitt_span_eq(name, scitt_span_str(v->name)) || memcmp(head, v->id, 4) != 0) {
            continue;
        }
        uint8_t blob[4 + 64];
        size_t blob_len;
        if (scitt_base64_decode(blob, sizeof(blob), &blob_len, b64, b64_len, SCITT_B64_STD) != 0 ||
            scitt_sig_verify(v->key, SCITT_ALG_EDDSA, body.base, body.len, blob + 4, blob_len - 4) != 0) {
            *why = "a signature by a known key does not verify";
            return SCITT_EBADSIG;
        }
        *why = NULL;
        return 0;
    }
    *why = NULL;
    return 1;
}

int scitt_note_open(const uint8_t *note, size_t len, const scitt_note_verifier_t *verifiers, size_t num_verifiers,
                    scitt_checkpoint_t *out, const char **out_err_desc)
{
    const char *unused = NULL;
    const char **why = out_err_desc != NULL ? out_err_desc : &unused;
    if (len > SCITT_NOTE_MAX_LEN) {
        *why = "the note is too long";
        return SCITT_ETOOBIG;
    }
    if (!valid_text(note, len) || len == 0 || note[len - 1] != '\n') {
        *why = "the note is not newline-terminated UTF-8 text without control characters";
        return SCITT_EMALFORMED;
    }
    /* The body ends with the first "\n\n": its final newline is signed. */
    scitt_span_t text = scitt_span(note, len);
    size_t body_len = 0;
    while (body_len + 1 < len && !(note[body_len] == '\n' && note[body_len + 1] == '\n')) {
        body_len++;
    }
    if (body_len + 1 >= len) {
        *why = "the note has no signature block";
        return SCITT_EMALFORMED;
    }
    scitt_span_t body = scitt_span(note, body_len + 1);
    size_t pos = body_len + 2, num_sigs = 0, num_ok = 0;
    scitt_span_t line;
    while (pos < len && next_line(text, &pos, &line)) {
        if (++num_sigs > SCITT_NOTE_MAX_SIGS) {
            *why = "the note has too many signatures";
            return SCITT_ETOOBIG;
        }
        int rc = check_signature(line, body, verifiers, num_verifiers, why);
        if (rc < 0) {
            return rc;
        }
        num_ok += rc == 0;
    }
    if (num_sigs == 0) {
        *why = "the note has no signature lines";
        return SCITT_EMALFORMED;
    }
    if (num_ok == 0) {
        *why = "no signature by a known key";
        return SCITT_EBADSIG;
    }
    int rc = parse_checkpoint(body, out, why);
    out->num_verified = num_ok;
    return rc;
}

/* Entry points shared with cosig.c (note_priv.h). */
int scitt_note_verifier_init(scitt_note_verifier_t *v, const char *name, const scitt_key_t *key)
{
    return scitt_note__verifier_init(v, name, key, SCITT_NOTE_TYPE_ED25519);
}

int scitt_note_verifier_parse(scitt_note_verifier_t *v, const char *vkey, size_t len)
{
    return scitt_note__verifier_parse(v, vkey, len, SCITT_NOTE_TYPE_ED25519);
}

int scitt_note_vkey(scitt_buf_t *out, const scitt_note_verifier_t *v)
{
    return scitt_note__vkey(out, v, SCITT_NOTE_TYPE_ED25519);
}

bool scitt_note__valid_name(const char *name, size_t len)
{
    return valid_name(name, len);
}
