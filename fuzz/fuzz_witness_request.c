/*
 * fuzz_witness_request.c: arbitrary bytes into the add-checkpoint body
 * parser of `scitt witness` (C2SP tlog-witness). Invariants:
 *  - no crash; failures are SCITT_EMALFORMED or SCITT_ETOOBIG with a reason;
 *  - an accepted body has at most 63 proof hashes and a non-empty note that
 *    is the input's tail, and printing the parsed request back ("old N\n",
 *    the proof in base64, an empty line, the note) gives exactly the input:
 *    a request has one spelling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/witness.h"

#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static scitt_witness_request_t req;
    const char *why = NULL;
    int rc = scitt_witness_parse_request(data, size, &req, &why);
    if (rc != 0) {
        CHECK((rc == SCITT_EMALFORMED || rc == SCITT_ETOOBIG) && why != NULL);
        return 0;
    }
    CHECK(req.proof_len <= SCITT_WITNESS_MAX_PROOF);
    CHECK(req.note.len > 0 && req.note.base + req.note.len == data + size);
    scitt_buf_t again;
    scitt_buf_init(&again, NULL, 0);
    CHECK(scitt_buf_printf(&again, "old %llu\n", (unsigned long long)req.old_size) == 0);
    for (size_t i = 0; i < req.proof_len; i++) {
        char b64[48];
        scitt_base64_encode(b64, req.proof[i], 32, SCITT_B64_STD);
        CHECK(scitt_buf_printf(&again, "%s\n", b64) == 0);
    }
    CHECK(scitt_buf_append(&again, "\n", 1) == 0 && scitt_buf_append(&again, req.note.base, req.note.len) == 0);
    CHECK(scitt_span_eq(scitt_buf_span(&again), scitt_span(data, size)));
    scitt_buf_cleanup(&again);
    return 0;
}
