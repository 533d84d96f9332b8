/*
 * fuzz_client_diag.c: arbitrary bytes into `scitt inspect`'s printer
 * (scitt_cose_diag). Invariants: on success the text is non-empty, ends in
 * a newline and holds no NUL or other control byte but newline; on failure
 * the output buffer keeps its previous length.
 */
#include <stdlib.h>

#include "scitt/cose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    scitt_buf_append_str(&out, "x");
    const char *why = NULL;
    int rc = scitt_cose_diag(&out, data, size, &why);
    if (rc != 0) {
        if (out.len != 1 || why == NULL) {
            abort();
        }
    } else {
        if (out.len < 3 || out.base[out.len - 1] != '\n') {
            abort();
        }
        for (size_t i = 1; i < out.len; i++) {
            if (out.base[i] < 0x20 && out.base[i] != '\n') {
                abort();
            }
        }
    }
    scitt_buf_cleanup(&out);
    return 0;
}
