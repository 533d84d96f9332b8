/*
 * fuzz_client_response.c: arbitrary bytes as what a server sends to the
 * client engine (a detached client: no socket), after two requests were
 * submitted. Invariants: every callback runs at most once, with a status in
 * 100..999 when it reports success, and a body within its max_body; freeing
 * the client completes every request exactly once.
 */
#include <stdlib.h>

#include "scitt/client.h"

static int calls[2];

static void on_done(scitt_client_req_t *req, int rc)
{
    int i = (int)(intptr_t)req->data;
    if (++calls[i] > 1 || (rc == 0 && (req->status < 100 || req->status > 999)) || req->resp.len > 4096) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scitt_client_url_t url;
    scitt_client_t *c;
    if (scitt_client_url_parse(&url, "http://fuzz.test", 16) != 0 || scitt_client_new_detached(&c, &url, NULL) != 0) {
        abort();
    }
    scitt_client_req_t reqs[2];
    static const uint8_t body[] = {0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40};
    calls[0] = calls[1] = 0;
    for (int i = 0; i < 2; i++) {
        scitt_client_req_init(&reqs[i], i == 0 ? "GET" : "POST", i == 0 ? "/checkpoint" : "/entries");
        reqs[i].cb = on_done;
        reqs[i].data = (void *)(intptr_t)i;
        reqs[i].max_body = 4096;
        if (i == 1) {
            reqs[i].body = scitt_span(body, sizeof(body));
        }
        if (scitt_client_submit(c, &reqs[i]) != 0) {
            abort();
        }
    }
    scitt_buf_t out;
    scitt_buf_init(&out, NULL, 0);
    scitt_client_take_output(c, &out);
    /* Feed in two pieces, so frames split across reads are exercised. */
    size_t half = size / 2;
    if (scitt_client_feed(c, data, half) == 0) {
        scitt_client_feed(c, data + half, size - half);
    }
    scitt_client_take_output(c, &out);
    scitt_client_free(c);
    if (calls[0] != 1 || calls[1] != 1) {
        abort();
    }
    for (int i = 0; i < 2; i++) {
        scitt_client_req_cleanup(&reqs[i]);
    }
    scitt_buf_cleanup(&out);
    return 0;
}
