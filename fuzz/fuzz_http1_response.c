/*
 * fuzz_http1_response.c: arbitrary bytes as an HTTP/1.1 response to the
 * parser of plain-HTTP GETs (src/client/http1.c), once with the connection
 * still open and once ended after them. Invariants: a parsed response has
 * a status in 100..599, took at most the bytes given, and its body stays
 * within the body buffer's maximum.
 */
#include <stdlib.h>

#include "scitt/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int eof = 0; eof < 2; eof++) {
        scitt_buf_t body;
        scitt_http1_response_t resp;
        scitt_buf_init(&body, NULL, 4096);
        int rc = scitt_http1_response_parse(data, size, eof == 1, &resp, &body);
        if (rc == 0 && (resp.status < 100 || resp.status > 599 || resp.len > size || body.len > 4096)) {
            abort();
        }
        if (rc == SCITT_EAGAIN && eof == 1) {
            abort(); /* nothing more will come: a verdict is due */
        }
        scitt_buf_cleanup(&body);
    }
    return 0;
}
