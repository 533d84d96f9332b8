/*
 * fuzz_client_url.c: arbitrary text into the client's URL and Retry-After
 * parsers. Invariants: an accepted URL has NUL-terminated fields that fit,
 * a host of the allowed characters, a port, and a prefix without a
 * trailing slash; re-parsing "scheme://authority prefix" gives the same
 * result. An accepted Retry-After is at most one day.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scitt_client_url_t u, again;
    if (scitt_client_url_parse(&u, (const char *)data, size) == 0) {
        size_t plen = strlen(u.prefix);
        if (strlen(u.host) == 0 || u.port == 0 || (plen > 0 && (u.prefix[0] != '/' || u.prefix[plen - 1] == '/'))) {
            abort();
        }
        char url[2048];
        int n = snprintf(url, sizeof(url), "%s://%s%s", u.tls ? "https" : "http", u.authority, u.prefix);
        if (n < 0 || (size_t)n >= sizeof(url) || scitt_client_url_parse(&again, url, (size_t)n) != 0 ||
            memcmp(&u, &again, sizeof(u)) != 0) {
            abort();
        }
    }
    uint32_t secs;
    if (scitt_client_retry_after((const char *)data, size, &secs) == 0 && secs > 86400) {
        abort();
    }
    return 0;
}
