/*
 * shaped.h: signed-statement shaped entries for the benchmarks that feed
 * the sequencer directly (bench_seq, prefill). Each is a COSE_Sign1 with a
 * protected header naming one of `issuers` issuers ("https://issuer-NN.example"),
 * one of 64 kids and a distinct subject "pkg/N", a distinct payload and
 * filler signature bytes (nothing verifies them), so the sequencer indexes
 * four fields per entry as it does for registrations. A template is patched
 * per entry at fixed offsets: a few copies, no CBOR encoding.
 */
#ifndef SCITT_BENCH_SHAPED_H
#define SCITT_BENCH_SHAPED_H

#include <stddef.h>
#include <stdint.h>

typedef struct shaped {
    uint8_t *stmt;
    size_t len;
    unsigned issuers;
    uint8_t tag[8]; /* per run: entries differ from every other run's */
    size_t iss_off, kid_off, sub_off, payload_off, payload_len;
} shaped_t;

/* shaped_init builds the template of `len` bytes (160..65536) with issuers
 * 00 .. issuers-1 (1..100); exits on failure. */
void shaped_init(shaped_t *t, size_t len, unsigned issuers);
void shaped_free(shaped_t *t);

/* shaped_make turns t->stmt into entry `n`: issuer n % issuers, kid n % 64,
 * subject pkg/n (12 digits), payload starting with the run tag and n. */
void shaped_make(shaped_t *t, uint64_t n);

#endif
