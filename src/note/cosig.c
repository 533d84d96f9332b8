/*
 * cosig.c: Ed25519 cosignatures (cosignature/v1) on checkpoints.
 *
 * A cosignature line has a fixed size (76 bytes of key id, time and
 * signature), so parsing checks the exact length and nothing else is
 * decoded from lines of other signers. Counting is per listed cosigner, not
 * per line: a note repeating one witness's line still counts it once.
 */
#include <stdio.h>

#include "note_priv.h"

static const char em_dash_space[] = "\xe2\x80\x94 "; /* U+2014 and a space */

int scitt_cosigner_init(scitt_cosigner_t *c, const char *name, const scitt_key_t *key)
{
    return scitt_note__verifier_init(&c->v, name, key, SCITT_NOTE_TYPE_COSIG_ED25519);
}

int scitt_cosigner_parse(scitt_cosigner_t *c, const char *vkey, size_t len)
{
    return scitt_note__verifier_parse(&c->v, vkey, len, SCITT_NOTE_TYPE_COSIG_ED25519);
}

void scitt_cosigner_cleanup(scitt_cosigner_t *c)
{
    scitt_note_verifier_cleanup(&c->v);
}

int scitt_cosigner_vkey(scitt_buf_t *out, const scitt_cosigner_t *c)
{
    return scitt_note__vkey(out, &c->v, SCITT_NOTE_TYPE_COSIG_ED25519);
}

int scitt_cosig_message(scitt_buf_t *out, scitt_span_t body, uint64_t time)
{
    if (body.len == 0 || body.base[body.len - 1] != '\n' || time > SCITT_COSIG_MAX_TIME) {
        return SCITT_EINVAL;
    }
    size_t mark = out->len;
    int rc = scitt_buf_printf(out, "cosignature/v1\ntime %llu\n", (unsigned long long)time);
    if (rc == 0) {
        rc = scitt_buf_append(out, body.base, body.len);
    }
    if (rc != 0) {
        out->len = mark;
    }
    return rc;
}

static void put_u64_be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

int scitt_cosig_sign(scitt_buf_t *out, scitt_span_t body, uint64_t time, const scitt_cosigner_t *c)
{
    scitt_buf_t msg;
    scitt_buf_init(&msg, NULL, SCITT_NOTE_MAX_LEN + 64);
    int rc = scitt_cosig_message(&msg, body, time);
    uint8_t blob[SCITT_COSIG_BLOB_LEN];
    size_t sig_len = 0;
    if (rc == 0) {
        memcpy(blob, c->v.id, 4);
        put_u64_be(blob + 4, time);
        rc = scitt_sig_sign(c->v.key, SCITT_ALG_EDDSA, msg.base, msg.len, blob + 12, 64, &sig_len);
    }
    scitt_buf_cleanup(&msg);
    if (rc == 0 && sig_len != 64) {
        rc = SCITT_ECRYPTO;
    }
    if (rc != 0) {
        return rc;
    }
    char b64[128];
    scitt_base64_encode(b64, blob, sizeof(blob), SCITT_B64_STD);
    return scitt_buf_printf(out, "%s%s %s\n", em_dash_space, c->v.name, b64);
}

int scitt_cosig_parse(const uint8_t *line, size_t len, scitt_cosig_t *out)
{
    size_t prefix = sizeof(em_dash_space) - 1;
    if (len < prefix || memcmp(line, em_dash_space, prefix) != 0) {
        return SCITT_EMALFORMED;
    }
    const uint8_t *name = line + prefix, *end = line + len;
    const uint8_t *space = memchr(name, ' ', (size_t)(end - name));
    if (space == NULL || !scitt_note__valid_name((const char *)name, (size_t)(space - name))) {
        return SCITT_EMALFORMED;
    }
    uint8_t blob[SCITT_COSIG_BLOB_LEN];
    size_t n;
    const char *b64 = (const char *)space + 1;
    size_t b64_len = (size_t)(end - space - 1);
    if (b64_len != scitt_base64_encoded_len(sizeof(blob), SCITT_B64_STD) ||
        scitt_base64_decode(blob, sizeof(blob), &n, b64, b64_len, SCITT_B64_STD) != 0 || n != sizeof(blob)) {
        return SCITT_EMALFORMED;
    }
    uint64_t time = 0;
    for (int i = 0; i < 8; i++) {
        time = time << 8 | blob[4 + i];
    }
    if (time > SCITT_COSIG_MAX_TIME) {
        return SCITT_EMALFORMED;
    }
    out->name = scitt_span(name, (size_t)(space - name));
    memcpy(out->id, blob, 4);
    out->time = time;
    memcpy(out->sig, blob + 12, 64);
    return 0;
}

int scitt_cosig_verify(const scitt_cosig_t *s, scitt_span_t body, const scitt_cosigner_t *c)
{
    if (!scitt_span_eq(s->name, scitt_span_str(c->v.name)) || memcmp(s->id, c->v.id, 4) != 0) {
        return SCITT_ENOKEY;
    }
    scitt_buf_t msg;
    scitt_buf_init(&msg, NULL, SCITT_NOTE_MAX_LEN + 64);
    int rc = scitt_cosig_message(&msg, body, s->time);
    if (rc == 0 && scitt_sig_verify(c->v.key, SCITT_ALG_EDDSA, msg.base, msg.len, s->sig, 64) != 0) {
        rc = SCITT_EBADSIG;
    }
    scitt_buf_cleanup(&msg);
    return rc == SCITT_EINVAL ? SCITT_EBADSIG : rc;
}

int scitt_cosig_count(const uint8_t *note, size_t len, const scitt_cosigner_t *cosigners, size_t num_cosigners,
                      bool *valid, size_t *out_count)
{
    bool seen[SCITT_NOTE_MAX_SIGS] = {false};
    *out_count = 0;
    if (num_cosigners > SCITT_NOTE_MAX_SIGS) {
        return SCITT_EINVAL;
    }
    if (valid != NULL) {
        memset(valid, 0, num_cosigners * sizeof(bool));
    }
    if (len > SCITT_NOTE_MAX_LEN) {
        return SCITT_ETOOBIG;
    }
    const uint8_t *sep = NULL;
    for (size_t i = 0; i + 1 < len; i++) {
        if (note[i] == '\n' && note[i + 1] == '\n') {
            sep = note + i;
            break;
        }
    }
    if (sep == NULL) {
        return SCITT_EMALFORMED;
    }
    scitt_span_t body = scitt_span(note, (size_t)(sep - note) + 1);
    const uint8_t *p = sep + 2, *end = note + len;
    const uint8_t *nl;
    size_t num_lines = 0;
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        if (++num_lines > SCITT_NOTE_MAX_SIGS) {
            return SCITT_ETOOBIG; /* as scitt_note_open: bounds the work */
        }
        scitt_cosig_t s;
        if (scitt_cosig_parse(p, (size_t)(nl - p), &s) == 0) {
            for (size_t i = 0; i < num_cosigners; i++) {
                if (!seen[i] && scitt_cosig_verify(&s, body, &cosigners[i]) == 0) {
                    seen[i] = true;
                    (*out_count)++;
                }
            }
        }
        p = nl + 1;
    }
    if (valid != NULL) {
        memcpy(valid, seen, num_cosigners * sizeof(bool));
    }
    return 0;
}
