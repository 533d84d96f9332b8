/* statement.c: see statement.h. Uses src/cose's encoder (internal.h). */
#include "statement.h"

#include <stdlib.h>

#include "internal.h"

#define OK(expr)                                                                                                       \
    do {                                                                                                               \
        if ((expr) != 0) {                                                                                             \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

void tu_kid(uint8_t out[32], const scitt_key_t *key)
{
    OK(scitt_cose_key_thumbprint(NULL, out, key));
}

void tu_sign_statement(scitt_buf_t *out, const scitt_key_t *key, const tu_statement_t *st)
{
    scitt_buf_t prot, scratch;
    scitt_buf_init(&prot, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    uint64_t extra = 0;
    scitt_cose__cur_t cur;
    scitt_cose__cur_init(&cur, st->protected_extra);
    if (st->protected_extra.len > 0) {
        OK(scitt_cose__read_map(&cur, &extra, "protected_extra"));
    }
    uint64_t n = 1 + (st->kid.len > 0) + (st->num_x5chain > 0) + (st->iss != NULL) + extra;
    OK(scitt_cose__put_head(&prot, SCITT_CBOR_MAP, n));
    OK(scitt_cose__put_int(&prot, SCITT_COSE_LABEL_ALG));
    OK(scitt_cose__put_int(&prot, st->alg));
    if (st->kid.len > 0) {
        OK(scitt_cose__put_int(&prot, SCITT_COSE_LABEL_KID));
        OK(scitt_cose__put_bstr(&prot, st->kid));
    }
    if (st->iss != NULL) {
        OK(scitt_cose__put_int(&prot, SCITT_COSE_LABEL_CWT_CLAIMS));
        OK(scitt_cose__put_head(&prot, SCITT_CBOR_MAP, st->sub != NULL ? 2 : 1));
        OK(scitt_cose__put_int(&prot, SCITT_CWT_ISS));
        OK(scitt_cose__put_tstr(&prot, scitt_span_str(st->iss)));
        if (st->sub != NULL) {
            OK(scitt_cose__put_int(&prot, SCITT_CWT_SUB));
            OK(scitt_cose__put_tstr(&prot, scitt_span_str(st->sub)));
        }
    }
    if (st->num_x5chain > 0) {
        OK(scitt_cose__put_int(&prot, SCITT_COSE_LABEL_X5CHAIN));
        OK(scitt_cose__put_head(&prot, SCITT_CBOR_ARRAY, st->num_x5chain));
        for (size_t i = 0; i < st->num_x5chain; i++) {
            OK(scitt_cose__put_bstr(&prot, st->x5chain[i]));
        }
    }
    OK(scitt_buf_append(&prot, cur.p, scitt_cose__left(&cur))); /* the extra entries, as given */
    OK(scitt_cose_sign1_sign(out, key, st->alg, scitt_buf_span(&prot), st->unprotected, st->payload, false, &scratch));
    scitt_buf_cleanup(&prot);
    scitt_buf_cleanup(&scratch);
}

void tu_sign_params(scitt_buf_t *out, const scitt_key_t *key, const scitt_cose_statement_params_t *p,
                    scitt_span_t payload, bool detached)
{
    scitt_buf_t prot, scratch;
    scitt_buf_init(&prot, NULL, 0);
    scitt_buf_init(&scratch, NULL, 0);
    OK(scitt_cose_statement_protected(&prot, p));
    OK(scitt_cose_sign1_sign(out, key, p->alg, scitt_buf_span(&prot), scitt_span(NULL, 0), payload, detached,
                             &scratch));
    scitt_buf_cleanup(&prot);
    scitt_buf_cleanup(&scratch);
}
