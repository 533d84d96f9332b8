/*
 * receipt.c: RFC 9942 receipts for our RFC 9162 tree, and transparent
 * statements.
 *
 * Encoding writes deterministic CBOR with the internal encoder. Decoding
 * reuses the strict COSE_Sign1 decoder, then reads the two parameters that
 * decoder leaves alone (395 vds, 396 proofs) by walking the raw header maps
 * again with the cursor. Keys are never trusted from the receipt: the
 * caller resolves the kid and hands us the key.
 */
#include "internal.h"
#include "scitt/merkle.h"
#include "scitt/receipt.h"

int scitt_receipt_protected(scitt_buf_t *out, int alg, scitt_span_t kid, scitt_span_t origin, int64_t iat)
{
    /* Keys in deterministic order: 1, 4, 15, 395. */
    int rc = scitt_cose__put_head(out, SCITT_CBOR_MAP, 4);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_COSE_LABEL_ALG);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, alg);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_COSE_LABEL_KID);
    rc = rc != 0 ? rc : scitt_cose__put_bstr(out, kid);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_COSE_LABEL_CWT_CLAIMS);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_MAP, 3);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_CWT_ISS);
    rc = rc != 0 ? rc : scitt_cose__put_tstr(out, origin);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_CWT_SUB);
    rc = rc != 0 ? rc : scitt_cose__put_tstr(out, scitt_span_str(SCITT_RECEIPT_SUB));
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_CWT_IAT);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, iat);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_COSE_LABEL_VDS);
    return rc != 0 ? rc : scitt_cose__put_int(out, SCITT_RECEIPT_VDS_RFC9162);
}

int scitt_receipt_sign_root(const scitt_key_t *key, int alg, scitt_span_t protected_map, const uint8_t root[32],
                            uint8_t *sig, size_t sig_cap, size_t *sig_len, scitt_buf_t *scratch)
{
    scitt_buf_reset(scratch);
    int rc = scitt_cose__put_sig_structure(scratch, protected_map, scitt_span(root, 32));
    return rc != 0 ? rc : scitt_sig_sign(key, alg, scratch->base, scratch->len, sig, sig_cap, sig_len);
}

/* head_len: bytes of a CBOR head carrying `v` (shortest form). */
static size_t head_len(uint64_t v)
{
    return v < 24 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffff ? 5 : 9;
}

/* put_proof appends the bstr .cbor [tree_size, leaf_index, [path...]],
 * written in place: the inner item's length is known up front. */
static int put_proof(scitt_buf_t *out, uint64_t tree_size, uint64_t leaf_index, const uint8_t (*path)[32],
                     size_t path_len)
{
    if (path_len > SCITT_MERKLE_MAX_PROOF) {
        return SCITT_EINVAL;
    }
    size_t inner = 1 + head_len(tree_size) + head_len(leaf_index) + head_len(path_len) + path_len * (2 + 32);
    int rc = scitt_cose__put_head(out, SCITT_CBOR_BSTR, inner);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_ARRAY, 3);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_UINT, tree_size);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_UINT, leaf_index);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_ARRAY, path_len);
    rc = rc != 0 ? rc : scitt_buf_reserve(out, path_len * (2 + 32));
    for (size_t i = 0; rc == 0 && i < path_len; i++) {
        uint8_t *p = out->base + out->len; /* bstr of 32 bytes: 0x58 0x20, then the hash */
        p[0] = 0x58;
        p[1] = 0x20;
        memcpy(p + 2, path[i], 32);
        out->len += 2 + 32;
    }
    return rc;
}

int scitt_receipt_encode(scitt_buf_t *out, scitt_span_t protected_map, uint64_t tree_size, uint64_t leaf_index,
                         const uint8_t (*path)[32], size_t path_len, scitt_span_t sig)
{
    size_t mark = out->len;
    /* One allocation for the whole receipt (heads and the proof's 3 numbers
     * take under 64 bytes); only a hint: each append checks for itself. */
    (void)scitt_buf_reserve(out, 64 + protected_map.len + path_len * 34 + sig.len);
    int rc = scitt_cose__put_head(out, SCITT_CBOR_TAG, 18);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_ARRAY, 4);
    rc = rc != 0 ? rc : scitt_cose__put_bstr(out, protected_map);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_MAP, 1);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_COSE_LABEL_VDP);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_MAP, 1);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, -1);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_ARRAY, 1);
    rc = rc != 0 ? rc : put_proof(out, tree_size, leaf_index, path, path_len);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_SIMPLE, SCITT_CBOR_NULL);
    rc = rc != 0 ? rc : scitt_cose__put_bstr(out, sig);
    if (rc != 0) {
        out->len = mark;
    }
    return rc;
}

/* find_label walks a map and sets `*out` to the raw value item of the
 * integer label `label`; SCITT_ENOTFOUND when absent, SCITT_EDUPKEY when a
 * label repeats (the header maps were checked by the COSE_Sign1 decoder,
 * the maps inside 396 were not). */
static int find_label(scitt_span_t map, int64_t label, scitt_span_t *out)
{
    scitt_cose__cur_t cur;
    scitt_cose__keys_t keys = {0};
    uint64_t n = 0;
    int found = SCITT_ENOTFOUND;
    scitt_cose__cur_init(&cur, map);
    int rc = scitt_cose__read_map(&cur, &n, "header map");
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        scitt_cose_label_t l;
        scitt_span_t value;
        const uint8_t *start = cur.p;
        rc = scitt_cose__read_label(&cur, &l, "header label");
        rc = rc != 0 ? rc : scitt_cose__keys_add(&cur, &keys, scitt_span(start, (size_t)(cur.p - start)));
        rc = rc != 0 ? rc : scitt_cose__read_skip(&cur, &value);
        if (rc == 0 && scitt_cose__label_is(&l, label)) {
            *out = value;
            found = 0;
        }
    }
    return rc != 0 ? rc : found;
}

/* read_proof decodes [tree_size, leaf_index, [path...]] from a bstr content. */
static int read_proof(scitt_span_t bytes, uint64_t *size, uint64_t *index, uint8_t (*path)[32], size_t *path_len,
                      const char **why)
{
    scitt_cose__cur_t cur;
    uint64_t n;
    scitt_cose__cur_init(&cur, bytes);
    int rc = scitt_cose__read_array(&cur, &n, "inclusion proof");
    if (rc == 0 && n != 3) {
        rc = scitt_cose__fail(&cur, SCITT_ETYPE, "an inclusion proof must be [tree_size, leaf_index, path]");
    }
    rc = rc != 0 ? rc : scitt_cose__read_uint(&cur, size, "tree_size");
    rc = rc != 0 ? rc : scitt_cose__read_uint(&cur, index, "leaf_index");
    rc = rc != 0 ? rc : scitt_cose__read_array(&cur, &n, "inclusion path");
    if (rc == 0 && n > SCITT_MERKLE_MAX_PROOF) {
        rc = scitt_cose__fail(&cur, SCITT_EMALFORMED, "the inclusion path has more than 64 hashes");
    }
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        scitt_span_t h;
        rc = scitt_cose__read_bstr(&cur, &h, "path hash");
        if (rc == 0 && h.len != 32) {
            rc = scitt_cose__fail(&cur, SCITT_EMALFORMED, "a path hash is not 32 bytes");
        }
        if (rc == 0) {
            memcpy(path[i], h.base, 32);
        }
    }
    rc = rc != 0 ? rc : scitt_cose__read_end(&cur);
    if (rc != 0) {
        *why = cur.err_desc;
        return rc;
    }
    *path_len = (size_t)n;
    return 0;
}

/* read_proofs collects the bstr proofs of 396 -> -1. */
static int read_proofs(scitt_receipt_t *r, scitt_span_t vdp, const char **why)
{
    scitt_span_t incl;
    int rc = find_label(vdp, -1, &incl);
    if (rc != 0) {
        *why = "the receipt has no inclusion proof (396 -> -1)";
        return rc == SCITT_ENOTFOUND ? SCITT_EMALFORMED : rc;
    }
    scitt_cose__cur_t cur;
    uint64_t n;
    scitt_cose__cur_init(&cur, incl);
    rc = scitt_cose__read_array(&cur, &n, "inclusion proofs");
    if (rc == 0 && (n == 0 || n > scitt_countof(r->proofs))) {
        rc = scitt_cose__fail(&cur, SCITT_EMALFORMED, "a receipt needs 1 to 8 inclusion proofs");
    }
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        rc = scitt_cose__read_bstr(&cur, &r->proofs[i], "inclusion proof");
    }
    if (rc != 0) {
        *why = cur.err_desc;
        return rc;
    }
    r->num_proofs = (size_t)n;
    return read_proof(r->proofs[0], &r->tree_size, &r->leaf_index, r->path, &r->path_len, why);
}

int scitt_receipt_decode(scitt_receipt_t *r, const uint8_t *data, size_t len, const char **out_err_desc)
{
    const char *unused = NULL;
    const char **why = out_err_desc != NULL ? out_err_desc : &unused;
    *why = NULL;
    memset(r, 0, offsetof(scitt_receipt_t, path));
    int rc = scitt_cose_sign1_decode(&r->sign1, data, len, 0, why);
    if (rc != 0) {
        return rc;
    }
    if (!r->sign1.tagged) {
        *why = "a receipt must be a tagged COSE_Sign1";
        return SCITT_EMALFORMED;
    }
    if (!(r->sign1.prot.present & SCITT_COSE_HAS_ALG)) {
        *why = "the receipt has no protected alg";
        return SCITT_EBADALG;
    }
    /* RFC 9052 section 3.1: reject critical parameters we do not process. */
    for (size_t i = 0; i < r->sign1.prot.num_crit; i++) {
        const scitt_cose_label_t *c = &r->sign1.prot.crit[i];
        if (!(scitt_cose__label_is(c, SCITT_COSE_LABEL_ALG) || scitt_cose__label_is(c, SCITT_COSE_LABEL_KID) ||
              scitt_cose__label_is(c, SCITT_COSE_LABEL_CWT_CLAIMS) || scitt_cose__label_is(c, SCITT_COSE_LABEL_VDS))) {
            *why = "the receipt marks a header parameter critical that this verifier does not process";
            return SCITT_ECRIT;
        }
    }
    scitt_span_t item;
    scitt_cose__cur_t cur;
    rc = find_label(r->sign1.protected_bstr, SCITT_COSE_LABEL_VDS, &item);
    if (rc == 0) {
        scitt_cose__cur_init(&cur, item);
        rc = scitt_cose__read_int(&cur, &r->vds, "vds");
    }
    if (rc != 0 || r->vds != SCITT_RECEIPT_VDS_RFC9162) {
        *why = "the receipt's protected vds (395) is not RFC9162_SHA256 (1)";
        return SCITT_EVDS;
    }
    if (r->sign1.prot.present & SCITT_COSE_HAS_CWT && r->sign1.prot.cwt.present & SCITT_CWT_HAS_IAT) {
        r->iat = r->sign1.prot.cwt.iat;
    }
    rc = find_label(r->sign1.unprot.map, SCITT_COSE_LABEL_VDP, &item);
    if (rc != 0) {
        *why = "the receipt has no proofs (396)";
        return rc == SCITT_ENOTFOUND ? SCITT_EMALFORMED : rc;
    }
    return read_proofs(r, item, why);
}

int scitt_receipt_verify(const scitt_receipt_t *r, const uint8_t entry[32], const scitt_key_t *key,
                         uint8_t out_root[32], scitt_buf_t *scratch, const char **out_err_desc)
{
    const char *unused = NULL;
    const char **why = out_err_desc != NULL ? out_err_desc : &unused;
    *why = NULL;
    uint8_t leaf[32], root[32];
    scitt_merkle_leaf_hash(leaf, entry, 32);
    int rc = scitt_merkle_root_from_inclusion(root, r->leaf_index, r->tree_size, leaf, (const uint8_t(*)[32])r->path,
                                              r->path_len);
    /* Further proofs under the same signature must reach the same root. */
    for (size_t i = 1; rc == 0 && i < r->num_proofs; i++) {
        uint64_t size, index;
        size_t path_len;
        uint8_t other[32], path[64][32];
        rc = read_proof(r->proofs[i], &size, &index, path, &path_len, why);
        rc = rc != 0 ? rc
                     : scitt_merkle_root_from_inclusion(other, index, size, leaf, (const uint8_t(*)[32])path, path_len);
        if (rc == 0 && memcmp(other, root, 32) != 0) {
            rc = SCITT_EPROOF;
        }
    }
    if (rc != 0) {
        if (*why == NULL) {
            *why = rc == SCITT_ERANGE ? "the leaf index is not below the tree size"
                                      : "the inclusion proof does not lead to one root";
        }
        return rc;
    }
    if (!r->sign1.detached && !scitt_span_eq(r->sign1.payload, scitt_span(root, 32))) {
        *why = "the attached payload is not the reconstructed root";
        return SCITT_EPROOF;
    }
    rc = scitt_cose_sign1_verify(&r->sign1, key, r->sign1.detached ? scitt_span(root, 32) : scitt_span(NULL, 0),
                                 scratch, why);
    if (rc == 0 && out_root != NULL) {
        memcpy(out_root, root, 32);
    }
    return rc;
}

int scitt_receipt_transparent(scitt_buf_t *out, const scitt_cose_sign1_t *stmt, scitt_span_t receipt)
{
    size_t mark = out->len;
    int rc = scitt_cose__put_head(out, SCITT_CBOR_TAG, 18);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_ARRAY, 4);
    rc = rc != 0 ? rc : scitt_buf_append(out, stmt->protected_item.base, stmt->protected_item.len);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_MAP, 1);
    rc = rc != 0 ? rc : scitt_cose__put_int(out, SCITT_COSE_LABEL_RECEIPTS);
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_ARRAY, 1);
    rc = rc != 0 ? rc : scitt_cose__put_bstr(out, receipt);
    rc = rc != 0 ? rc : scitt_buf_append(out, stmt->payload_item.base, stmt->payload_item.len);
    rc = rc != 0 ? rc : scitt_buf_append(out, stmt->signature_item.base, stmt->signature_item.len);
    if (rc != 0) {
        out->len = mark;
    }
    return rc;
}

int scitt_receipt_split(const scitt_cose_sign1_t *stmt, uint8_t entry[32], const scitt_span_t **out_receipts,
                        size_t *out_num)
{
    scitt_cose_entry(stmt, entry);
    *out_receipts = stmt->unprot.receipts;
    *out_num = (stmt->unprot.present & SCITT_COSE_HAS_RECEIPTS) ? stmt->unprot.num_receipts : 0;
    return 0;
}
