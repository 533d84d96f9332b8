/*
 * core.h: byte spans, allocators, bounded buffers, byte-order helpers and
 * strict hex/base64 codecs. Every other module may use this one; it depends
 * on nothing but libc.
 */
#ifndef SCITT_CORE_H
#define SCITT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scitt/err.h"

#define scitt_countof(a)                      (sizeof(a) / sizeof((a)[0]))
#define scitt_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* scitt_span_t is a borrowed view of bytes. It never owns `base`; it lives
 * exactly as long as the buffer it points into. */
typedef struct scitt_span {
    const uint8_t *base;
    size_t len;
} scitt_span_t;

static inline scitt_span_t scitt_span(const void *base, size_t len)
{
    scitt_span_t s = {(const uint8_t *)base, len};
    return s;
}

static inline scitt_span_t scitt_span_str(const char *s)
{
    return scitt_span(s, strlen(s));
}

static inline bool scitt_span_eq(scitt_span_t a, scitt_span_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

/* scitt_span_within reports whether `inner` lies entirely inside `outer`. */
static inline bool scitt_span_within(scitt_span_t inner, scitt_span_t outer)
{
    return inner.len == 0 || (inner.base >= outer.base && inner.len <= outer.len &&
                              (size_t)(inner.base - outer.base) <= outer.len - inner.len);
}

/* scitt_mem_t is the allocator a module takes so tests can fail allocations
 * on purpose (nghttp2_mem style). `scitt_mem_default()` wraps libc. */
typedef struct scitt_mem {
    void *(*malloc)(size_t size, void *ud);
    void *(*realloc)(void *ptr, size_t size, void *ud);
    void (*free)(void *ptr, void *ud);
    void *ud;
} scitt_mem_t;

const scitt_mem_t *scitt_mem_default(void);
void *scitt_mem_malloc(const scitt_mem_t *mem, size_t size);
void *scitt_mem_calloc(const scitt_mem_t *mem, size_t n, size_t size);
void *scitt_mem_realloc(const scitt_mem_t *mem, void *ptr, size_t size);
void scitt_mem_free(const scitt_mem_t *mem, void *ptr);

/* scitt_xmalloc aborts on failure. Only tools/ and start-up code use it. */
void *scitt_xmalloc(size_t size);

/* scitt_buf_t is a growable byte buffer with a hard maximum. Appending past
 * `max` fails with SCITT_ETOOBIG and leaves the contents unchanged. The
 * buffer owns `base`; release it with scitt_buf_cleanup(). */
typedef struct scitt_buf {
    uint8_t *base;
    size_t len;
    size_t cap;
    size_t max;
    const scitt_mem_t *mem;
} scitt_buf_t;

/* scitt_buf_init prepares an empty buffer; `mem` NULL means the default
 * allocator, `max` 0 means SIZE_MAX. It allocates nothing. */
void scitt_buf_init(scitt_buf_t *buf, const scitt_mem_t *mem, size_t max);
void scitt_buf_cleanup(scitt_buf_t *buf);
/* scitt_buf_reserve makes room for `extra` more bytes: 0, SCITT_ETOOBIG or SCITT_ENOMEM. */
int scitt_buf_reserve(scitt_buf_t *buf, size_t extra);
/* scitt_buf_append: inline, as most appends fit (CBOR heads, proof hashes). */
static inline int scitt_buf_append(scitt_buf_t *buf, const void *data, size_t len)
{
    if (len > buf->cap - buf->len) {
        int rc = scitt_buf_reserve(buf, len);
        if (rc != 0) {
            return rc;
        }
    }
    if (len > 0) {
        memcpy(buf->base + buf->len, data, len);
    }
    buf->len += len;
    return 0;
}
int scitt_buf_append_byte(scitt_buf_t *buf, uint8_t byte);
int scitt_buf_append_str(scitt_buf_t *buf, const char *s);
/* scitt_buf_printf appends formatted text (no NUL is counted in len). */
int scitt_buf_printf(scitt_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void scitt_buf_reset(scitt_buf_t *buf)
{
    buf->len = 0;
}
static inline scitt_span_t scitt_buf_span(const scitt_buf_t *buf)
{
    return scitt_span(buf->base, buf->len);
}

/* scitt_read_stream appends everything `f` holds to `out`; scitt_read_file
 * does the same for `path`. Errors: -errno from fopen, SCITT_EIO,
 * SCITT_ETOOBIG (the buffer's maximum), SCITT_ENOMEM. */
int scitt_read_stream(FILE *f, scitt_buf_t *out);
int scitt_read_file(const char *path, scitt_buf_t *out);

/* scitt_write_file_atomic replaces `dir`/`file` with `data` so that a crash
 * leaves either the old file or the new one, never a torn one: a temporary
 * file in `dir` (mode `mode`), fsync, rename, fsync of `dir`. -errno on
 * failure (the temporary file is removed). */
int scitt_write_file_atomic(const char *dir, const char *file, scitt_span_t data, unsigned mode);

/* scitt_write_file_once writes `dir`/`file` once, for files that never
 * change: when it exists with exactly `data` it is left alone (0); when it
 * exists with other bytes nothing is written and the answer is
 * SCITT_ECONFLICT; otherwise it is written as scitt_write_file_atomic does
 * (temporary file, fsync, rename, fsync of `dir`). -errno on failure. */
int scitt_write_file_once(const char *dir, const char *file, scitt_span_t data, unsigned mode);

/* One process per data folder. scitt_dir_lock creates `dir` (0700) if
 * missing and takes an exclusive flock(2) on `dir`/SCITT_DIR_LOCK_FILE,
 * into which it writes this process's pid. On success `*out_fd` holds the
 * lock until scitt_dir_unlock or the process ends. Otherwise `*out_fd` is
 * -1, `msg` gets one line ("DIR is in use by pid N" when another process
 * holds it) and the result is -EBUSY or another -errno. */
#define SCITT_DIR_LOCK_FILE "owner.lock"
int scitt_dir_lock(const char *dir, int *out_fd, char *msg, size_t msg_cap);
void scitt_dir_unlock(int fd);

/* Big-endian loads and stores. */
static inline uint16_t scitt_load_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t scitt_load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t scitt_load_be64(const uint8_t *p)
{
    return ((uint64_t)scitt_load_be32(p) << 32) | scitt_load_be32(p + 4);
}
static inline void scitt_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void scitt_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void scitt_store_be64(uint8_t *p, uint64_t v)
{
    scitt_store_be32(p, (uint32_t)(v >> 32));
    scitt_store_be32(p + 4, (uint32_t)v);
}

/* Hex. scitt_hex_encode writes 2*len lowercase digits and a NUL to `out`
 * (capacity at least 2*len+1). scitt_hex_decode accepts only an even number
 * of [0-9a-fA-F] digits; anything else is SCITT_EMALFORMED, and an output
 * shorter than len/2 is SCITT_ETOOBIG. */
void scitt_hex_encode(char *out, const uint8_t *in, size_t len);
int scitt_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len);

/* Base64. SCITT_B64_STD is RFC 4648 section 4 with mandatory padding;
 * SCITT_B64_URL is section 5 without padding (as SCRAPI kid paths and JOSE
 * use). Decoding is strict: wrong alphabet, wrong padding, a length that no
 * encoding produces, or non-zero unused bits are SCITT_EMALFORMED, so every
 * byte string has exactly one accepted encoding. */
typedef enum scitt_b64 { SCITT_B64_STD, SCITT_B64_URL } scitt_b64_t;

size_t scitt_base64_encoded_len(size_t len, scitt_b64_t variant);
/* scitt_base64_encode writes the encoding and a NUL; `out` must hold
 * scitt_base64_encoded_len(len) + 1 bytes. Returns the encoded length. */
size_t scitt_base64_encode(char *out, const uint8_t *in, size_t len, scitt_b64_t variant);
int scitt_base64_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t in_len,
                        scitt_b64_t variant);

/* Key ids as people read and type them (issue 15). A kid is printed as its
 * unpadded base64url (RFC 4648 section 5): the spelling of `scitt keygen`
 * and of /.well-known/scitt-keys/{kid}. scitt_kid_parse reads a typed kid
 * (a query, a command-line flag, a watch file): exactly 64 hex digits
 * (either case) are the 32 bytes they spell, the hex spelling of a
 * thumbprint that earlier versions took; any other text is strict unpadded
 * base64url of 1..out_cap bytes. docs/DECISIONS.md says why the two cannot
 * be confused. Returns 0, SCITT_EMALFORMED (empty, or neither spelling) or
 * SCITT_ETOOBIG (more than out_cap bytes). scitt_kid_append appends a kid's
 * printed spelling (no NUL). */
int scitt_kid_parse(uint8_t *out, size_t out_cap, size_t *out_len, const char *s, size_t len);
int scitt_kid_append(scitt_buf_t *out, scitt_span_t kid);

/* scitt_utf8_valid reports whether `s` is well-formed UTF-8 (RFC 3629: no
 * overlong forms, surrogates or code points above U+10FFFF). */
bool scitt_utf8_valid(scitt_span_t s);

/* scitt_json_put_string appends `s` as a JSON string (RFC 8259 section 7):
 * quoted, with '"', '\\' and control characters (C0, DEL and C1) and
 * U+2028/U+2029 escaped, and each byte that is not part of well-formed
 * UTF-8 replaced by U+FFFD, so any bytes give valid JSON text that is safe
 * to print on a terminal. Returns 0, SCITT_ENOMEM or SCITT_ETOOBIG
 * (then `out` keeps its previous length). */
int scitt_json_put_string(scitt_buf_t *out, scitt_span_t s);

/* scitt_parse_u64 parses a decimal integer with no sign, no leading zeros
 * (except "0" itself) and no overflow. */
int scitt_parse_u64(const char *s, size_t len, uint64_t *out);

/* scitt_format_u64 writes `v` in decimal, zero-padded to `min_digits` (at
 * most 20), into `buf` (room for 20 digits; no NUL) and returns the number
 * of digits. */
size_t scitt_format_u64(char *buf, uint64_t v, size_t min_digits);

#endif /* SCITT_CORE_H */
