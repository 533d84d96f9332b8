/*
 * note_priv.h: what note.c shares with cosig.c. A cosigner's vkey and key id
 * differ from a log key's only in the type byte (0x04 instead of 0x01), so
 * the vkey code takes the type as a parameter.
 */
#ifndef SCITT_NOTE_PRIV_H
#define SCITT_NOTE_PRIV_H

#include "scitt/note.h"

int scitt_note__verifier_init(scitt_note_verifier_t *v, const char *name, const scitt_key_t *key, uint8_t type);
int scitt_note__verifier_parse(scitt_note_verifier_t *v, const char *vkey, size_t len, uint8_t type);
int scitt_note__vkey(scitt_buf_t *out, const scitt_note_verifier_t *v, uint8_t type);
bool scitt_note__valid_name(const char *name, size_t len);

#endif /* SCITT_NOTE_PRIV_H */
