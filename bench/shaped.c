/*
 * shaped.c: signed-statement shaped benchmark entries (shaped.h).
 */
#include "shaped.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/cose.h"

#define SIG_LEN 64

static size_t put_bstr_head(uint8_t *p, size_t len)
{
    if (len < 24) {
        p[0] = (uint8_t)(0x40 + len);
        return 1;
    }
    if (len < 256) {
        p[0] = 0x58;
        p[1] = (uint8_t)len;
        return 2;
    }
    p[0] = 0x59;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    return 3;
}

static size_t find(const uint8_t *hay, size_t len, const char *needle)
{
    const uint8_t *p = memmem(hay, len, needle, strlen(needle));
    if (p == NULL) {
        fprintf(stderr, "shaped: template: %s not found\n", needle);
        exit(1);
    }
    return (size_t)(p - hay);
}

void shaped_init(shaped_t *t, size_t len, unsigned issuers)
{
    scitt_buf_t prot;
    scitt_buf_init(&prot, NULL, 0);
    scitt_cose_statement_params_t p = {.alg = SCITT_ALG_ES256,
                                       .kid = scitt_span("KIDKIDKIDKIDKIDK", 16),
                                       .iss = "https://issuer-II.example",
                                       .sub = "pkg/SSSSSSSSSSSS"};
    if (len < 160 || len > 65536 || issuers == 0 || issuers > 100 || scitt_cose_statement_protected(&prot, &p) != 0 ||
        scitt_random(t->tag, sizeof(t->tag)) != 0) {
        fprintf(stderr, "shaped: cannot build a %zu-byte template\n", len);
        exit(1);
    }
    t->stmt = scitt_xmalloc(len);
    t->issuers = issuers;
    uint8_t *q = t->stmt;
    *q++ = 0xd2; /* tag 18 */
    *q++ = 0x84;
    q += put_bstr_head(q, prot.len);
    memcpy(q, prot.base, prot.len);
    t->iss_off = (size_t)(q - t->stmt) + find(prot.base, prot.len, "II");
    t->kid_off = (size_t)(q - t->stmt) + find(prot.base, prot.len, "KIDK");
    t->sub_off = (size_t)(q - t->stmt) + find(prot.base, prot.len, "SSSS");
    q += prot.len;
    *q++ = 0xa0;
    size_t used = (size_t)(q - t->stmt) + 3 + 2 + SIG_LEN;
    t->payload_len = len - used;
    q += put_bstr_head(q, t->payload_len);
    t->payload_off = (size_t)(q - t->stmt);
    memset(q, 0x5a, t->payload_len);
    memcpy(q, t->tag, sizeof(t->tag));
    q += t->payload_len;
    q += put_bstr_head(q, SIG_LEN);
    memset(q, 0x33, SIG_LEN);
    q += SIG_LEN;
    t->len = (size_t)(q - t->stmt);
    scitt_buf_cleanup(&prot);
    scitt_cose_sign1_t d;
    scitt_cose_fields_t f;
    if (scitt_cose_sign1_decode(&d, t->stmt, t->len, 0, NULL) != 0 || (scitt_cose_fields(&d, &f), f.sub.len != 16)) {
        fprintf(stderr, "shaped: the statement template does not decode\n");
        exit(1);
    }
}

void shaped_free(shaped_t *t)
{
    free(t->stmt);
    t->stmt = NULL;
}

void shaped_make(shaped_t *t, uint64_t n)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%02u", (unsigned)(n % t->issuers));
    memcpy(t->stmt + t->iss_off, buf, 2);
    snprintf(buf, sizeof(buf), "kid-%012u", (unsigned)(n % 64));
    memcpy(t->stmt + t->kid_off, buf, 16);
    snprintf(buf, sizeof(buf), "%012llu", (unsigned long long)n);
    memcpy(t->stmt + t->sub_off, buf, 12);
    memcpy(t->stmt + t->payload_off + sizeof(t->tag), &n, sizeof(n));
}
