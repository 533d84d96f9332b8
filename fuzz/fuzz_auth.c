/*
 * fuzz_auth.c: arbitrary bytes as a --tokens file and as an Authorization
 * header value (src/frontend/auth.c, issue 19). The first byte picks the
 * split: the bytes before it are the file, the rest the header. Invariants:
 * a failed parse leaves a printable reason that shows none of the file's
 * bytes past a line number; a parsed set holds 1..4096 hashes; a header
 * judges NONE, OK or INVALID (OK only with a set); and "Bearer " + the
 * header bytes is OK against a file of their hash exactly when they are a
 * b64token, else INVALID.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/auth.h"
#include "scitt/core.h"
#include "scitt/crypto.h"

static void check(bool ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t split = 1 + (size_t)data[0] * (size - 1) / 255;
    const char *file = (const char *)data + 1, *hdr = (const char *)data + split;
    size_t file_len = split - 1, hdr_len = size - split;
    scitt_auth_tokens_t *t = NULL;
    char err[128];
    memset(err, 0x55, sizeof(err));
    int rc = scitt_auth_tokens_parse(&t, file, file_len, err, sizeof(err));
    if (rc != 0) {
        size_t n = strnlen(err, sizeof(err));
        check(n > 0 && n < sizeof(err));
        for (size_t i = 0; i < n; i++) {
            check(err[i] >= 0x20 && err[i] < 0x7f);
        }
    } else {
        check(scitt_auth_tokens_count(t) >= 1 && scitt_auth_tokens_count(t) <= 4096);
    }
    int v = scitt_auth_bearer(t, hdr, hdr_len);
    check(v == SCITT_AUTH_NONE || v == SCITT_AUTH_OK || v == SCITT_AUTH_INVALID);
    check(t != NULL || v != SCITT_AUTH_OK);
    scitt_auth_tokens_free(t);
    /* "Bearer " + the header bytes as a token, against a file holding
     * SHA-256 of those bytes: OK exactly when they are a b64token (RFC
     * 6750: token characters, then only '='), else INVALID. */
    if (hdr_len > 0 && hdr_len < 512) {
        bool b64 = hdr[0] != '=';
        size_t i = 0;
        while (i < hdr_len && (strchr("-._~+/", hdr[i]) != NULL || (hdr[i] >= '0' && hdr[i] <= '9') ||
                               ((hdr[i] | 0x20) >= 'a' && (hdr[i] | 0x20) <= 'z'))) {
            i++;
        }
        while (i < hdr_len && hdr[i] == '=') {
            i++;
        }
        b64 = b64 && i == hdr_len && memchr(hdr, '\0', hdr_len) == NULL;
        uint8_t h[SCITT_SHA256_LEN];
        char line[2 * SCITT_SHA256_LEN + 1], full[512 + 8];
        scitt_sha256(h, hdr, hdr_len);
        scitt_hex_encode(line, h, sizeof(h));
        memcpy(full, "Bearer ", 7);
        memcpy(full + 7, hdr, hdr_len);
        scitt_auth_tokens_t *one = NULL;
        check(scitt_auth_tokens_parse(&one, line, 2 * SCITT_SHA256_LEN, err, sizeof(err)) == 0);
        check(scitt_auth_bearer(one, full, 7 + hdr_len) == (b64 ? SCITT_AUTH_OK : SCITT_AUTH_INVALID));
        scitt_auth_tokens_free(one);
    }
    return 0;
}
