/*
 * url.c: the base URLs the CLI accepts and Retry-After values. Both parse
 * untrusted text (a command line, a server header) and are fuzzed
 * (fuzz/fuzz_client_url.c): they accept a small, strict grammar and copy
 * only what fits the fixed fields.
 */
#include <stdio.h>

#include "scitt/client.h"

static bool host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
}

static bool v6_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.';
}

static bool prefix_char(char ch)
{
    return ch > ' ' && ch < 0x7f && ch != '?' && ch != '#';
}

int scitt_client_url_parse(scitt_client_url_t *out, const char *url, size_t len)
{
    memset(out, 0, sizeof(*out));
    const char *p = url, *end = url + len;
    if (len >= 7 && memcmp(p, "http://", 7) == 0) {
        p += 7;
        out->port = 80;
    } else if (len >= 8 && memcmp(p, "https://", 8) == 0) {
        p += 8;
        out->tls = true;
        out->port = 443;
    } else {
        return SCITT_EMALFORMED;
    }

    /* Host: a bracketed IPv6 literal or a name / IPv4 address. */
    const char *host = p, *host_end;
    if (p < end && *p == '[') {
        host = ++p;
        while (p < end && v6_char(*p)) {
            p++;
        }
        if (p == end || *p != ']' || p == host) {
            return SCITT_EMALFORMED;
        }
        host_end = p++;
    } else {
        while (p < end && host_char(*p)) {
            p++;
        }
        host_end = p;
    }
    size_t host_len = (size_t)(host_end - host);
    if (host_len == 0 || host_len > SCITT_CLIENT_HOST_MAX) {
        return SCITT_EMALFORMED;
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';

    /* Optional port. */
    const char *auth_end = p;
    if (p < end && *p == ':') {
        const char *digits = ++p;
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
        uint64_t port;
        if (scitt_parse_u64(digits, (size_t)(p - digits), &port) != 0 || port == 0 || port > 65535) {
            return SCITT_EMALFORMED;
        }
        out->port = (uint16_t)port;
        auth_end = p;
    }
    /* The authority as written (bracketed host and port included). */
    const char *auth = url + (out->tls ? 8 : 7);
    size_t auth_len = (size_t)(auth_end - auth);
    if (auth_len >= sizeof(out->authority)) {
        return SCITT_EMALFORMED;
    }
    memcpy(out->authority, auth, auth_len);
    out->authority[auth_len] = '\0';

    /* Optional path prefix, without its trailing slashes. */
    if (p < end && *p != '/') {
        return SCITT_EMALFORMED;
    }
    const char *prefix = p;
    while (p < end && prefix_char(*p)) {
        p++;
    }
    if (p != end) {
        return SCITT_EMALFORMED;
    }
    size_t prefix_len = (size_t)(end - prefix);
    while (prefix_len > 0 && prefix[prefix_len - 1] == '/') {
        prefix_len--;
    }
    if (prefix_len > SCITT_CLIENT_PREFIX_MAX) {
        return SCITT_EMALFORMED;
    }
    memcpy(out->prefix, prefix, prefix_len);
    out->prefix[prefix_len] = '\0';
    return 0;
}

int scitt_client_retry_after(const char *value, size_t len, uint32_t *out_seconds)
{
    /* Delta-seconds is 1*DIGIT (RFC 9110 10.2.3); leading zeros are legal
     * here, unlike in scitt_parse_u64, so skip them first. */
    size_t i = 0;
    while (i + 1 < len && value[i] == '0') {
        i++;
    }
    uint64_t secs;
    if (len == 0 || len - i > 19 || scitt_parse_u64(value + i, len - i, &secs) != 0) {
        return SCITT_EMALFORMED;
    }
    *out_seconds = secs > 86400 ? 86400 : (uint32_t)secs;
    return 0;
}
