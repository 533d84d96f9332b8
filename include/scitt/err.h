/*
 * err.h: the one error table shared by every scittd module.
 *
 * Functions return int: 0 for success, a negative code for failure. System
 * errors pass through as -errno (as libuv does); project codes live in
 * [-1999, -1000]. SCITT_ERR_MAP generates the enum, scitt_strerror() and
 * scitt_err_name(), so a new code is one line here.
 */
#ifndef SCITT_ERR_H
#define SCITT_ERR_H

#include <errno.h>
#include <stdbool.h>

#define SCITT_ERR_MAP(XX)                                                                                              \
    XX(ENOMEM, -ENOMEM, "out of memory")                                                                               \
    XX(EINVAL, -EINVAL, "invalid argument")                                                                            \
    XX(EIO, -EIO, "input/output error")                                                                                \
    XX(ENOSPC, -ENOSPC, "no space left on device")                                                                     \
    XX(ENOENT, -ENOENT, "no such file or directory")                                                                   \
    XX(EAGAIN, -EAGAIN, "resource temporarily unavailable")                                                            \
    XX(EACCES, -EACCES, "permission denied")                                                                           \
    XX(ENOTSUP, -ENOTSUP, "operation not supported")                                                                   \
    XX(ETOOBIG, -1000, "value exceeds the configured limit")                                                           \
    XX(EMALFORMED, -1001, "malformed input")                                                                           \
    XX(ETRUNCATED, -1002, "input ends early")                                                                          \
    XX(ETRAILING, -1003, "trailing bytes after the value")                                                             \
    XX(EDUPKEY, -1004, "duplicate map key")                                                                            \
    XX(EDEPTH, -1005, "nesting too deep")                                                                              \
    XX(EINDEF, -1006, "indefinite length not allowed")                                                                 \
    XX(ETYPE, -1007, "unexpected type")                                                                                \
    XX(EBADALG, -1010, "signature algorithm not accepted")                                                             \
    XX(EBADSIG, -1011, "signature does not verify")                                                                    \
    XX(EBADKEY, -1012, "key is malformed or unsupported")                                                              \
    XX(ENOKEY, -1013, "no such key")                                                                                   \
    XX(ECERT, -1014, "certificate chain does not validate")                                                            \
    XX(ECRYPTO, -1015, "crypto library failure")                                                                       \
    XX(ETLSCA, -1016, "TLS: unknown CA: the server's certificate does not chain to a trusted CA (see --cacert)")       \
    XX(ETLSNAME, -1017, "TLS: name mismatch: the server's certificate is not for the host in the URL")                 \
    XX(ETLSTIME, -1018, "TLS: expired: the server's certificate has expired or is not valid yet")                      \
    XX(ETLS, -1019, "TLS: the handshake failed, or the server did not choose h2 through ALPN")                         \
    XX(EPAYLOAD, -1020, "payload missing")                                                                             \
    XX(ECRIT, -1021, "unknown critical header parameter")                                                              \
    XX(EHEADER, -1022, "required header parameter missing or invalid")                                                 \
    XX(EPOLICY, -1023, "rejected by registration policy")                                                              \
    /* ECONFIRM: the issuer named no key (kid, x5chain or x5t); SCRAPI's "Confirmation Missing". */                    \
    XX(ECONFIRM, -1024, "confirmation material (kid, x5chain or x5t) missing")                                         \
    XX(EPROOF, -1030, "proof does not verify")                                                                         \
    XX(ERANGE, -1031, "index or size out of range")                                                                    \
    XX(EVDS, -1032, "unsupported verifiable data structure")                                                           \
    XX(ENOTFOUND, -1040, "not found")                                                                                  \
    XX(ECORRUPT, -1041, "stored data is inconsistent")                                                                 \
    XX(EFORMAT, -1042, "stored format version not supported")                                                          \
    XX(EDAMAGED, -1043, "a stored statement does not match its entry hash (damaged storage)")                          \
    /* ECONFLICT: a commit's first_index is not the stored log end (or its head is behind the stored one). */          \
    XX(ECONFLICT, -1044, "the log changed underneath: the batch does not extend the stored log")                       \
    /* EUNAVAIL: the store cannot be reached now (database down, read-only); nothing was written; try later. */        \
    XX(EUNAVAIL, -1045, "the store is unavailable")                                                                    \
    /* EINDOUBT: the connection was lost during a commit; scitt_store_maintain resolves the outcome. */                \
    XX(EINDOUBT, -1046, "a commit's outcome is not known yet")                                                         \
    /* EBUSY: another process is the log's writer. */                                                                  \
    XX(EBUSY, -1047, "another writer holds the log")                                                                   \
    XX(EFULL, -1050, "queue is full")                                                                                  \
    XX(ESHUTDOWN, -1051, "shutting down")

typedef enum scitt_err {
    SCITT_OK = 0,
#define SCITT__ERR_ENUM(name, value, text) SCITT_##name = (value),
    SCITT_ERR_MAP(SCITT__ERR_ENUM)
#undef SCITT__ERR_ENUM
} scitt_err_t;

/* scitt_strerror returns a static English description of `rc`. Unknown
 * negative values are described by strerror(-rc) when they are errno values. */
const char *scitt_strerror(int rc);

/* scitt_err_name returns the symbolic name ("SCITT_EBADSIG") of `rc`, or
 * "SCITT_EUNKNOWN" for a value not in the table. */
const char *scitt_err_name(int rc);

/* scitt_err_is_fatal reports whether `rc` must tear down the connection or
 * transaction it happened in (out of memory, I/O failure, corrupt store)
 * rather than be answered on one request. */
bool scitt_err_is_fatal(int rc);

#endif /* SCITT_ERR_H */
