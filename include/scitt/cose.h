/*
 * cose.h: COSE_Sign1 signed statements, COSE keys and concise problem
 * details, without I/O.
 *
 * Decoding is strict and zero-copy: every scitt_span_t that a decoder returns
 * points into the caller's input and lives exactly as long as it. The input
 * must be deterministic-length CBOR with preferred ("minimal") integer and
 * length heads and floats no wider than their value needs; indefinite
 * lengths, duplicate map keys (at any depth), text strings that are not valid
 * UTF-8 and trailing bytes are rejected, so one signed statement has exactly one accepted encoding of its
 * outer structure and therefore exactly one log entry (see
 * scitt_cose_entry()). Map keys need not be sorted: real issuers do not sort
 * them, and the protected header is signed as received anyway.
 *
 * Error reasons: functions that reject input set `*out_err_desc` (when not
 * NULL) to a static English sentence suited to a problem-details `detail`.
 *
 * Thread safety: all functions are reentrant; nothing here keeps state.
 */
#ifndef SCITT_COSE_H
#define SCITT_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/core.h"
#include "scitt/crypto.h"

/* COSE header parameter labels this module understands. */
enum {
    SCITT_COSE_LABEL_ALG = 1,
    SCITT_COSE_LABEL_CRIT = 2,
    SCITT_COSE_LABEL_CONTENT_TYPE = 3,
    SCITT_COSE_LABEL_KID = 4,
    SCITT_COSE_LABEL_CWT_CLAIMS = 15,        /* RFC 9597 */
    SCITT_COSE_LABEL_TYP = 16,               /* RFC 9596 */
    SCITT_COSE_LABEL_X5CHAIN = 33,           /* RFC 9360 */
    SCITT_COSE_LABEL_X5T = 34,               /* RFC 9360 */
    SCITT_COSE_LABEL_PAYLOAD_HASH_ALG = 258, /* RFC 9995 hash envelope */
    SCITT_COSE_LABEL_PREIMAGE_CTYPE = 259,
    SCITT_COSE_LABEL_PAYLOAD_LOCATION = 260,
    SCITT_COSE_LABEL_RECEIPTS = 394, /* RFC 9942 */
    SCITT_COSE_LABEL_VDS = 395,
    SCITT_COSE_LABEL_VDP = 396,
};

/* CWT claim keys (RFC 8392). */
enum { SCITT_CWT_ISS = 1, SCITT_CWT_SUB = 2, SCITT_CWT_IAT = 6 };

/* Bounds on repeated header values; more is SCITT_EHEADER. */
#define SCITT_COSE_MAX_CRIT     8
#define SCITT_COSE_MAX_X5CHAIN  8
#define SCITT_COSE_MAX_RECEIPTS 8
/* SCITT_COSE_MAX_MAP_KEYS bounds the entries of every map in a statement's
 * headers (header maps, CWT claims, maps nested in any value). */
#define SCITT_COSE_MAX_MAP_KEYS 64
/* SCITT_COSE_MAX_CLAIM_TEXT bounds the bytes of iss and sub at
 * registration (scitt_cose_statement_check): every value the log takes
 * must be findable by GET /entries?iss= (or sub=), whose request target is
 * at most 1,023 bytes however a client percent-encodes it (3 bytes per
 * byte at worst: 13 + 3 x 320 + 39 for limit and cursor). docs/SECURITY.md. */
#define SCITT_COSE_MAX_CLAIM_TEXT 320
/* SCITT_COSE_DEFAULT_MAX_LEN is used when a caller passes max_len 0. */
#define SCITT_COSE_DEFAULT_MAX_LEN (1u << 20)

/* scitt_cose_label_t is a header label or any "int / tstr" value (content
 * type, typ): `text` when is_text, else `num`. */
typedef struct scitt_cose_label {
    bool is_text;
    int64_t num;
    scitt_span_t text;
} scitt_cose_label_t;

/* Presence bits of scitt_cose_hdrs_t.present. */
enum {
    SCITT_COSE_HAS_ALG = 1u << 0,
    SCITT_COSE_HAS_CRIT = 1u << 1,
    SCITT_COSE_HAS_CONTENT_TYPE = 1u << 2,
    SCITT_COSE_HAS_KID = 1u << 3,
    SCITT_COSE_HAS_CWT = 1u << 4,
    SCITT_COSE_HAS_TYP = 1u << 5,
    SCITT_COSE_HAS_X5CHAIN = 1u << 6,
    SCITT_COSE_HAS_X5T = 1u << 7,
    SCITT_COSE_HAS_PAYLOAD_HASH_ALG = 1u << 8,
    SCITT_COSE_HAS_PREIMAGE_CTYPE = 1u << 9,
    SCITT_COSE_HAS_PAYLOAD_LOCATION = 1u << 10,
    SCITT_COSE_HAS_RECEIPTS = 1u << 11,
};

/* Presence bits of scitt_cose_cwt_t.present. */
enum { SCITT_CWT_HAS_ISS = 1u << 0, SCITT_CWT_HAS_SUB = 1u << 1, SCITT_CWT_HAS_IAT = 1u << 2 };

/* scitt_cose_cwt_t: the CWT claims (label 15) the service reads. Other
 * claims are validated as CBOR and otherwise ignored. */
typedef struct scitt_cose_cwt {
    uint32_t present;
    scitt_span_t iss; /* text, not NUL-terminated */
    scitt_span_t sub;
    int64_t iat;
} scitt_cose_cwt_t;

/* scitt_cose_hdrs_t: the parameters of one header bucket (protected or
 * unprotected). A field is meaningful only when its SCITT_COSE_HAS_* bit is
 * set. Unknown labels are validated as CBOR and otherwise ignored. */
typedef struct scitt_cose_hdrs {
    uint32_t present;
    int64_t alg;
    size_t num_crit;
    scitt_cose_label_t crit[SCITT_COSE_MAX_CRIT];
    scitt_cose_label_t content_type; /* tstr or uint */
    scitt_span_t kid;
    scitt_cose_cwt_t cwt;
    scitt_cose_label_t typ; /* tstr or uint */
    size_t num_x5chain;     /* DER certificates, leaf first */
    scitt_span_t x5chain[SCITT_COSE_MAX_X5CHAIN];
    int64_t x5t_alg;
    scitt_span_t x5t_hash;
    int64_t payload_hash_alg;                 /* 258 */
    scitt_cose_label_t preimage_content_type; /* 259: tstr or uint */
    scitt_span_t payload_location;            /* 260 */
    /* 394: each receipt as the tagged COSE_Sign1 bytes, whether it arrived
     * bstr-wrapped (RFC 9942) or as a bare tagged item (RFC 9943 CDDL). */
    size_t num_receipts;
    scitt_span_t receipts[SCITT_COSE_MAX_RECEIPTS];
    scitt_span_t map; /* the whole map item */
} scitt_cose_hdrs_t;

/* scitt_cose_sign1_t: a decoded COSE_Sign1. `*_item` spans cover the item as
 * received (head and content); the others cover the content only. */
typedef struct scitt_cose_sign1 {
    scitt_span_t raw; /* the whole input */
    bool tagged;      /* carried tag 18 */
    scitt_span_t protected_item;
    scitt_span_t protected_bstr; /* the serialised map, possibly empty */
    scitt_span_t unprotected_item;
    scitt_span_t payload_item; /* the bstr, or the single byte nil */
    scitt_span_t payload;      /* empty when detached */
    bool detached;             /* payload was nil */
    scitt_span_t signature_item;
    scitt_span_t signature;
    scitt_cose_hdrs_t prot;
    scitt_cose_hdrs_t unprot;
} scitt_cose_sign1_t;

/* scitt_cose_sign1_decode decodes a tagged (18) or untagged COSE_Sign1 from
 * `data` into `out`, including both header buckets. `max_len` caps the input
 * (0 means SCITT_COSE_DEFAULT_MAX_LEN). On success every span in `out`
 * points into `data`.
 *
 * Returns 0, or: SCITT_ETOOBIG (input over max_len), SCITT_ETRUNCATED,
 * SCITT_ETRAILING, SCITT_EINDEF, SCITT_EDUPKEY (within a map, or a label in
 * both buckets), SCITT_EDEPTH, SCITT_ETYPE (a known item of the wrong type),
 * SCITT_EMALFORMED (bad CBOR, a non-minimal head, an integer beyond int64,
 * a tag other than 18), SCITT_EHEADER (a bound above exceeded, an empty crit),
 * SCITT_EBADALG (alg that is not an integer). */
int scitt_cose_sign1_decode(scitt_cose_sign1_t *out, const uint8_t *data, size_t len, size_t max_len,
                            const char **out_err_desc);

/* scitt_cose_sign1_decode_stored decodes a statement the log already holds,
 * to serve it: no size cap, and without the checks added after logs were
 * written (text strings that are not UTF-8, floats wider than their value
 * needs, repeated keys in nested maps), which an older release accepted
 * and committed. Registration always uses scitt_cose_sign1_decode. */
int scitt_cose_sign1_decode_stored(scitt_cose_sign1_t *out, const uint8_t *data, size_t len);

/* scitt_cose_statement_check applies the RFC 9943 signed-statement rules to
 * a decoded statement, without checking the signature:
 *  - crit only in the protected bucket, listing labels this module
 *    understands that are present in the protected bucket (SCITT_ECRIT);
 *  - alg in the protected bucket and in `algs` (SCITT_EBADALG); `algs` NULL
 *    means every algorithm scitt_alg_name() knows;
 *  - an attached payload (SCITT_EPAYLOAD);
 *  - protected CWT claims with text iss and sub (SCITT_EHEADER);
 *  - a protected kid (non-empty), x5chain or x5t (SCITT_ECONFIRM); with
 *    x5chain or x5t, iss must look like a URI (SCITT_EHEADER);
 *  - hash envelope (RFC 9995): 258/259/260 never unprotected, 259/260 only
 *    with 258, and no content type (3) in a hash envelope (SCITT_EHEADER). */
int scitt_cose_statement_check(const scitt_cose_sign1_t *s, const int *algs, size_t num_algs,
                               const char **out_err_desc);

/* scitt_cose_normalise appends the statement with its unprotected header
 * replaced by an empty map: `d2 84 <protected item> a0 <payload item>
 * <signature item>`, each item exactly as received. */
int scitt_cose_normalise(const scitt_cose_sign1_t *s, scitt_buf_t *out);

/* scitt_cose_entry computes the log entry SHA-256(normalised statement)
 * without building the normalised bytes. */
void scitt_cose_entry(const scitt_cose_sign1_t *s, uint8_t out[SCITT_SHA256_LEN]);

/* scitt_cose_sig_structure appends the RFC 9052 Sig_structure
 * `["Signature1", protected, h'', payload]` of `s` to `out`. `payload` is
 * used when `s` is detached and must be empty otherwise (SCITT_EINVAL). */
int scitt_cose_sig_structure(const scitt_cose_sign1_t *s, scitt_span_t payload, scitt_buf_t *out);

/* scitt_cose_sign1_verify checks the signature of `s` with `key` and the
 * protected alg. `scratch` receives the Sig_structure (its contents are
 * replaced). `payload` as for scitt_cose_sig_structure.
 * Returns 0, SCITT_EBADSIG, SCITT_EBADALG (no protected alg, or `key` cannot
 * use it), SCITT_EINVAL, SCITT_ENOMEM or SCITT_ETOOBIG (from `scratch`). */
int scitt_cose_sign1_verify(const scitt_cose_sign1_t *s, const scitt_key_t *key, scitt_span_t payload,
                            scitt_buf_t *scratch, const char **out_err_desc);

/* scitt_cose_sign1_sign appends a tagged COSE_Sign1 to `out`: protected =
 * `protected_map` (serialised CBOR map, may be empty), unprotected =
 * `unprotected_map` (serialised map; empty span means {}), payload attached
 * unless `detached`, signed by `key` with `alg`. The caller is responsible
 * for the maps being well formed and naming `alg`. `scratch` is as for
 * scitt_cose_sign1_verify. */
int scitt_cose_sign1_sign(scitt_buf_t *out, const scitt_key_t *key, int alg, scitt_span_t protected_map,
                          scitt_span_t unprotected_map, scitt_span_t payload, bool detached, scitt_buf_t *scratch);

/* scitt_cose_signer_fn signs the Sig_structure `tbs` with `alg` into `sig`
 * (capacity `cap`) in the COSE encoding and sets `*out_len`; returns 0 or
 * an error code. */
typedef int (*scitt_cose_signer_fn)(void *ud, int alg, scitt_span_t tbs, uint8_t *sig, size_t cap, size_t *out_len);

/* scitt_cose_sign1_sign_with is scitt_cose_sign1_sign with the signature
 * made by `sign` (an external signer: an HSM, a KMS, a command). */
int scitt_cose_sign1_sign_with(scitt_buf_t *out, scitt_cose_signer_fn sign, void *ud, int alg,
                               scitt_span_t protected_map, scitt_span_t unprotected_map, scitt_span_t payload,
                               bool detached, scitt_buf_t *scratch);

/* -- COSE keys (RFC 9052 section 7, RFC 9679) -- */

/* scitt_cose_key_thumbprint computes the RFC 9679 COSE Key Thumbprint
 * (SHA-256) of the public part of `key`. SCITT_ENOMEM, SCITT_ECRYPTO. */
int scitt_cose_key_thumbprint(const scitt_mem_t *mem, uint8_t out[SCITT_SHA256_LEN], const scitt_key_t *key);

/* scitt_cose_keyinfo_t names a public key as published: `kid` (empty: left
 * out) and `alg` (0: left out). */
typedef struct scitt_cose_keyinfo {
    const scitt_key_t *key;
    scitt_span_t kid;
    int alg;
} scitt_cose_keyinfo_t;

/* scitt_cose_key_encode appends one COSE_Key map in deterministic encoding:
 * {1: kty, 2: kid, 3: alg, -1.. public parameters}. */
int scitt_cose_key_encode(scitt_buf_t *out, const scitt_cose_keyinfo_t *info);

/* scitt_cose_keyset_encode appends a COSE_KeySet (array of COSE_Key). */
int scitt_cose_keyset_encode(scitt_buf_t *out, const scitt_cose_keyinfo_t *keys, size_t num_keys);

/* scitt_cose_key_t: a parsed public COSE_Key; spans point into the input. */
typedef struct scitt_cose_key {
    int kty;
    int crv; /* 0 for RSA */
    int alg; /* 0 when absent */
    scitt_span_t kid;
    scitt_span_t x_or_n;
    scitt_span_t y_or_e; /* empty for OKP */
} scitt_cose_key_t;

/* scitt_cose_key_parse reads one COSE_Key map (strict as above). Private
 * parameters, a compressed EC point, an unknown kty or missing parameters
 * are SCITT_EBADKEY; CBOR errors as for scitt_cose_sign1_decode. */
int scitt_cose_key_parse(scitt_cose_key_t *out, const uint8_t *data, size_t len, const char **out_err_desc);

/* scitt_cose_keyset_parse reads a COSE_KeySet into `out` (capacity
 * `max_keys`; more keys is SCITT_ETOOBIG) and sets `*out_num`. */
int scitt_cose_keyset_parse(scitt_cose_key_t *out, size_t max_keys, size_t *out_num, const uint8_t *data, size_t len,
                            const char **out_err_desc);

/* scitt_cose_key_load makes a scitt_key_t from a parsed key (newly
 * allocated in `*out`). SCITT_EBADKEY when the crypto library refuses it. */
int scitt_cose_key_load(scitt_key_t **out, const scitt_cose_key_t *key);

/* -- The published configuration (src/cose/config.c) -- */

/* scitt_cose_config_t: GET /.well-known/transparency-configuration, a CBOR
 * map {"issuer": tstr, "max_statement_bytes": uint,
 * "max_transparent_statement_bytes": uint}: the origin, the largest POST
 * /entries body, and the largest GET /entries/{id}/statement body. */
typedef struct scitt_cose_config {
    scitt_span_t issuer;
    uint64_t max_statement_bytes;
    uint64_t max_transparent_statement_bytes;
} scitt_cose_config_t;

int scitt_cose_config_encode(scitt_buf_t *out, const scitt_cose_config_t *c);

/* scitt_cose_config_decode reads the map (unknown keys are skipped, absent
 * ones are 0; `issuer` points into `data`). CBOR errors as for
 * scitt_cose_sign1_decode. */
int scitt_cose_config_decode(scitt_cose_config_t *out, const uint8_t *data, size_t len, const char **out_err_desc);

/* -- Concise problem details (RFC 9290) -- */

/* scitt_cose_problem_for maps an error code to the HTTP status and SCRAPI
 * problem title to answer it with: 400 "Bad Signature Algorithm",
 * "Confirmation Missing", "Payload Missing", "Rejected" (policy, signature,
 * unknown issuer key or certificate) or "Malformed request"; 413 "Content
 * Too Large"; anything else 500 "Internal Server Error". */
void scitt_cose_problem_for(int rc, int *out_status, const char **out_title);

/* scitt_cose_problem_encode appends {-1: title, -2: detail} and, when
 * `response_code` is not 0, -4: response_code, in deterministic order. */
int scitt_cose_problem_encode(scitt_buf_t *out, const char *title, const char *detail, int response_code);

/* scitt_cose_problem_decode reads concise problem details: `*out_title`
 * (-1) and `*out_detail` (-2), spans into `data`, empty when absent; other
 * keys are skipped. 0 or a CBOR decode error (then both are empty). */
int scitt_cose_problem_decode(scitt_span_t *out_title, scitt_span_t *out_detail, const uint8_t *data, size_t len);

/* -- The audit listing (GET /entries?..., issue 10; see src/cose/audit.c) -- */

/* scitt_cose_audit_entry_t is one registered entry as listed: EntryID,
 * leaf index, registration time (unix seconds) and the statement's audit
 * fields (see scitt_cose_fields_t). Empty spans are absent fields. */
typedef struct scitt_cose_audit_entry {
    uint8_t id[SCITT_SHA256_LEN];
    uint64_t index;
    int64_t time;
    scitt_span_t iss;
    scitt_span_t sub;
    scitt_span_t key_id;
    bool has_content_type;
    scitt_cose_label_t content_type; /* tstr or uint (a negative number is omitted) */
} scitt_cose_audit_entry_t;

/* scitt_cose_audit_encode appends {"next": `next` (omitted when NULL),
 * "entries": [...]} in deterministic CBOR; scitt_cose_audit_json appends the
 * same as one line of JSON (id in lowercase hex, kid in unpadded base64url
 * as scitt_kid_append spells it), and
 * scitt_cose_audit_entry_json one entry's JSON object (no newline). In both,
 * each byte of iss, sub or a text content type that is not well-formed
 * UTF-8 is written as U+FFFD. Each returns 0, SCITT_ENOMEM or SCITT_ETOOBIG, and on failure leaves `out` at
 * its previous length. */
int scitt_cose_audit_encode(scitt_buf_t *out, const scitt_cose_audit_entry_t *entries, size_t num, const char *next);
int scitt_cose_audit_json(scitt_buf_t *out, const scitt_cose_audit_entry_t *entries, size_t num, const char *next);
int scitt_cose_audit_entry_json(scitt_buf_t *out, const scitt_cose_audit_entry_t *e);

/* scitt_cose_audit_decode reads a CBOR audit listing into `out` (room for
 * `max` entries; more is SCITT_ETOOBIG), `*out_num` entries whose spans
 * point into `data`, and `*out_next` (empty when absent). Keys may come in
 * any order; unknown keys are skipped; each entry needs id, index and time.
 * Returns 0 or a decode error with a static reason in `*out_err_desc`. */
int scitt_cose_audit_decode(scitt_cose_audit_entry_t *out, size_t max, size_t *out_num, scitt_span_t *out_next,
                            const uint8_t *data, size_t len, const char **out_err_desc);

/* ------------------------------------------------------------------------ */
/* For tools (the scitt command line): building a statement's protected     */
/* header and printing CBOR. Nothing in the service calls these.            */

/* scitt_cose_statement_params_t describes a new signed statement's protected
 * header. Strings are borrowed, NUL-terminated. */
typedef struct scitt_cose_statement_params {
    int alg;
    scitt_span_t kid; /* empty: no kid */
    const char *iss;  /* CWT claims (15); NULL: left out */
    const char *sub;
    int64_t iat;                 /* 0: left out */
    const char *content_type;    /* 3, or 259 in a hash envelope; NULL: none */
    const scitt_span_t *x5chain; /* DER certificates, leaf first */
    size_t num_x5chain;
    int payload_hash_alg;         /* non-zero: a hash envelope (258, RFC 9995) */
    const char *payload_location; /* 260, hash envelopes only; NULL: none */
} scitt_cose_statement_params_t;

/* scitt_cose_statement_protected appends the serialised protected header map
 * described by `p`, in preferred serialisation. A hash envelope never gets
 * label 3: its content type is written under 259. On failure (SCITT_ENOMEM,
 * SCITT_ETOOBIG) `out` keeps its previous length. */
int scitt_cose_statement_protected(scitt_buf_t *out, const scitt_cose_statement_params_t *p);

/* The audit fields of a statement (issue 10), all from the protected
 * header: CWT iss and sub; key_id, the signing key's identity (the kid, or
 * when there is none the SHA-256 thumbprint of the x5chain leaf
 * certificate); artifact, the digest the statement is about (the payload of
 * a hash envelope, RFC 9995, otherwise SHA-256 of the payload; empty for a
 * detached payload); the content type (3, or 259 in a hash envelope). The
 * spans borrow from the statement or from the struct's own buffers, so the
 * struct must not be copied while they are in use. Empty span: absent. */
typedef struct scitt_cose_fields {
    scitt_span_t iss;
    scitt_span_t sub;
    scitt_span_t key_id;
    scitt_span_t artifact;
    bool has_content_type;
    scitt_cose_label_t content_type; /* tstr or uint */
    uint8_t key_id_buf[SCITT_SHA256_LEN];
    uint8_t artifact_buf[SCITT_SHA256_LEN];
} scitt_cose_fields_t;

void scitt_cose_fields(const scitt_cose_sign1_t *s, scitt_cose_fields_t *out);

/* scitt_cose_diag appends an indented CBOR diagnostic notation (RFC 8949
 * section 8) rendering of the one CBOR item in `data`, ending in a newline,
 * with COSE and SCITT names as comments: header labels (1 alg, 3 content
 * type, 4 kid, 15 CWT claims and its claims, 33 x5chain, 34 x5t, 258-260,
 * 394 receipts, 395 vds, 396 proofs), algorithm and vds values, COSE_Key
 * parameters, and the four parts of a COSE_Sign1. CBOR that COSE nests in
 * byte strings (protected headers, receipts, inclusion proofs) is printed
 * as << ... >>. Byte strings over 64 bytes are shortened, with their length.
 * The input is read as strictly as the decoders read it. Returns 0, or a
 * cursor error (SCITT_ETRUNCATED, SCITT_EMALFORMED, SCITT_EINDEF,
 * SCITT_EDEPTH, SCITT_ETRAILING, SCITT_ENOMEM) with `*out_err_desc` set,
 * and then `out` keeps its previous length. */
int scitt_cose_diag(scitt_buf_t *out, const uint8_t *data, size_t len, const char **out_err_desc);

#endif /* SCITT_COSE_H */
