/*
 * build.c: the protected header of a new signed statement, for `scitt sign`
 * (and anything else that issues statements). Written in the order RFC 9052
 * examples use: alg, content type, kid, CWT claims, x5chain, then the hash
 * envelope parameters.
 */
#include "internal.h"

static int put_text_param(scitt_buf_t *out, int64_t label, const char *text)
{
    int rc = scitt_cose__put_int(out, label);
    return rc != 0 ? rc : scitt_cose__put_tstr(out, scitt_span_str(text));
}

int scitt_cose_statement_protected(scitt_buf_t *out, const scitt_cose_statement_params_t *p)
{
    bool he = p->payload_hash_alg != 0;
    bool cwt = p->iss != NULL || p->sub != NULL || p->iat != 0;
    uint64_t n = 1 + (p->content_type != NULL) + (p->kid.len > 0) + cwt + (p->num_x5chain > 0) + he +
                 (he && p->payload_location != NULL);
    size_t start = out->len;
    int rc = scitt_cose__put_head(out, SCITT_CBOR_MAP, n);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_COSE_LABEL_ALG);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, p->alg);
    if (rc == 0 && p->content_type != NULL) {
        /* A hash envelope must not carry label 3 (RFC 9995): the content
         * type describes the preimage and goes to 259 instead. */
        rc = put_text_param(out, he ? SCITT_COSE_LABEL_PREIMAGE_CTYPE : SCITT_COSE_LABEL_CONTENT_TYPE, p->content_type);
    }
    if (rc == 0 && p->kid.len > 0) {
        rc = scitt_cose__put_int(out, SCITT_COSE_LABEL_KID);
        rc = rc != 0 ? rc : scitt_cose__put_bstr(out, p->kid);
    }
    if (rc == 0 && cwt) {
        rc = scitt_cose__put_int(out, SCITT_COSE_LABEL_CWT_CLAIMS);
        rc = rc != 0 ? rc
                     : scitt_cose__put_head(out, SCITT_CBOR_MAP,
                                            (uint64_t)(p->iss != NULL) + (p->sub != NULL) + (p->iat != 0));
        if (rc == 0 && p->iss != NULL) {
            rc = put_text_param(out, SCITT_CWT_ISS, p->iss);
        }
        if (rc == 0 && p->sub != NULL) {
            rc = put_text_param(out, SCITT_CWT_SUB, p->sub);
        }
        if (rc == 0 && p->iat != 0) {
            rc = scitt_cose__put_int(out, SCITT_CWT_IAT);
            rc = rc != 0 ? rc : scitt_cose__put_int(out, p->iat);
        }
    }
    if (rc == 0 && p->num_x5chain > 0) {
        /* COSE_X509 (RFC 9360): one certificate is a bare bstr. */
        rc = scitt_cose__put_int(out, SCITT_COSE_LABEL_X5CHAIN);
        if (rc == 0 && p->num_x5chain > 1) {
            rc = scitt_cose__put_head(out, SCITT_CBOR_ARRAY, p->num_x5chain);
        }
        for (size_t i = 0; rc == 0 && i < p->num_x5chain; i++) {
            rc = scitt_cose__put_bstr(out, p->x5chain[i]);
        }
    }
    if (rc == 0 && he) {
        rc = scitt_cose__put_int(out, SCITT_COSE_LABEL_PAYLOAD_HASH_ALG);
        rc = rc != 0 ? rc : scitt_cose__put_int(out, p->payload_hash_alg);
        if (rc == 0 && p->payload_location != NULL) {
            rc = put_text_param(out, SCITT_COSE_LABEL_PAYLOAD_LOCATION, p->payload_location);
        }
    }
    if (rc != 0) {
        out->len = start;
    }
    return rc;
}
