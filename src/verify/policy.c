/*
 * policy.c: the registration policy (RFC 9943 section 5.1.1).
 *
 * Trusted issuer keys sit in a sorted array keyed by their RFC 9679
 * thumbprint, so a statement's kid finds its key by binary search. x5chain
 * issuers are validated against the trust roots at the submission time,
 * or found in the cache of chains validated before (chaincache.h), keyed
 * with the roots' identity. Nothing else here changes after
 * scitt_policy_new returns, which is what makes the verify pool's
 * concurrent use safe without locks; the cache has its own.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "chaincache.h"
#include "scitt/verify.h"

static const int default_algs[] = {SCITT_ALG_ES256, SCITT_ALG_ES384, SCITT_ALG_ES512, SCITT_ALG_EDDSA,
                                   SCITT_ALG_PS256, SCITT_ALG_PS384, SCITT_ALG_PS512};

/* An issuer key, and the CWT iss values it may claim (newline-separated,
 * from the optional `<name>.iss` file beside `<name>.pem`; empty: any). */
typedef struct issuer_key {
    uint8_t kid[SCITT_SHA256_LEN];
    scitt_key_t *key;
    scitt_buf_t iss;
} issuer_key_t;

struct scitt_policy {
    int algs[16];
    size_t num_algs;
    size_t max_len;
    issuer_key_t *keys;
    size_t num_keys;
    scitt_trust_store_t *roots;
    uint8_t roots_id[SCITT_SHA256_LEN]; /* SHA-256 of the roots bundle as read */
    scitt_chain_cache_t *chains;        /* NULL: no cache */
    bool allow_unknown;
    const char *const *iss_allow;
    size_t num_iss_allow;
    const char *const *sub_allow;
    size_t num_sub_allow;
};

static _Thread_local char err_buf[4200];

static const char *explain(const char *what, const char *path)
{
    snprintf(err_buf, sizeof(err_buf), "%s: %s", what, path);
    return err_buf;
}

static int cmp_kid(const void *a, const void *b)
{
    return memcmp(((const issuer_key_t *)a)->kid, ((const issuer_key_t *)b)->kid, SCITT_SHA256_LEN);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* add_key_file loads one PEM public key and records it under its thumbprint. */
static int add_key_file(scitt_policy_t *p, const char *path, const char **why)
{
    scitt_buf_t pem;
    scitt_buf_init(&pem, NULL, 1 << 20);
    int rc = scitt_read_file(path, &pem);
    scitt_key_t *key = NULL;
    if (rc == 0) {
        rc = scitt_key_from_pem(&key, pem.base, pem.len);
    }
    scitt_buf_cleanup(&pem);
    if (rc != 0) {
        *why = explain(rc == SCITT_EBADKEY ? "no supported public key in" : "cannot read issuer key", path);
        return rc;
    }
    issuer_key_t *grown = realloc(p->keys, (p->num_keys + 1) * sizeof(*grown));
    if (grown == NULL) {
        scitt_key_free(key);
        return SCITT_ENOMEM;
    }
    p->keys = grown;
    issuer_key_t *ik = &p->keys[p->num_keys];
    rc = scitt_cose_key_thumbprint(NULL, ik->kid, key);
    if (rc != 0) {
        scitt_key_free(key);
        return rc;
    }
    ik->key = key;
    scitt_buf_init(&ik->iss, NULL, 1 << 20);
    p->num_keys++;
    /* The optional iss list binds the claims this key may make. */
    char iss_path[4096];
    snprintf(iss_path, sizeof(iss_path), "%.*s.iss", (int)(strlen(path) - 4), path);
    rc = scitt_read_file(iss_path, &ik->iss);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        *why = explain("cannot read issuer names", iss_path);
    }
    return rc;
}

/* iss_bound reports whether `iss` is one of the lines of `list` (any iss
 * when the list is empty). */
static bool iss_bound(const scitt_buf_t *list, scitt_span_t iss)
{
    if (list->len == 0) {
        return true;
    }
    const uint8_t *p = list->base, *end = list->base + list->len;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl != NULL ? nl : end) - p);
        if (n > 0 && scitt_span_eq(scitt_span(p, n), iss)) {
            return true;
        }
        p += n + 1;
    }
    return false;
}

static int load_issuer_keys(scitt_policy_t *p, const char *dir_path, const char **why)
{
    DIR *dir = opendir(dir_path);
    if (dir == NULL) {
        int err = errno;
        *why = explain("cannot open the issuer keys folder", dir_path);
        return -err;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".pem")) {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir_path, de->d_name);
        rc = add_key_file(p, path, why);
    }
    closedir(dir);
    if (rc == 0 && p->num_keys > 0) {
        qsort(p->keys, p->num_keys, sizeof(*p->keys), cmp_kid);
    }
    return rc;
}

static int load_roots(scitt_policy_t *p, const char *path, const char **why)
{
    scitt_buf_t pem;
    scitt_buf_init(&pem, NULL, 16 << 20);
    int rc = scitt_read_file(path, &pem);
    if (rc == 0) {
        rc = scitt_trust_store_from_pem(&p->roots, pem.base, pem.len);
        scitt_sha256(p->roots_id, pem.base, pem.len);
    }
    scitt_buf_cleanup(&pem);
    if (rc != 0) {
        *why =
            explain(rc == SCITT_ECERT ? "no valid certificates in the trust roots" : "cannot read trust roots", path);
    }
    return rc;
}

int scitt_policy_new(scitt_policy_t **out, const scitt_policy_config_t *cfg, const char **out_err_desc)
{
    const char *unused = NULL;
    const char **why = out_err_desc != NULL ? out_err_desc : &unused;
    *why = NULL;
    scitt_policy_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return SCITT_ENOMEM;
    }
    const int *algs = cfg->algs != NULL ? cfg->algs : default_algs;
    size_t num_algs = cfg->algs != NULL ? cfg->num_algs : scitt_countof(default_algs);
    if (num_algs == 0 || num_algs > scitt_countof(p->algs)) {
        free(p);
        *why = "the list of accepted algorithms is empty or too long";
        return SCITT_EINVAL;
    }
    memcpy(p->algs, algs, num_algs * sizeof(*algs));
    p->num_algs = num_algs;
    p->max_len = cfg->max_statement_len != 0 ? cfg->max_statement_len : SCITT_COSE_DEFAULT_MAX_LEN;
    p->allow_unknown = cfg->allow_unknown_issuers;
    p->iss_allow = cfg->iss_allow;
    p->num_iss_allow = cfg->num_iss_allow;
    p->sub_allow = cfg->sub_allow;
    p->num_sub_allow = cfg->num_sub_allow;
    int rc = 0;
    if (cfg->issuer_keys_dir != NULL) {
        rc = load_issuer_keys(p, cfg->issuer_keys_dir, why);
    }
    if (rc == 0 && cfg->trust_roots_file != NULL) {
        rc = load_roots(p, cfg->trust_roots_file, why);
    }
    if (rc == 0 && p->roots != NULL && cfg->x5chain_cache_entries > 0) {
        rc = scitt_chain_cache_new(&p->chains, cfg->x5chain_cache_entries);
    }
    if (rc != 0) {
        scitt_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void scitt_policy_free(scitt_policy_t *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->num_keys; i++) {
        scitt_key_free(p->keys[i].key);
        scitt_buf_cleanup(&p->keys[i].iss);
    }
    free(p->keys);
    scitt_trust_store_free(p->roots);
    scitt_chain_cache_free(p->chains);
    free(p);
}

void scitt_policy_x5chain_cache_stats(const scitt_policy_t *p, scitt_x5chain_cache_stats_t *out)
{
    *out = (scitt_x5chain_cache_stats_t){0};
    if (p->chains != NULL) {
        scitt_chain_cache_stats(p->chains, out);
    }
}

size_t scitt_policy_num_issuer_keys(const scitt_policy_t *p)
{
    return p->num_keys;
}

static bool allowed(scitt_span_t value, const char *const *list, size_t num)
{
    if (num == 0) {
        return true;
    }
    for (size_t i = 0; i < num; i++) {
        if (scitt_span_eq(value, scitt_span_str(list[i]))) {
            return true;
        }
    }
    return false;
}

static const issuer_key_t *find_issuer_key(const scitt_policy_t *p, scitt_span_t kid)
{
    if (kid.len != SCITT_SHA256_LEN || p->num_keys == 0) {
        return NULL;
    }
    issuer_key_t probe;
    memcpy(probe.kid, kid.base, SCITT_SHA256_LEN);
    return bsearch(&probe, p->keys, p->num_keys, sizeof(*p->keys), cmp_kid);
}

/* validated_leaf validates the chain against the trust roots, or finds it
 * in the cache: the leaf key is then `*ref`'s, else `*out`. Only a chain
 * that validated now enters the cache. */
static int validated_leaf(const scitt_policy_t *p, const scitt_cose_hdrs_t *h, int64_t now, scitt_key_t **out,
                          scitt_chain_ref_t **ref, const char **why)
{
    uint8_t digest[SCITT_SHA256_LEN];
    bool cacheable = p->chains != NULL && scitt_chain_cache_digest(digest, p->roots_id, h->x5chain, h->num_x5chain);
    if (cacheable && (*ref = scitt_chain_cache_get(p->chains, digest, now)) != NULL) {
        return 0;
    }
    int64_t not_before, not_after;
    int rc =
        scitt_x509_verify_chain_window(p->roots, h->x5chain, h->num_x5chain, now, out, &not_before, &not_after, why);
    if (rc == 0 && cacheable && scitt_chain_cache_put(p->chains, digest, *out, not_before, not_after, ref) == 0) {
        *out = NULL; /* the cache owns it now; `*ref` holds it */
    }
    return rc;
}

/* x5chain_key finds the certificate chain (protected, or unprotected when a
 * protected x5t pins its leaf) and returns the validated leaf key: `*out`
 * (owned), or `*ref`'s (held from the cache). */
static int x5chain_key(const scitt_policy_t *p, const scitt_cose_sign1_t *s, int64_t now, scitt_key_t **out,
                       scitt_chain_ref_t **ref, const char **why)
{
    const scitt_cose_hdrs_t *h = &s->prot;
    if (!(h->present & SCITT_COSE_HAS_X5CHAIN)) {
        /* RFC 9360 allows the chain in the unprotected header when x5t pins
         * it, but the log keeps only the protected header (RFC 9943 resets
         * the unprotected one), so auditors could not replay the check. */
        *why = "x5chain must be in the protected header, so auditors can replay the chain validation";
        return SCITT_ECONFIRM;
    }
    if (s->prot.present & SCITT_COSE_HAS_X5T) {
        uint8_t digest[64];
        size_t digest_len;
        scitt_span_t leaf = h->x5chain[0];
        if (s->prot.x5t_alg < INT32_MIN || s->prot.x5t_alg > INT32_MAX ||
            scitt_hash((int)s->prot.x5t_alg, digest, &digest_len, leaf.base, leaf.len) != 0 ||
            !scitt_span_eq(scitt_span(digest, digest_len), s->prot.x5t_hash)) {
            *why = "x5t does not match the leaf certificate of x5chain";
            return SCITT_ECONFIRM;
        }
    }
    if (p->roots != NULL) {
        int rc = validated_leaf(p, h, now, out, ref, why);
        if (rc == 0 || !p->allow_unknown) {
            return rc;
        }
    } else if (!p->allow_unknown) {
        *why = "this service trusts no certificate roots";
        return SCITT_ECERT;
    }
    /* --allow-unknown-issuers: the leaf's own key, unvalidated. */
    int rc = scitt_x509_public_key(h->x5chain[0].base, h->x5chain[0].len, out);
    *why = rc == 0 ? NULL : "the leaf certificate is malformed";
    return rc;
}

int scitt_policy_check(const scitt_policy_t *p, const uint8_t *body, size_t len, int64_t now, scitt_verified_t *out,
                       scitt_buf_t *scratch, const char **out_err_desc)
{
    const char *unused = NULL;
    const char **why = out_err_desc != NULL ? out_err_desc : &unused;
    *why = NULL;
    scitt_cose_sign1_t *s = &out->stmt;
    int rc = scitt_cose_sign1_decode(s, body, len, p->max_len, why);
    out->decoded = rc == 0;
    if (rc == 0) {
        scitt_cose_entry(s, out->entry);
        rc = scitt_cose_statement_check(s, p->algs, p->num_algs, why);
    }
    if (rc != 0) {
        return rc;
    }
    if (!allowed(s->prot.cwt.iss, p->iss_allow, p->num_iss_allow)) {
        *why = "the issuer (CWT iss) is not on this service's allow-list";
        return SCITT_EPOLICY;
    }
    if (!allowed(s->prot.cwt.sub, p->sub_allow, p->num_sub_allow)) {
        *why = "the subject (CWT sub) is not on this service's allow-list";
        return SCITT_EPOLICY;
    }
    scitt_key_t *owned = NULL;
    scitt_chain_ref_t *held = NULL;
    const scitt_key_t *key;
    if (s->prot.present & (SCITT_COSE_HAS_X5CHAIN | SCITT_COSE_HAS_X5T)) {
        rc = x5chain_key(p, s, now, &owned, &held, why);
        key = held != NULL ? scitt_chain_ref_key(held) : owned;
    } else {
        const issuer_key_t *ik = find_issuer_key(p, s->prot.kid);
        key = ik != NULL ? ik->key : NULL;
        if (ik == NULL) {
            *why = "the kid does not name an issuer key this service trusts";
            rc = SCITT_ENOKEY;
        } else if (!iss_bound(&ik->iss, s->prot.cwt.iss)) {
            *why = "this issuer key may not claim that iss (see its .iss file)";
            rc = SCITT_EPOLICY;
        }
    }
    if (rc == 0) {
        rc = scitt_cose_sign1_verify(s, key, scitt_span(NULL, 0), scratch, why);
    }
    scitt_key_free(owned);
    scitt_chain_ref_release(held);
    return rc;
}
