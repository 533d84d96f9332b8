/*
 * x509.c: trust stores and certificate path validation for x5chain issuers.
 *
 * The library's own verifier builds and checks the path (signatures, names,
 * validity at the given time, CA constraints); we add the leaf key-usage
 * rule and keep the error text short enough for a problem-details body.
 * Intermediates come from the statement and are untrusted: only certificates
 * in the store can anchor a path.
 */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "internal.h"

#define MAX_CHAIN 8

struct scitt_trust_store {
    X509_STORE *store;
    size_t count;
};

int scitt_trust_store_from_pem(scitt_trust_store_t **out, const uint8_t *pem, size_t len)
{
    if (len > INT_MAX) {
        return SCITT_ETOOBIG;
    }
    scitt_trust_store_t *ts = calloc(1, sizeof(*ts));
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (ts == NULL || bio == NULL || (ts->store = X509_STORE_new()) == NULL) {
        BIO_free(bio);
        free(ts);
        return SCITT_ENOMEM;
    }
    X509 *cert;
    while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        int ok = X509_STORE_add_cert(ts->store, cert);
        X509_free(cert);
        if (!ok) {
            break;
        }
        ts->count++;
    }
    /* Reading stops at the end of the text (PEM_R_NO_START_LINE) or at a
     * malformed certificate; only the former is a clean end. */
    unsigned long e = ERR_peek_last_error();
    bool clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    BIO_free(bio);
    if (ts->count == 0 || !clean_end) {
        scitt_trust_store_free(ts);
        return SCITT_ECERT;
    }
    *out = ts;
    return 0;
}

void scitt_trust_store_free(scitt_trust_store_t *ts)
{
    if (ts != NULL) {
        X509_STORE_free(ts->store);
        free(ts);
    }
}

size_t scitt_trust_store_count(const scitt_trust_store_t *ts)
{
    return ts->count;
}

static X509 *parse_der(scitt_span_t der)
{
    if (der.len > INT_MAX) {
        return NULL;
    }
    const uint8_t *p = der.base;
    X509 *cert = d2i_X509(NULL, &p, (long)der.len);
    if (cert != NULL && p != der.base + der.len) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

int scitt_x509_public_key(const uint8_t *der, size_t len, scitt_key_t **out)
{
    X509 *cert = parse_der(scitt_span(der, len));
    ERR_clear_error();
    if (cert == NULL) {
        return SCITT_ECERT;
    }
    EVP_PKEY *pkey = X509_get_pubkey(cert);
    X509_free(cert);
    if (pkey == NULL) {
        ERR_clear_error();
        return SCITT_EBADKEY;
    }
    int rc = scitt_crypto__key_wrap(out, pkey, false);
    if (rc != 0) {
        EVP_PKEY_free(pkey);
    }
    return rc;
}

static const char *verify_reason(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "a certificate in the chain has expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "a certificate in the chain is not yet valid";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return "the chain does not lead to a trusted root";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return "a certificate signature does not verify";
    case X509_V_ERR_INVALID_CA:
        return "an issuing certificate is not a CA";
    default:
        return "the certificate chain does not validate";
    }
}

/* time_at converts a certificate time to Unix seconds, as an offset from
 * `now` (ASN1_TIME_diff is in both backends; the direct conversions are not). */
static bool time_at(const ASN1_TIME *t, int64_t now, int64_t *out)
{
    ASN1_TIME *ref = ASN1_TIME_set(NULL, (time_t)now);
    int days = 0, secs = 0;
    bool ok = ref != NULL && ASN1_TIME_diff(&days, &secs, ref, t);
    ASN1_TIME_free(ref);
    *out = now + (int64_t)days * 86400 + secs;
    return ok;
}

/* path_window intersects the validity of every certificate on the path the
 * verifier built (leaf to trust root). */
static bool path_window(X509_STORE_CTX *ctx, int64_t now, int64_t *not_before, int64_t *not_after)
{
    STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(ctx);
    *not_before = INT64_MIN;
    *not_after = INT64_MAX;
    for (size_t i = 0; path != NULL && i < (size_t)sk_X509_num(path); i++) {
        X509 *c = sk_X509_value(path, i);
        int64_t nb, na;
        if (!time_at(X509_get0_notBefore(c), now, &nb) || !time_at(X509_get0_notAfter(c), now, &na)) {
            return false;
        }
        *not_before = nb > *not_before ? nb : *not_before;
        *not_after = na < *not_after ? na : *not_after;
    }
    return path != NULL && sk_X509_num(path) > 0;
}

int scitt_x509_verify_chain(const scitt_trust_store_t *roots, const scitt_span_t *certs, size_t num_certs, int64_t now,
                            scitt_key_t **out_leaf_key, const char **out_err_desc)
{
    int64_t nb, na;
    return scitt_x509_verify_chain_window(roots, certs, num_certs, now, out_leaf_key, &nb, &na, out_err_desc);
}

int scitt_x509_verify_chain_window(const scitt_trust_store_t *roots, const scitt_span_t *certs, size_t num_certs,
                                   int64_t now, scitt_key_t **out_leaf_key, int64_t *out_not_before,
                                   int64_t *out_not_after, const char **out_err_desc)
{
    *out_err_desc = NULL;
    if (num_certs == 0 || num_certs > MAX_CHAIN) {
        *out_err_desc = num_certs == 0 ? "x5chain is empty" : "x5chain is too long";
        return SCITT_ECERT;
    }
    int rc = SCITT_ECERT;
    X509 *leaf = parse_der(certs[0]);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (leaf == NULL) {
        *out_err_desc = "the leaf certificate is malformed";
        goto done;
    }
    if (untrusted == NULL || ctx == NULL) {
        rc = SCITT_ENOMEM;
        goto done;
    }
    for (size_t i = 1; i < num_certs; i++) {
        X509 *c = parse_der(certs[i]);
        if (c == NULL || !sk_X509_push(untrusted, c)) {
            X509_free(c);
            *out_err_desc = "an intermediate certificate is malformed";
            goto done;
        }
    }
    if (!X509_STORE_CTX_init(ctx, roots->store, leaf, untrusted)) {
        rc = SCITT_ENOMEM;
        goto done;
    }
    X509_STORE_CTX_set_time(ctx, 0, (time_t)now);
    if (X509_verify_cert(ctx) != 1) {
        *out_err_desc = verify_reason(X509_STORE_CTX_get_error(ctx));
        goto done;
    }
    if (!path_window(ctx, now, out_not_before, out_not_after)) {
        *out_err_desc = "a certificate's validity times cannot be read";
        goto done;
    }
    uint32_t ku = X509_get_key_usage(leaf);
    if (ku != UINT32_MAX && (ku & X509v3_KU_DIGITAL_SIGNATURE) == 0) {
        *out_err_desc = "the leaf certificate's key usage does not allow signing";
        goto done;
    }
    EVP_PKEY *pkey = X509_get_pubkey(leaf);
    if (pkey == NULL) {
        rc = SCITT_EBADKEY;
        goto done;
    }
    rc = scitt_crypto__key_wrap(out_leaf_key, pkey, false);
    if (rc != 0) {
        EVP_PKEY_free(pkey);
        *out_err_desc = "the leaf certificate's key type is not supported";
    }
done:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    ERR_clear_error();
    return rc;
}
