/*
 * fields.c: the audit fields of a signed statement, the values the log's
 * secondary indexes and the monitor key on (issue 10): issuer and subject
 * (CWT claims), the signing key's identity, the artifact digest and the
 * content type. Everything is read from the protected header, the only one
 * the issuer's signature covers.
 */
#include "internal.h"

void scitt_cose_fields(const scitt_cose_sign1_t *s, scitt_cose_fields_t *out)
{
    const scitt_cose_hdrs_t *p = &s->prot;
    *out = (scitt_cose_fields_t){0};
    if (p->present & SCITT_COSE_HAS_CWT) {
        if (p->cwt.present & SCITT_CWT_HAS_ISS) {
            out->iss = p->cwt.iss;
        }
        if (p->cwt.present & SCITT_CWT_HAS_SUB) {
            out->sub = p->cwt.sub;
        }
    }
    if ((p->present & SCITT_COSE_HAS_KID) && p->kid.len > 0) {
        out->key_id = p->kid;
    } else if ((p->present & SCITT_COSE_HAS_X5CHAIN) && p->num_x5chain > 0) {
        scitt_sha256(out->key_id_buf, p->x5chain[0].base, p->x5chain[0].len);
        out->key_id = scitt_span(out->key_id_buf, sizeof(out->key_id_buf));
    }
    if (p->present & SCITT_COSE_HAS_PAYLOAD_HASH_ALG) {
        out->artifact = s->payload; /* a hash envelope's payload is the digest */
        if (p->present & SCITT_COSE_HAS_PREIMAGE_CTYPE) {
            out->content_type = p->preimage_content_type;
            out->has_content_type = true;
        }
    } else {
        if (!s->detached) {
            scitt_sha256(out->artifact_buf, s->payload.base, s->payload.len);
            out->artifact = scitt_span(out->artifact_buf, sizeof(out->artifact_buf));
        }
        if (p->present & SCITT_COSE_HAS_CONTENT_TYPE) {
            out->content_type = p->content_type;
            out->has_content_type = true;
        }
    }
}
