/*
 * config.c: the service's published configuration, a CBOR map served at
 * GET /.well-known/transparency-configuration (SPEC-NOTES section 1: the
 * resource of SCRAPI drafts -04..-05, which held {"issuer", "jwks_uri"}).
 * Ours holds the limits a reader needs to copy the log: the largest
 * statement registration accepts and the largest transparent statement GET
 * /entries/{id}/statement can serve (that statement plus its receipt).
 */
#include "internal.h"
#include "scitt/receipt.h"

#define KEY_ISSUER     "issuer"
#define KEY_MAX        "max_statement_bytes"
#define KEY_MAX_SERVED "max_transparent_statement_bytes"

size_t scitt_receipt_max_len(size_t origin_len)
{
    /* Of a receipt of ours: protected header (alg, a kid of up to 64 bytes,
     * CWT claims with the origin, "scitt-receipt" and iat, vds) under 160
     * bytes plus the origin; a proof of three numbers and up to 64 hashes
     * (64 x 34 bytes) under 2,200; a signature of up to 132 bytes (ECDSA
     * P-521) and the heads. test_limits.c encodes the largest one. */
    return 4096 + origin_len;
}

size_t scitt_receipt_transparent_max_len(size_t statement_len, size_t origin_len)
{
    /* The transparent statement is the submitted one with its unprotected
     * map (at least 1 byte) replaced by {394: [bstr receipt]}, and tag 18
     * added if it was missing: at most 16 bytes of heads besides the receipt. */
    return statement_len + scitt_receipt_max_len(origin_len) + 16;
}

int scitt_cose_config_encode(scitt_buf_t *out, const scitt_cose_config_t *c)
{
    size_t mark = out->len;
    int rc = scitt_cose__put_head(out, SCITT_CBOR_MAP, 3);
    rc = rc != 0 ? rc : scitt_cose__put_tstr(out, scitt_span_str(KEY_ISSUER));
    rc = rc != 0 ? rc : scitt_cose__put_tstr(out, c->issuer);
    rc = rc != 0 ? rc : scitt_cose__put_tstr(out, scitt_span_str(KEY_MAX));
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_UINT, c->max_statement_bytes);
    rc = rc != 0 ? rc : scitt_cose__put_tstr(out, scitt_span_str(KEY_MAX_SERVED));
    rc = rc != 0 ? rc : scitt_cose__put_head(out, SCITT_CBOR_UINT, c->max_transparent_statement_bytes);
    if (rc != 0) {
        out->len = mark;
    }
    return rc;
}

static bool text_is(const scitt_cose_label_t *l, const char *s)
{
    return l->is_text && scitt_span_eq(l->text, scitt_span_str(s));
}

int scitt_cose_config_decode(scitt_cose_config_t *out, const uint8_t *data, size_t len, const char **out_err_desc)
{
    scitt_cose__cur_t cur;
    scitt_cose__keys_t keys = {0};
    uint64_t n;
    memset(out, 0, sizeof(*out));
    scitt_cose__cur_init(&cur, scitt_span(data, len));
    int rc = scitt_cose__read_map(&cur, &n, "the configuration must be a map");
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        scitt_cose_label_t k;
        const uint8_t *start = cur.p;
        rc = scitt_cose__read_label(&cur, &k, "configuration keys are integers or text");
        rc = rc != 0 ? rc : scitt_cose__keys_add(&cur, &keys, scitt_span(start, (size_t)(cur.p - start)));
        if (rc == 0 && text_is(&k, KEY_ISSUER)) {
            rc = scitt_cose__read_tstr(&cur, &out->issuer, "issuer must be text");
        } else if (rc == 0 && text_is(&k, KEY_MAX)) {
            rc = scitt_cose__read_uint(&cur, &out->max_statement_bytes, "max_statement_bytes must be unsigned");
        } else if (rc == 0 && text_is(&k, KEY_MAX_SERVED)) {
            rc = scitt_cose__read_uint(&cur, &out->max_transparent_statement_bytes,
                                       "max_transparent_statement_bytes must be unsigned");
        } else if (rc == 0) {
            rc = scitt_cose__read_skip(&cur, NULL);
        }
    }
    rc = rc != 0 ? rc : scitt_cose__read_end(&cur);
    if (rc != 0) {
        if (out_err_desc != NULL) {
            *out_err_desc = cur.err_desc;
        }
        memset(out, 0, sizeof(*out));
    }
    return rc;
}
