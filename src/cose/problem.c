/*
 * problem.c: SCRAPI error answers as RFC 9290 concise problem details.
 *
 * The mapping from error code to (status, title) lives here, next to the
 * checks that produce the codes, so the front end never inspects reasons:
 * control flow follows codes, and the human-readable `detail` comes from the
 * `out_err_desc` of whichever check failed.
 */
#include "internal.h"

void scitt_cose_problem_for(int rc, int *out_status, const char **out_title)
{
    int status = 400;
    const char *title;
    switch (rc) {
    case SCITT_EBADALG:
        title = "Bad Signature Algorithm";
        break;
    case SCITT_ECONFIRM:
        title = "Confirmation Missing";
        break;
    case SCITT_EPAYLOAD:
        title = "Payload Missing";
        break;
    case SCITT_EPOLICY:
    case SCITT_EBADSIG:
    case SCITT_ENOKEY:
    case SCITT_ECERT:
        /* Well-formed, but the service will not register it. */
        title = "Rejected";
        break;
    case SCITT_EMALFORMED:
    case SCITT_ETRUNCATED:
    case SCITT_ETRAILING:
    case SCITT_EDUPKEY:
    case SCITT_EDEPTH:
    case SCITT_EINDEF:
    case SCITT_ETYPE:
    case SCITT_EHEADER:
    case SCITT_ECRIT:
    case SCITT_EBADKEY:
        title = "Malformed request";
        break;
    case SCITT_ETOOBIG:
        status = 413;
        title = "Content Too Large";
        break;
    default:
        status = 500;
        title = "Internal Server Error";
        break;
    }
    *out_status = status;
    *out_title = title;
}

int scitt_cose_problem_encode(scitt_buf_t *out, const char *title, const char *detail, int response_code)
{
    /* Keys -1, -2, -4 encode as 0x20, 0x21, 0x23: already deterministic order. */
    size_t old = out->len;
    int rc = scitt_cose__put_head(out, SCITT_CBOR_MAP, response_code != 0 ? 3 : 2);
    if (rc == 0) {
        rc = scitt_cose__put_int(out, -1);
    }
    if (rc == 0) {
        rc = scitt_cose__put_tstr(out, scitt_span_str(title));
    }
    if (rc == 0) {
        rc = scitt_cose__put_int(out, -2);
    }
    if (rc == 0) {
        rc = scitt_cose__put_tstr(out, scitt_span_str(detail));
    }
    if (rc == 0 && response_code != 0) {
        rc = scitt_cose__put_int(out, -4);
        if (rc == 0) {
            rc = scitt_cose__put_int(out, response_code);
        }
    }
    if (rc != 0) {
        out->len = old;
    }
    return rc;
}

int scitt_cose_problem_decode(scitt_span_t *out_title, scitt_span_t *out_detail, const uint8_t *data, size_t len)
{
    scitt_cose__cur_t cur;
    scitt_cose__keys_t keys = {0};
    uint64_t n;
    *out_title = *out_detail = scitt_span(NULL, 0);
    scitt_cose__cur_init(&cur, scitt_span(data, len));
    int rc = scitt_cose__read_map(&cur, &n, "problem details must be a map");
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        scitt_cose_label_t k;
        const uint8_t *start = cur.p;
        rc = scitt_cose__read_label(&cur, &k, "problem details keys are integers or text");
        rc = rc != 0 ? rc : scitt_cose__keys_add(&cur, &keys, scitt_span(start, (size_t)(cur.p - start)));
        if (rc == 0 && scitt_cose__label_is(&k, -1)) {
            rc = scitt_cose__read_tstr(&cur, out_title, "title must be text");
        } else if (rc == 0 && scitt_cose__label_is(&k, -2)) {
            rc = scitt_cose__read_tstr(&cur, out_detail, "detail must be text");
        } else if (rc == 0) {
            rc = scitt_cose__read_skip(&cur, NULL);
        }
    }
    rc = rc != 0 ? rc : scitt_cose__read_end(&cur);
    if (rc != 0) {
        *out_title = *out_detail = scitt_span(NULL, 0);
    }
    return rc;
}
