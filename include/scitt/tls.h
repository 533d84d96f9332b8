/*
 * tls.h: server-side TLS as a byte pump, so the HTTP/2 front end can run it
 * on its own loop without this module knowing about sockets.
 *
 *   network ciphertext --scitt_tls_feed--> [TLS] --scitt_tls_read--> plaintext
 *   plaintext --scitt_tls_write--> [TLS] --scitt_tls_take_output--> ciphertext
 *
 * The connection is TLS 1.3 or 1.2 (AEAD ECDHE suites, as RFC 9113 section
 * 9.2 asks for HTTP/2) and negotiates ALPN "h2", else "http/1.1" (a client
 * offering only other protocols fails the handshake; one offering no ALPN
 * gets HTTP/1.1). Implemented on BoringSSL or OpenSSL 3 memory
 * BIOs in src/crypto/tls.c, the only file that includes <openssl/ssl.h>.
 *
 * Thread safety: a context is shared read-only by connections; a
 * connection is used by one thread at a time.
 */
#ifndef SCITT_TLS_H
#define SCITT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scitt/core.h"

typedef struct scitt_tls_ctx scitt_tls_ctx_t;
typedef struct scitt_tls scitt_tls_t;

/* scitt_tls_ctx_new loads a PEM certificate chain (leaf first) and its PEM
 * private key. `*out` is newly allocated. Returns 0, or SCITT_EBADKEY with a
 * reason in `*out_err_desc` (static text) when a file cannot be read or the
 * key does not match the certificate. */
int scitt_tls_ctx_new(scitt_tls_ctx_t **out, const char *cert_file, const char *key_file, const char **out_err_desc);
void scitt_tls_ctx_free(scitt_tls_ctx_t *ctx);

/* scitt_tls_ctx_client_ca makes the server ask every client for a
 * certificate (issue 19, --client-ca) without requiring one: a client
 * without one, or with one that does not chain to a certificate of the PEM
 * bundle `ca_file`, still completes the handshake (reads stay public), and
 * scitt_tls_peer tells the front end which it was. SCITT_EBADKEY with a
 * reason when the file holds no readable certificate. */
int scitt_tls_ctx_client_ca(scitt_tls_ctx_t *ctx, const char *ca_file, const char **out_err_desc);

/* What a connection's client proved with its certificate. */
enum { SCITT_TLS_PEER_NONE, SCITT_TLS_PEER_TRUSTED, SCITT_TLS_PEER_UNTRUSTED };

/* scitt_tls_peer returns SCITT_TLS_PEER_TRUSTED when the client presented
 * a certificate that verified against --client-ca (chain, validity dates,
 * client purpose), SCITT_TLS_PEER_UNTRUSTED when it presented one that did
 * not, and SCITT_TLS_PEER_NONE otherwise (no certificate, no --client-ca,
 * handshake not done). */
int scitt_tls_peer(const scitt_tls_t *t);

/* scitt_tls_client_ctx_new makes a client context: TLS 1.2 or 1.3, ALPN
 * "h2", the peer verified against `ca_file` (PEM; NULL: the system CAs),
 * and `cert_file`/`key_file` (both or neither) as the client certificate.
 * SCITT_EBADKEY with a description naming the option on failure. */
int scitt_tls_client_ctx_new(scitt_tls_ctx_t **out, const char *ca_file, const char *cert_file, const char *key_file,
                             const char **out_err_desc);

/* scitt_tls_client_new starts the client side of one connection to `host`
 * (a name, sent as SNI and matched against the certificate, or an IP
 * literal, matched against its IP addresses). */
int scitt_tls_client_new(scitt_tls_t **out, scitt_tls_ctx_t *ctx, const char *host);

/* scitt_tls_verdict says whether a client connection is usable: 0, or why
 * not: SCITT_ETLSCA (unknown CA), SCITT_ETLSNAME (name mismatch),
 * SCITT_ETLSTIME (expired), SCITT_ETLS (another verification failure, a
 * failed or unfinished handshake, or no h2 by ALPN). */
int scitt_tls_verdict(const scitt_tls_t *t);

/* scitt_tls_refused reports whether `rc` is one of scitt_tls_verdict's
 * codes: a refusal that trying again does not change. */
bool scitt_tls_refused(int rc);

/* scitt_tls_new starts the server side of one connection. */
int scitt_tls_new(scitt_tls_t **out, scitt_tls_ctx_t *ctx);
void scitt_tls_free(scitt_tls_t *t);

/* scitt_tls_feed queues `len` bytes received from the peer. 0 or
 * SCITT_ENOMEM. */
int scitt_tls_feed(scitt_tls_t *t, const uint8_t *data, size_t len);

/* scitt_tls_read advances the handshake and decrypts into `out` (capacity
 * `cap`). Returns 0 with `*out_len` bytes (0 when more input is needed);
 * SCITT_ESHUTDOWN when the peer closed the TLS session; SCITT_EIO when the
 * connection failed (a handshake failure, a bad record: an alert may be
 * waiting in the output, send it and close). */
int scitt_tls_read(scitt_tls_t *t, uint8_t *out, size_t cap, size_t *out_len);

/* scitt_tls_write encrypts all of `data` (only once scitt_tls_ready).
 * 0, SCITT_EIO or SCITT_EINVAL before the handshake completed. */
int scitt_tls_write(scitt_tls_t *t, const uint8_t *data, size_t len);

/* scitt_tls_take_output appends every ciphertext byte waiting to be sent to
 * `out` (and forgets them). 0, SCITT_ETOOBIG or SCITT_ENOMEM. */
int scitt_tls_take_output(scitt_tls_t *t, scitt_buf_t *out);

/* scitt_tls_output_pending reports whether take_output has bytes to give. */
bool scitt_tls_output_pending(const scitt_tls_t *t);

/* scitt_tls_ready reports whether the handshake completed. */
bool scitt_tls_ready(const scitt_tls_t *t);

/* scitt_tls_h2 reports whether ALPN chose "h2" (else the connection speaks
 * HTTP/1.1); meaningful once scitt_tls_ready. */
bool scitt_tls_h2(const scitt_tls_t *t);

#endif /* SCITT_TLS_H */
