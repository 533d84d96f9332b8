/*
 * statement.h: build signed statements for tests (aborts on failure).
 */
#ifndef SCITT_TESTS_STATEMENT_H
#define SCITT_TESTS_STATEMENT_H

#include "scitt/cose.h"

typedef struct tu_statement {
    int alg;
    scitt_span_t kid;            /* empty: no kid */
    const scitt_span_t *x5chain; /* num_x5chain DER certificates, leaf first */
    size_t num_x5chain;
    const char *iss; /* NULL: no CWT claims at all */
    const char *sub;
    scitt_span_t payload;
    scitt_span_t unprotected;     /* serialised map; empty means {} */
    scitt_span_t protected_extra; /* serialised map whose entries are added to the protected header */
} tu_statement_t;

/* tu_sign_statement appends a tagged COSE_Sign1 signed by `key`. */
void tu_sign_statement(scitt_buf_t *out, const scitt_key_t *key, const tu_statement_t *st);

/* tu_sign_params appends a tagged COSE_Sign1 whose protected header is
 * built from `p` (scitt_cose_statement_protected), signed by `key`, with
 * `payload` attached unless `detached`. */
void tu_sign_params(scitt_buf_t *out, const scitt_key_t *key, const scitt_cose_statement_params_t *p,
                    scitt_span_t payload, bool detached);

/* tu_kid writes the RFC 9679 thumbprint of `key`. */
void tu_kid(uint8_t out[32], const scitt_key_t *key);

#endif
