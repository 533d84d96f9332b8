/*
 * pq.h: libpq, loaded at run time into its own symbol scope (pq.c).
 *
 * Why not link it: libpq links OpenSSL 3 (libssl.so.3, libcrypto.so.3)
 * while scittd's default crypto is BoringSSL (libcrypto.so.0), whose
 * unversioned SSL_* and EVP_* symbols come first in the process's global
 * scope and bind libpq's and OpenSSL's own calls: the first TLS handshake
 * with the database crashed. pq.c dlopens libpq.so.5 with RTLD_DEEPBIND,
 * so libpq and the OpenSSL it brings resolve their symbols among
 * themselves first. (Sanitizer runtimes refuse RTLD_DEEPBIND: those builds
 * load libpq plainly, and TLS to the database must not be used there.)
 *
 * Include this instead of <libpq-fe.h>: the PQ* names below become calls
 * through scitt_pq, filled by scitt_pq_load.
 */
#ifndef SCITT_SRC_STORE_PQ_H
#define SCITT_SRC_STORE_PQ_H

#include <libpq-fe.h>

#define SCITT_PQ_FUNCS(X)                                                                                              \
    X(PQbackendPID)                                                                                                    \
    X(PQclear)                                                                                                         \
    X(PQconnectdb)                                                                                                     \
    X(PQconnectdbParams)                                                                                               \
    X(PQconsumeInput)                                                                                                  \
    X(PQerrorMessage)                                                                                                  \
    X(PQexec)                                                                                                          \
    X(PQenterPipelineMode)                                                                                             \
    X(PQexecPrepared)                                                                                                  \
    X(PQexitPipelineMode)                                                                                              \
    X(PQfinish)                                                                                                        \
    X(PQfreemem)                                                                                                       \
    X(PQgetResult)                                                                                                     \
    X(PQgetisnull)                                                                                                     \
    X(PQgetlength)                                                                                                     \
    X(PQgetvalue)                                                                                                      \
    X(PQhost)                                                                                                          \
    X(PQnotifies)                                                                                                      \
    X(PQntuples)                                                                                                       \
    X(PQpipelineSync)                                                                                                  \
    X(PQport)                                                                                                          \
    X(PQprepare)                                                                                                       \
    X(PQreset)                                                                                                         \
    X(PQresultErrorField)                                                                                              \
    X(PQresultStatus)                                                                                                  \
    X(PQsendQueryParams)                                                                                               \
    X(PQsendQueryPrepared)                                                                                             \
    X(PQsetNoticeProcessor)                                                                                            \
    X(PQsocket)                                                                                                        \
    X(PQstatus)                                                                                                        \
    X(PQuser)

#define SCITT_PQ_MEMBER(f) __typeof__(f) *f;
typedef struct scitt_pq {
    SCITT_PQ_FUNCS(SCITT_PQ_MEMBER)
} scitt_pq_t;
#undef SCITT_PQ_MEMBER

extern scitt_pq_t scitt_pq;

/* scitt_pq_load loads libpq once per process: 0, or SCITT_ENOENT with the
 * reason in `*why` (static text). */
int scitt_pq_load(const char **why);

#ifndef SCITT_PQ_IMPL
#define PQbackendPID         scitt_pq.PQbackendPID
#define PQclear              scitt_pq.PQclear
#define PQconnectdb          scitt_pq.PQconnectdb
#define PQconnectdbParams    scitt_pq.PQconnectdbParams
#define PQconsumeInput       scitt_pq.PQconsumeInput
#define PQerrorMessage       scitt_pq.PQerrorMessage
#define PQexec               scitt_pq.PQexec
#define PQenterPipelineMode  scitt_pq.PQenterPipelineMode
#define PQexecPrepared       scitt_pq.PQexecPrepared
#define PQexitPipelineMode   scitt_pq.PQexitPipelineMode
#define PQfinish             scitt_pq.PQfinish
#define PQfreemem            scitt_pq.PQfreemem
#define PQgetResult          scitt_pq.PQgetResult
#define PQgetisnull          scitt_pq.PQgetisnull
#define PQgetlength          scitt_pq.PQgetlength
#define PQgetvalue           scitt_pq.PQgetvalue
#define PQhost               scitt_pq.PQhost
#define PQnotifies           scitt_pq.PQnotifies
#define PQntuples            scitt_pq.PQntuples
#define PQpipelineSync       scitt_pq.PQpipelineSync
#define PQport               scitt_pq.PQport
#define PQprepare            scitt_pq.PQprepare
#define PQreset              scitt_pq.PQreset
#define PQresultErrorField   scitt_pq.PQresultErrorField
#define PQresultStatus       scitt_pq.PQresultStatus
#define PQsendQueryParams    scitt_pq.PQsendQueryParams
#define PQsendQueryPrepared  scitt_pq.PQsendQueryPrepared
#define PQsetNoticeProcessor scitt_pq.PQsetNoticeProcessor
#define PQsocket             scitt_pq.PQsocket
#define PQstatus             scitt_pq.PQstatus
#define PQuser               scitt_pq.PQuser
#endif

#endif /* SCITT_SRC_STORE_PQ_H */
