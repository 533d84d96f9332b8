/*
 * keys.c: the service's two signing keys, kept in the keys folder (--keys, default --data).
 *
 *   service-es256.pem       PKCS#8 PEM, P-256: signs receipts (ES256)
 *   checkpoint-ed25519.key  PKCS#8 PEM, Ed25519: signs checkpoint notes
 *
 * Invariants:
 *  - A key file is created only when it is absent AND the store's meta
 *    records no id for it: a log that has a key never silently gets a new
 *    one. Creation is atomic (temporary file in the same folder, mode 0600,
 *    fsync, rename, fsync of the folder), so a crash leaves either no key or
 *    a whole one.
 *  - meta records the RFC 9679 thumbprint of each public key (lowercase hex)
 *    the first time; every later start compares and refuses a mismatch.
 *  - Key files readable or writable by other users are refused, like sshd.
 *  - PEM text of private keys is wiped before its buffer is freed.
 * Failure reasons are formatted into a per-thread buffer (they name files).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "scitt/cose.h"

#define MAX_KEY_FILE (64u << 10)

typedef struct key_spec {
    const char *file;
    int alg;
    const char *meta_key;
    const char *kind; /* for messages */
} key_spec_t;

static const key_spec_t receipt_spec = {"service-es256.pem", SCITT_ALG_ES256, SCITT_SEQ__META_RECEIPT_KID,
                                        "a P-256 (ES256) private key"};
static const key_spec_t checkpoint_spec = {"checkpoint-ed25519.key", SCITT_ALG_EDDSA, SCITT_SEQ__META_CHECKPOINT_KID,
                                           "an Ed25519 private key"};

static _Thread_local char err_buf[4400];

static const char *explain(const char *fmt, const char *a, const char *b) __attribute__((format(printf, 1, 0)));
static const char *explain(const char *fmt, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(err_buf, sizeof(err_buf), fmt, a, b);
#pragma GCC diagnostic pop
    return err_buf;
}

static int join_path(char *out, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* read_key_file reads a private key file, refusing anything but a regular
 * file that only its owner may access. */
static int read_key_file(const char *path, scitt_buf_t *out, const char **why, const char *file)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        if (rc != -ENOENT) {
            *why = explain("cannot open %s in the keys folder (%s)", file, scitt_strerror(rc));
        }
        return rc;
    }
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) != 0) {
        rc = -errno;
    } else if (!S_ISREG(sb.st_mode)) {
        rc = SCITT_EBADKEY;
        *why = explain("%s in the keys folder is not a regular file%s", file, "");
    } else if ((sb.st_mode & 077) != 0) {
        rc = SCITT_EACCES;
        *why = explain("%s is accessible to other users; make it mode 0600 (chmod 600 %s)", file, path);
    } else if ((uint64_t)sb.st_size > MAX_KEY_FILE) {
        rc = SCITT_EBADKEY;
        *why = explain("%s is too large to be a key%s", file, "");
    }
    while (rc == 0) {
        rc = scitt_buf_reserve(out, 4096);
        if (rc != 0) {
            break;
        }
        ssize_t n = read(fd, out->base + out->len, out->cap - out->len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -errno;
            *why = explain("cannot read %s (%s)", file, strerror(errno));
        } else if (n == 0) {
            break;
        } else {
            out->len += (size_t)n;
            if (out->len > MAX_KEY_FILE) {
                rc = SCITT_EBADKEY;
                *why = explain("%s is too large to be a key%s", file, "");
            }
        }
    }
    close(fd);
    return rc;
}

/* meta_ids: the key ids meta records (hex, NUL-terminated; empty when absent). */
typedef struct meta_ids {
    char receipt[2 * SCITT_SHA256_LEN + 1];
    char checkpoint[2 * SCITT_SHA256_LEN + 1];
    bool log_has_heads;
} meta_ids_t;

static int copy_meta(scitt_store_read_t *rd, const char *key, char *out, size_t cap)
{
    scitt_span_t v;
    int rc = scitt_store_get_meta(rd, key, &v);
    if (rc == SCITT_ENOTFOUND) {
        out[0] = '\0';
        return 0;
    }
    if (rc == 0 && v.len + 1 > cap) {
        return SCITT_ECORRUPT;
    }
    if (rc == 0) {
        memcpy(out, v.base, v.len);
        out[v.len] = '\0';
    }
    return rc;
}

static int read_meta_ids(scitt_store_t *st, meta_ids_t *ids)
{
    scitt_store_read_t *rd;
    int rc = scitt_store_read_begin(st, &rd);
    if (rc != 0) {
        return rc;
    }
    rc = copy_meta(rd, receipt_spec.meta_key, ids->receipt, sizeof(ids->receipt));
    if (rc == 0) {
        rc = copy_meta(rd, checkpoint_spec.meta_key, ids->checkpoint, sizeof(ids->checkpoint));
    }
    if (rc == 0) {
        scitt_store_head_t head;
        rc = scitt_store_get_latest_head(rd, &head);
        ids->log_has_heads = rc == 0;
        rc = rc == SCITT_ENOTFOUND ? 0 : rc;
    }
    scitt_store_read_end(rd);
    return rc;
}

/* load_key loads (or, on a first start, creates) one key and checks its
 * thumbprint against the id meta records (`meta_hex`, empty when none). */
static int load_key(const key_spec_t *spec, const char *dir, const char *meta_hex, scitt_key_t **out_key,
                    uint8_t thumb[SCITT_SHA256_LEN], const char **why)
{
    char path[4096];
    scitt_buf_t pem;
    scitt_key_t *key = NULL;
    int rc = join_path(path, sizeof(path), dir, spec->file);
    if (rc != 0) {
        *why = "the keys folder's path is too long";
        return rc;
    }
    scitt_buf_init(&pem, NULL, 0);
    rc = read_key_file(path, &pem, why, spec->file);
    if (rc == SCITT_ENOENT && meta_hex[0] != '\0') {
        *why = explain("%s is missing from the keys folder, but this log was created with such a key (meta %s)",
                       spec->file, spec->meta_key);
    } else if (rc == SCITT_ENOENT) {
        rc = scitt_key_generate(&key, spec->alg);
        if (rc == 0) {
            rc = scitt_key_private_pem(key, &pem);
        }
        if (rc == 0) {
            rc = scitt_write_file_atomic(dir, spec->file, scitt_buf_span(&pem), 0600);
        }
        if (rc != 0) {
            *why = explain("cannot create %s in the keys folder (%s)", spec->file, scitt_strerror(rc));
        }
    } else if (rc == 0) {
        rc = scitt_key_from_pem(&key, pem.base, pem.len);
        if (rc == 0 && (!scitt_key_has_private(key) || !scitt_key_supports(key, spec->alg))) {
            rc = SCITT_EBADKEY;
        }
        if (rc != 0) {
            rc = rc == SCITT_ENOMEM ? rc : SCITT_EBADKEY;
            *why = explain("%s does not hold %s", spec->file, spec->kind);
        }
    }
    if (pem.base != NULL) {
        scitt_cleanse(pem.base, pem.cap);
    }
    scitt_buf_cleanup(&pem);
    if (rc == 0) {
        rc = scitt_cose_key_thumbprint(NULL, thumb, key);
    }
    if (rc == 0 && meta_hex[0] != '\0') {
        uint8_t want[SCITT_SHA256_LEN];
        size_t n;
        if (scitt_hex_decode(want, sizeof(want), &n, meta_hex, strlen(meta_hex)) != 0 || n != sizeof(want)) {
            rc = SCITT_ECORRUPT;
            *why = explain("meta %s is not a key id%s", spec->meta_key, "");
        } else if (memcmp(want, thumb, sizeof(want)) != 0) {
            rc = SCITT_EBADKEY;
            *why = explain("%s is not the key this log was created with (its thumbprint differs from meta %s)",
                           spec->file, spec->meta_key);
        }
    }
    if (rc != 0) {
        scitt_key_free(key);
        return rc;
    }
    *out_key = key;
    return 0;
}

static int record_id(scitt_store_t *st, const char *meta_key, const uint8_t thumb[SCITT_SHA256_LEN])
{
    char hex[2 * SCITT_SHA256_LEN + 1];
    scitt_hex_encode(hex, thumb, SCITT_SHA256_LEN);
    return scitt_store_meta_put(st, meta_key, scitt_span_str(hex));
}

int scitt_seq_keys_load(scitt_seq_keys_t *keys, const char *dir, scitt_store_t *st, const char **out_err_desc)
{
    static const char *unused;
    const char **why = out_err_desc != NULL ? out_err_desc : &unused;
    meta_ids_t ids;
    uint8_t ck_thumb[SCITT_SHA256_LEN];
    *why = NULL;
    memset(keys, 0, sizeof(*keys));
    int rc = read_meta_ids(st, &ids);
    if (rc != 0) {
        *why = "cannot read the key ids in the store's meta";
        return rc;
    }
    if (ids.log_has_heads && (ids.receipt[0] == '\0' || ids.checkpoint[0] == '\0')) {
        *why = "the log has tree heads but its meta records no service key ids";
        return SCITT_ECORRUPT;
    }
    rc = load_key(&receipt_spec, dir, ids.receipt, &keys->receipt_key, keys->receipt_kid, why);
    if (rc == 0) {
        rc = load_key(&checkpoint_spec, dir, ids.checkpoint, &keys->checkpoint_key, ck_thumb, why);
    }
    if (rc == 0 && ids.receipt[0] == '\0') {
        rc = record_id(st, receipt_spec.meta_key, keys->receipt_kid);
    }
    if (rc == 0 && ids.checkpoint[0] == '\0') {
        rc = record_id(st, checkpoint_spec.meta_key, ck_thumb);
    }
    if (rc != 0) {
        if (*why == NULL) {
            *why = "cannot record the service key ids in the store's meta";
        }
        scitt_seq_keys_cleanup(keys);
    }
    return rc;
}

void scitt_seq_keys_cleanup(scitt_seq_keys_t *keys)
{
    scitt_key_free(keys->receipt_key);
    scitt_key_free(keys->checkpoint_key);
    memset(keys, 0, sizeof(*keys));
}
