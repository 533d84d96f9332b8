/*
 * tls.c: server and client TLS over memory BIOs (see include/scitt/tls.h).
 *
 * The SSL object reads ciphertext from `rbio` (filled by scitt_tls_feed) and
 * writes ciphertext to `wbio` (drained by scitt_tls_take_output). The front
 * end owns the socket; nothing here blocks or does I/O. ALPN picks "h2"
 * when the client offers it, else "http/1.1"; a client offering neither
 * fails the handshake, and one offering no ALPN at all gets HTTP/1.1 (RFC
 * 9113 section 3.2: HTTP/2 over TLS is only ever negotiated through ALPN).
 */
#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scitt/tls.h"

struct scitt_tls_ctx {
    SSL_CTX *ctx;
};

struct scitt_tls {
    SSL *ssl;
    BIO *rbio; /* owned by ssl */
    BIO *wbio; /* owned by ssl */
};

/* RFC 9113 section 9.2.2 forbids the TLS 1.2 suites without ephemeral key
 * exchange and AEAD; these are the ones both libraries name alike. TLS 1.3
 * suites are all AEAD and stay at the library defaults. */
static const char tls12_ciphers[] = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/* find_alpn finds protocol `name` in the client's list of length-prefixed
 * protocol names `in`. */
static const unsigned char *find_alpn(const unsigned char *in, unsigned int in_len, const char *name)
{
    size_t len = strlen(name);
    for (unsigned int i = 0; i < in_len;) {
        unsigned int n = in[i];
        if (n > in_len - i - 1) {
            break;
        }
        if (n == len && memcmp(in + i + 1, name, len) == 0) {
            return in + i + 1;
        }
        i += n + 1;
    }
    return NULL;
}

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_len, const unsigned char *in,
                       unsigned int in_len, void *arg)
{
    (void)ssl;
    (void)arg;
    static const char *const ours[] = {"h2", "http/1.1"}; /* in our order of preference */
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
        const unsigned char *p = find_alpn(in, in_len, ours[i]);
        if (p != NULL) {
            *out = p;
            *out_len = (unsigned char)strlen(ours[i]);
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* no_application_protocol */
}

/* load_pair loads a PEM key and the certificate chain it belongs to into
 * `ctx`; returns NULL, or the one of `msgs` (unreadable key, unreadable
 * chain, mismatch) that says what failed. The key goes first: loading a
 * certificate that does not match it then drops the key (both libraries),
 * which check_private_key reports as a mismatch rather than as an
 * unreadable file. */

/* ctx_fail ends a failed context set-up: says why, frees `c`. */
static int ctx_fail(scitt_tls_ctx_t *c, const char *why, const char **out_err_desc)
{
    ERR_clear_error();
    if (out_err_desc != NULL) {
        *out_err_desc = why;
    }
    scitt_tls_ctx_free(c);
    return SCITT_EBADKEY;
}

static const char *load_pair(SSL_CTX *ctx, const char *cert_file, const char *key_file, const char *const msgs[3])
{
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        return msgs[0];
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        return msgs[1];
    }
    return SSL_CTX_check_private_key(ctx) != 1 ? msgs[2] : NULL;
}

int scitt_tls_ctx_new(scitt_tls_ctx_t **out, const char *cert_file, const char *key_file, const char **out_err_desc)
{
    static const char *const msgs[3] = {"cannot read the --tls-key PEM private key",
                                        "cannot read the --tls-cert PEM certificate chain",
                                        "the --tls-key private key does not match the --tls-cert certificate"};
    const char *why = "cannot create the TLS context";
    scitt_tls_ctx_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return SCITT_ENOMEM;
    }
    c->ctx = SSL_CTX_new(TLS_server_method());
    if (c->ctx == NULL) {
        goto fail;
    }
    if (SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(c->ctx, tls12_ciphers) != 1) {
        goto fail;
    }
#ifdef SSL_OP_NO_RENEGOTIATION
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION);
#endif
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if ((why = load_pair(c->ctx, cert_file, key_file, msgs)) != NULL) {
        goto fail;
    }
    SSL_CTX_set_alpn_select_cb(c->ctx, select_alpn, NULL);
    *out = c;
    return 0;
fail:
    return ctx_fail(c, why, out_err_desc);
}

/* keep_going lets the handshake finish whatever the client's certificate:
 * the verdict stays in the session (SSL_get_verify_result) and the front
 * end decides per request, so a client without credentials can still read. */
static int keep_going(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    (void)store;
    return 1;
}

int scitt_tls_ctx_client_ca(scitt_tls_ctx_t *c, const char *ca_file, const char **out_err_desc)
{
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
    if (names == NULL || SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
        if (names != NULL) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
        }
        ERR_clear_error();
        *out_err_desc = "cannot read the --client-ca PEM certificates";
        return SCITT_EBADKEY;
    }
    SSL_CTX_set_client_CA_list(c->ctx, names); /* takes `names` */
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, keep_going);
    /* Resumed sessions keep the verdict; OpenSSL refuses to resume a
     * verified session without a context id. */
    static const unsigned char sid[] = "scittd";
    SSL_CTX_set_session_id_context(c->ctx, sid, sizeof(sid) - 1);
    return 0;
}

int scitt_tls_peer(const scitt_tls_t *t)
{
    if (!SSL_is_init_finished(t->ssl)) {
        return SCITT_TLS_PEER_NONE;
    }
    X509 *cert = SSL_get_peer_certificate(t->ssl);
    if (cert == NULL) {
        return SCITT_TLS_PEER_NONE;
    }
    X509_free(cert);
    return SSL_get_verify_result(t->ssl) == X509_V_OK ? SCITT_TLS_PEER_TRUSTED : SCITT_TLS_PEER_UNTRUSTED;
}

void scitt_tls_ctx_free(scitt_tls_ctx_t *c)
{
    if (c == NULL) {
        return;
    }
    SSL_CTX_free(c->ctx);
    free(c);
}

static int tls_alloc(scitt_tls_t **out, scitt_tls_ctx_t *ctx)
{
    scitt_tls_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return SCITT_ENOMEM;
    }
    t->ssl = SSL_new(ctx->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->rbio == NULL || t->wbio == NULL) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return SCITT_ENOMEM;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* ssl owns both from here */
    *out = t;
    return 0;
}

int scitt_tls_new(scitt_tls_t **out, scitt_tls_ctx_t *ctx)
{
    int rc = tls_alloc(out, ctx);
    if (rc == 0) {
        SSL_set_accept_state((*out)->ssl);
    }
    return rc;
}

/* -- Client side -- */

/* Debian's bundle, for a library whose built-in default path is elsewhere
 * (BoringSSL as Debian ships it). */
static const char system_bundle[] = "/etc/ssl/certs/ca-certificates.crt";

int scitt_tls_client_ctx_new(scitt_tls_ctx_t **out, const char *ca_file, const char *cert_file, const char *key_file,
                             const char **out_err_desc)
{
    const char *why = "cannot create the TLS context";
    scitt_tls_ctx_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return SCITT_ENOMEM;
    }
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL || SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(c->ctx, tls12_ciphers) != 1) {
        goto fail;
    }
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_COMPRESSION);
    static const unsigned char alpn[] = "\x02h2";
    if (SSL_CTX_set_alpn_protos(c->ctx, alpn, sizeof(alpn) - 1) != 0) { /* 0 is success here */
        goto fail;
    }
    if (ca_file != NULL) {
        why = "cannot read the --cacert PEM certificates";
        if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
            goto fail;
        }
    } else {
        SSL_CTX_set_default_verify_paths(c->ctx);
        if (access(system_bundle, R_OK) == 0) {
            SSL_CTX_load_verify_locations(c->ctx, system_bundle, NULL);
        }
        ERR_clear_error();
    }
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (cert_file != NULL || key_file != NULL) {
        why = "--cert and --key go together";
        if (cert_file == NULL || key_file == NULL) {
            goto fail;
        }
        static const char *const msgs[3] = {"cannot read the --key PEM private key",
                                            "cannot read the --cert PEM certificate chain",
                                            "the --key private key does not match the --cert certificate"};
        if ((why = load_pair(c->ctx, cert_file, key_file, msgs)) != NULL) {
            goto fail;
        }
    }
    *out = c;
    return 0;
fail:
    return ctx_fail(c, why, out_err_desc);
}

int scitt_tls_client_new(scitt_tls_t **out, scitt_tls_ctx_t *ctx, const char *host)
{
    int rc = tls_alloc(out, ctx);
    if (rc != 0) {
        return rc;
    }
    SSL *ssl = (*out)->ssl;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    unsigned char ip[16];
    bool literal = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    /* An address is checked against the certificate's IP SANs and sent
     * without SNI (RFC 6066 section 3 allows names only). */
    int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                     : X509_VERIFY_PARAM_set1_host(param, host, strlen(host)) == 1 &&
                           SSL_set_tlsext_host_name(ssl, host) == 1;
    if (ok != 1) {
        ERR_clear_error();
        scitt_tls_free(*out);
        *out = NULL;
        return SCITT_EINVAL;
    }
    SSL_set_connect_state(ssl);
    return 0;
}

bool scitt_tls_refused(int rc)
{
    return rc == SCITT_ETLSCA || rc == SCITT_ETLSNAME || rc == SCITT_ETLSTIME || rc == SCITT_ETLS;
}

int scitt_tls_verdict(const scitt_tls_t *t)
{
    switch (SSL_get_verify_result(t->ssl)) {
    case X509_V_OK:
        break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return SCITT_ETLSCA;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return SCITT_ETLSNAME;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return SCITT_ETLSTIME;
    default:
        return SCITT_ETLS;
    }
    return SSL_is_init_finished(t->ssl) && scitt_tls_h2(t) ? 0 : SCITT_ETLS;
}

void scitt_tls_free(scitt_tls_t *t)
{
    if (t == NULL) {
        return;
    }
    SSL_free(t->ssl);
    free(t);
}

int scitt_tls_feed(scitt_tls_t *t, const uint8_t *data, size_t len)
{
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        int n = BIO_write(t->rbio, data, chunk);
        if (n <= 0) {
            ERR_clear_error();
            return SCITT_ENOMEM;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int scitt_tls_read(scitt_tls_t *t, uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (!SSL_is_init_finished(t->ssl)) {
        int r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            int e = SSL_get_error(t->ssl, r);
            ERR_clear_error();
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : SCITT_EIO;
        }
    }
    int chunk = cap > (1u << 30) ? (1 << 30) : (int)cap;
    int n = SSL_read(t->ssl, out, chunk);
    if (n > 0) {
        *out_len = (size_t)n;
        return 0;
    }
    int e = SSL_get_error(t->ssl, n);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    return e == SSL_ERROR_ZERO_RETURN ? SCITT_ESHUTDOWN : SCITT_EIO;
}

int scitt_tls_write(scitt_tls_t *t, const uint8_t *data, size_t len)
{
    if (!SSL_is_init_finished(t->ssl)) {
        return SCITT_EINVAL;
    }
    while (len > 0) {
        /* The write BIO grows as needed, so SSL_write never wants to wait. */
        int chunk = len > 16384 ? 16384 : (int)len;
        int n = SSL_write(t->ssl, data, chunk);
        if (n <= 0) {
            ERR_clear_error();
            return SCITT_EIO;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int scitt_tls_take_output(scitt_tls_t *t, scitt_buf_t *out)
{
    size_t n = BIO_pending(t->wbio);
    if (n == 0) {
        return 0;
    }
    int rc = scitt_buf_reserve(out, n);
    if (rc != 0) {
        return rc;
    }
    int got = BIO_read(t->wbio, out->base + out->len, (int)n);
    if (got > 0) {
        out->len += (size_t)got;
    }
    ERR_clear_error();
    return 0;
}

bool scitt_tls_output_pending(const scitt_tls_t *t)
{
    return BIO_pending(t->wbio) > 0;
}

bool scitt_tls_ready(const scitt_tls_t *t)
{
    return SSL_is_init_finished(t->ssl);
}

bool scitt_tls_h2(const scitt_tls_t *t)
{
    /* The ALPN callback only runs when the client offers ALPN; a client
     * that offers none gets HTTP/1.1. */
    const unsigned char *proto = NULL;
    unsigned int proto_len = 0;
    SSL_get0_alpn_selected(t->ssl, &proto, &proto_len);
    return proto_len == 2 && memcmp(proto, "h2", 2) == 0;
}
