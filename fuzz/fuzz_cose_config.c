/*
 * fuzz_cose_config.c: arbitrary bytes -> scitt_cose_config_decode (what a
 * mirror reads from a log's /.well-known/transparency-configuration).
 * Invariants: the issuer lies inside the input, and a decoded configuration
 * re-encodes to one that decodes to the same values.
 */
#include <stdlib.h>

#include "scitt/cose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scitt_cose_config_t c, again;
    if (scitt_cose_config_decode(&c, data, size, NULL) != 0) {
        return 0;
    }
    if (c.issuer.len > 0 && (c.issuer.base < data || c.issuer.base + c.issuer.len > data + size)) {
        abort();
    }
    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    if (scitt_cose_config_encode(&buf, &c) != 0 || scitt_cose_config_decode(&again, buf.base, buf.len, NULL) != 0 ||
        !scitt_span_eq(again.issuer, c.issuer) || again.max_statement_bytes != c.max_statement_bytes ||
        again.max_transparent_statement_bytes != c.max_transparent_statement_bytes) {
        abort();
    }
    scitt_buf_cleanup(&buf);
    return 0;
}
