/*
 * statement.c: the RFC 9943 signed-statement rules on top of a decoded
 * COSE_Sign1 (signature excluded).
 *
 * Every rule reads only the decoded header structs, so the checks cost a few
 * comparisons. Rules are applied in a fixed order and the first failure
 * wins, so a statement with several defects always gets the same answer:
 * crit, alg, receipts, payload, CWT claims, confirmation, hash envelope.
 */
#include "internal.h"

/* present_bit maps a label this module understands (and so the only labels
 * crit may name) to its SCITT_COSE_HAS_* bit; 0 for any other label. */
static uint32_t present_bit(int64_t label)
{
    switch (label) {
    case SCITT_COSE_LABEL_ALG:
        return SCITT_COSE_HAS_ALG;
    case SCITT_COSE_LABEL_CRIT:
        return SCITT_COSE_HAS_CRIT;
    case SCITT_COSE_LABEL_CONTENT_TYPE:
        return SCITT_COSE_HAS_CONTENT_TYPE;
    case SCITT_COSE_LABEL_KID:
        return SCITT_COSE_HAS_KID;
    case SCITT_COSE_LABEL_CWT_CLAIMS:
        return SCITT_COSE_HAS_CWT;
    case SCITT_COSE_LABEL_TYP:
        return SCITT_COSE_HAS_TYP;
    case SCITT_COSE_LABEL_X5CHAIN:
        return SCITT_COSE_HAS_X5CHAIN;
    case SCITT_COSE_LABEL_X5T:
        return SCITT_COSE_HAS_X5T;
    case SCITT_COSE_LABEL_PAYLOAD_HASH_ALG:
        return SCITT_COSE_HAS_PAYLOAD_HASH_ALG;
    case SCITT_COSE_LABEL_PREIMAGE_CTYPE:
        return SCITT_COSE_HAS_PREIMAGE_CTYPE;
    case SCITT_COSE_LABEL_PAYLOAD_LOCATION:
        return SCITT_COSE_HAS_PAYLOAD_LOCATION;
    default:
        return 0;
    }
}

static bool is_understood(const scitt_cose_label_t *l)
{
    return !l->is_text && present_bit(l->num) != 0;
}

/* check_crit: a recipient must reject a message whose crit names a label it
 * does not process, and crit's labels must be in the protected bucket
 * (RFC 9052 section 3.1). */
static int check_crit(const scitt_cose_sign1_t *s, const char **desc)
{
    if (s->unprot.present & SCITT_COSE_HAS_CRIT) {
        *desc = "crit (2) must be in the protected header";
        return SCITT_ECRIT;
    }
    for (size_t i = 0; i < s->prot.num_crit; i++) {
        const scitt_cose_label_t *l = &s->prot.crit[i];
        if (!is_understood(l)) {
            *desc = "crit (2) lists a header parameter this service does not understand";
            return SCITT_ECRIT;
        }
        if (!(s->prot.present & present_bit(l->num))) {
            *desc = "crit (2) lists a header parameter missing from the protected header";
            return SCITT_ECRIT;
        }
    }
    return 0;
}

static int check_alg(const scitt_cose_sign1_t *s, const int *algs, size_t num_algs, const char **desc)
{
    if (!(s->prot.present & SCITT_COSE_HAS_ALG)) {
        *desc = "alg (1) missing from the protected header";
        return SCITT_EBADALG;
    }
    int64_t alg = s->prot.alg;
    bool ok = false;
    if (alg >= INT32_MIN && alg <= INT32_MAX) {
        if (algs == NULL) {
            ok = scitt_alg_name((int)alg) != NULL;
        }
        for (size_t i = 0; algs != NULL && i < num_algs; i++) {
            ok = ok || algs[i] == alg;
        }
    }
    if (!ok) {
        *desc = "alg (1) names a signature algorithm this service does not accept";
        return SCITT_EBADALG;
    }
    return 0;
}

/* check_receipts: the log serves each entry with its receipt under 394 in
 * the unprotected header (a transparent statement); a protected 394 would
 * put the label in both buckets, which every verifier must reject (RFC 9052
 * section 3), so such a statement could be logged but never served. */
static int check_receipts(const scitt_cose_sign1_t *s, const char **desc)
{
    if (s->prot.present & SCITT_COSE_HAS_RECEIPTS) {
        *desc = "receipts (394) must not be in the protected header: the log adds its receipt under 394, unprotected";
        return SCITT_EHEADER;
    }
    return 0;
}

static int check_cwt(const scitt_cose_sign1_t *s, const char **desc)
{
    const uint32_t need = SCITT_CWT_HAS_ISS | SCITT_CWT_HAS_SUB;
    if (!(s->prot.present & SCITT_COSE_HAS_CWT) || (s->prot.cwt.present & need) != need) {
        *desc = "protected CWT claims (15) with text iss (1) and sub (2) are required";
        return SCITT_EHEADER;
    }
    _Static_assert(SCITT_COSE_MAX_CLAIM_TEXT == 320, "the message below names the bound");
    if (s->prot.cwt.iss.len > SCITT_COSE_MAX_CLAIM_TEXT || s->prot.cwt.sub.len > SCITT_COSE_MAX_CLAIM_TEXT) {
        *desc = "iss (1) and sub (2) may be at most 320 bytes each, so that GET /entries?iss= or ?sub= can find "
                "every registered statement";
        return SCITT_EHEADER;
    }
    return 0;
}

/* looks_like_uri is the cheap part of RFC 3986: a scheme, then ':'. */
static bool looks_like_uri(scitt_span_t s)
{
    if (s.len < 2 || s.len > 8192 || !((s.base[0] | 0x20) >= 'a' && (s.base[0] | 0x20) <= 'z')) {
        return false;
    }
    for (size_t i = 1; i < s.len; i++) {
        uint8_t c = s.base[i];
        if (c == ':') {
            return true;
        }
        if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
            return false;
        }
    }
    return false;
}

static int check_confirmation(const scitt_cose_sign1_t *s, const char **desc)
{
    const scitt_cose_hdrs_t *p = &s->prot;
    bool x509 = (p->present & (SCITT_COSE_HAS_X5CHAIN | SCITT_COSE_HAS_X5T)) != 0;
    if (!x509 && (!(p->present & SCITT_COSE_HAS_KID) || p->kid.len == 0)) {
        *desc = "a protected kid (4), x5chain (33) or x5t (34) is required";
        return SCITT_ECONFIRM;
    }
    if (x509 && !looks_like_uri(p->cwt.iss)) {
        *desc = "with x5chain or x5t, iss must be a URI of at most 8192 characters";
        return SCITT_EHEADER;
    }
    return 0;
}

static int check_hash_envelope(const scitt_cose_sign1_t *s, const char **desc)
{
    const uint32_t envelope =
        SCITT_COSE_HAS_PAYLOAD_HASH_ALG | SCITT_COSE_HAS_PREIMAGE_CTYPE | SCITT_COSE_HAS_PAYLOAD_LOCATION;
    if (s->unprot.present & envelope) {
        *desc = "hash envelope parameters (258, 259, 260) must be in the protected header";
        return SCITT_EHEADER;
    }
    if (!(s->prot.present & SCITT_COSE_HAS_PAYLOAD_HASH_ALG)) {
        if (s->prot.present & envelope) {
            *desc = "preimage content type (259) and payload location (260) need payload hash algorithm (258)";
            return SCITT_EHEADER;
        }
        return 0;
    }
    if ((s->prot.present | s->unprot.present) & SCITT_COSE_HAS_CONTENT_TYPE) {
        *desc = "a hash envelope must not carry content type (3); use 259";
        return SCITT_EHEADER;
    }
    return 0;
}

int scitt_cose_statement_check(const scitt_cose_sign1_t *s, const int *algs, size_t num_algs, const char **out_err_desc)
{
    const char *desc = NULL;
    int rc = check_crit(s, &desc);
    if (rc == 0) {
        rc = check_alg(s, algs, num_algs, &desc);
    }
    if (rc == 0) {
        rc = check_receipts(s, &desc);
    }
    if (rc == 0 && s->detached) {
        rc = SCITT_EPAYLOAD;
        desc = "detached payloads are not accepted; send the payload (or a hash envelope)";
    }
    if (rc == 0) {
        rc = check_cwt(s, &desc);
    }
    if (rc == 0) {
        rc = check_confirmation(s, &desc);
    }
    if (rc == 0) {
        rc = check_hash_envelope(s, &desc);
    }
    if (rc != 0 && out_err_desc != NULL) {
        *out_err_desc = desc;
    }
    return rc;
}
