/*
 * keys.c: the service's keyring, kept in the keys folder (--keys, default --data).
 *
 *   service-es256.pem       PKCS#8 PEM, P-256: the active receipt key (ES256)
 *   checkpoint-ed25519.key  PKCS#8 PEM, Ed25519: the active checkpoint key
 *   retired/receipt-<kid hex>.pem, retired/checkpoint-<kid hex>.key
 *                           every retired key (issue 21), kept for ever
 *   checkpoint-transition   "<unix seconds> <kid hex>\n": the retired
 *                           checkpoint key that co-signs until then
 *   keys.lock               flock(2) held by `scittd keys rotate`
 *
 * Invariants:
 *  - A key file is created only when it is absent AND the store's meta
 *    records no id for it: a log that has a key never silently gets a new
 *    one. Creation is atomic (temporary file in the same folder, mode 0600,
 *    fsync, rename, fsync of the folder), so a crash leaves either no key or
 *    a whole one.
 *  - meta records the RFC 9679 thumbprint of each public key (lowercase hex)
 *    the first time; every later start refuses a keyring without that key
 *    (active or retired).
 *  - A rotation writes the retired copy before it replaces the active file,
 *    so every keyring a reader can see holds every key ever active.
 *  - Key files readable or writable by other users are refused, like sshd.
 *  - PEM text of private keys is wiped before its buffer is freed.
 * Failure reasons are formatted into a per-thread buffer (they name files).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <time.h>
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
    const char *retired_prefix, *retired_suffix;
} key_spec_t;

static const key_spec_t receipt_spec = {"service-es256.pem",           SCITT_ALG_ES256, SCITT_SEQ__META_RECEIPT_KID,
                                        "a P-256 (ES256) private key", "receipt-",      ".pem"};
static const key_spec_t checkpoint_spec = {"checkpoint-ed25519.key", SCITT_ALG_EDDSA, SCITT_SEQ__META_CHECKPOINT_KID,
                                           "an Ed25519 private key", "checkpoint-",   ".key"};

#define RETIRED_DIR     "retired"
#define TRANSITION_FILE "checkpoint-transition"
#define LOCK_FILE       "keys.lock"

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

/* parse_key reads a private key of `spec`'s kind from PEM and computes
 * its thumbprint; the PEM text is wiped. */
static int parse_key(const key_spec_t *spec, scitt_buf_t *pem, const char *file, scitt_key_t **out,
                     uint8_t thumb[SCITT_SHA256_LEN], const char **why)
{
    scitt_key_t *key = NULL;
    int rc = scitt_key_from_pem(&key, pem->base, pem->len);
    if (rc == 0 && (!scitt_key_has_private(key) || !scitt_key_supports(key, spec->alg))) {
        rc = SCITT_EBADKEY;
    }
    if (rc != 0) {
        rc = rc == SCITT_ENOMEM ? rc : SCITT_EBADKEY;
        *why = explain("%s does not hold %s", file, spec->kind);
    }
    if (rc == 0) {
        rc = scitt_cose_key_thumbprint(NULL, thumb, key);
    }
    if (rc != 0) {
        scitt_key_free(key);
        key = NULL;
    }
    *out = key;
    return rc;
}

static void wipe(scitt_buf_t *pem)
{
    if (pem->base != NULL) {
        scitt_cleanse(pem->base, pem->cap);
    }
    scitt_buf_cleanup(pem);
}

/* load_key loads (or, on a first start, when meta records no id, creates)
 * the active key of `spec`. */
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
        if (rc == 0) {
            rc = scitt_cose_key_thumbprint(NULL, thumb, key);
        }
        if (rc != 0) {
            *why = explain("cannot create %s in the keys folder (%s)", spec->file, scitt_strerror(rc));
        }
    } else if (rc == 0) {
        rc = parse_key(spec, &pem, spec->file, &key, thumb, why);
    }
    wipe(&pem);
    if (rc != 0) {
        scitt_key_free(key);
        return rc;
    }
    *out_key = key;
    return 0;
}

/* load_retired loads every retired key of `spec` from dir/retired (names
 * in order), skipping a copy of the active key `active` (a rotation that
 * stopped between its two steps). */
static int load_retired(const key_spec_t *spec, const char *dir, const uint8_t active[SCITT_SHA256_LEN],
                        scitt_key_t **keys, uint8_t (*kids)[SCITT_SHA256_LEN], size_t *num, const char **why)
{
    char rdir[4096], path[4400];
    struct dirent **names = NULL;
    if (join_path(rdir, sizeof(rdir), dir, RETIRED_DIR) != 0) {
        *why = "the keys folder's path is too long";
        return -ENAMETOOLONG;
    }
    int n = scandir(rdir, &names, NULL, alphasort);
    if (n < 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    int rc = 0;
    size_t plen = strlen(spec->retired_prefix), slen = strlen(spec->retired_suffix);
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        if (rc != 0 || len != plen + 2 * SCITT_SHA256_LEN + slen || strncmp(name, spec->retired_prefix, plen) != 0 ||
            strcmp(name + len - slen, spec->retired_suffix) != 0) {
            free(names[i]);
            continue;
        }
        scitt_buf_t pem;
        scitt_key_t *key = NULL;
        uint8_t thumb[SCITT_SHA256_LEN];
        scitt_buf_init(&pem, NULL, 0);
        snprintf(path, sizeof(path), "%s/%s", rdir, name);
        rc = read_key_file(path, &pem, why, name);
        if (rc == 0) {
            rc = parse_key(spec, &pem, name, &key, thumb, why);
        }
        wipe(&pem);
        if (rc == 0 && memcmp(thumb, active, SCITT_SHA256_LEN) == 0) {
            scitt_key_free(key);
        } else if (rc == 0 && *num == SCITT_SEQ_MAX_OLD_KEYS) {
            scitt_key_free(key);
            rc = SCITT_ETOOBIG;
            *why = "the keys folder holds too many retired keys";
        } else if (rc == 0) {
            keys[*num] = key;
            if (kids != NULL) {
                memcpy(kids[*num], thumb, SCITT_SHA256_LEN);
            }
            (*num)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* check_meta: the id meta records (hex) must be one of the keyring's keys. */
static int check_meta(const key_spec_t *spec, const char *meta_hex, const uint8_t active[SCITT_SHA256_LEN],
                      scitt_key_t *const *old, size_t num_old, uint8_t first[SCITT_SHA256_LEN], const char **why)
{
    uint8_t want[SCITT_SHA256_LEN], thumb[SCITT_SHA256_LEN];
    size_t n;
    if (meta_hex[0] == '\0') {
        memcpy(first, active, SCITT_SHA256_LEN);
        return 0;
    }
    if (scitt_hex_decode(want, sizeof(want), &n, meta_hex, strlen(meta_hex)) != 0 || n != sizeof(want)) {
        *why = explain("meta %s is not a key id%s", spec->meta_key, "");
        return SCITT_ECORRUPT;
    }
    memcpy(first, want, SCITT_SHA256_LEN);
    if (memcmp(want, active, sizeof(want)) == 0) {
        return 0;
    }
    for (size_t i = 0; i < num_old; i++) {
        if (scitt_cose_key_thumbprint(NULL, thumb, old[i]) == 0 && memcmp(want, thumb, sizeof(want)) == 0) {
            return 0;
        }
    }
    *why = explain("%s is not the key this log was created with, nor is that key retired in the keyring (meta %s)",
                   spec->file, spec->meta_key);
    return SCITT_EBADKEY;
}

/* load_transition reads checkpoint-transition, if any: the retired
 * checkpoint key that co-signs, and until when. */
static int load_transition(scitt_seq_keys_t *keys, const char *dir)
{
    char path[4400], text[128], hex[2 * SCITT_SHA256_LEN + 1];
    long long until;
    snprintf(path, sizeof(path), "%s/%s", dir, TRANSITION_FILE);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return errno == ENOENT ? 0 : -errno;
    }
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    if (sscanf(text, "%lld %64s", &until, hex) != 2) {
        return SCITT_ECORRUPT;
    }
    for (size_t i = 0; i < keys->num_old_checkpoint; i++) {
        uint8_t thumb[SCITT_SHA256_LEN];
        char have[2 * SCITT_SHA256_LEN + 1];
        if (scitt_cose_key_thumbprint(NULL, thumb, keys->old_checkpoint[i]) != 0) {
            return SCITT_ECRYPTO;
        }
        scitt_hex_encode(have, thumb, sizeof(thumb));
        if (strcmp(have, hex) == 0) {
            keys->cosign_key = keys->old_checkpoint[i];
            keys->cosign_until = until;
        }
    }
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
    uint8_t ck_thumb[SCITT_SHA256_LEN], ck_first[SCITT_SHA256_LEN];
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
    if (rc == 0) {
        rc = load_retired(&receipt_spec, dir, keys->receipt_kid, keys->old_receipt, keys->old_receipt_kid,
                          &keys->num_old_receipt, why);
    }
    if (rc == 0) {
        rc = load_retired(&checkpoint_spec, dir, ck_thumb, keys->old_checkpoint, NULL, &keys->num_old_checkpoint, why);
    }
    if (rc == 0) {
        rc = check_meta(&receipt_spec, ids.receipt, keys->receipt_kid, keys->old_receipt, keys->num_old_receipt,
                        keys->first_receipt_kid, why);
    }
    if (rc == 0) {
        rc = check_meta(&checkpoint_spec, ids.checkpoint, ck_thumb, keys->old_checkpoint, keys->num_old_checkpoint,
                        ck_first, why);
    }
    if (rc == 0 && (rc = load_transition(keys, dir)) != 0) {
        *why = "cannot read " TRANSITION_FILE " in the keys folder";
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
    for (size_t i = 0; i < keys->num_old_receipt; i++) {
        scitt_key_free(keys->old_receipt[i]);
    }
    for (size_t i = 0; i < keys->num_old_checkpoint; i++) {
        scitt_key_free(keys->old_checkpoint[i]);
    }
    memset(keys, 0, sizeof(*keys));
}

const scitt_key_t *scitt_seq_keys_receipt_key(const scitt_seq_keys_t *keys, scitt_span_t kid)
{
    const uint8_t *want = kid.len == SCITT_SHA256_LEN ? kid.base : kid.len == 0 ? keys->first_receipt_kid : NULL;
    if (want == NULL) {
        return NULL;
    }
    if (memcmp(want, keys->receipt_kid, SCITT_SHA256_LEN) == 0) {
        return keys->receipt_key;
    }
    for (size_t i = 0; i < keys->num_old_receipt; i++) {
        if (memcmp(want, keys->old_receipt_kid[i], SCITT_SHA256_LEN) == 0) {
            return keys->old_receipt[i];
        }
    }
    return NULL;
}

const scitt_key_t *scitt_seq_keys_cosigner(const scitt_seq_keys_t *keys, int64_t now)
{
    return keys->cosign_key != NULL && now < keys->cosign_until ? keys->cosign_key : NULL;
}

int scitt_seq_keys_verifiers(const scitt_seq_keys_t *keys, const char *origin, scitt_note_verifier_t *out,
                             size_t *out_num)
{
    *out_num = 0;
    int rc = scitt_note_verifier_init(&out[0], origin, keys->checkpoint_key);
    for (size_t i = 0; rc == 0 && i < keys->num_old_checkpoint; i++) {
        *out_num = i + 1;
        rc = scitt_note_verifier_init(&out[i + 1], origin, keys->old_checkpoint[i]);
    }
    if (rc == 0) {
        *out_num = 1 + keys->num_old_checkpoint;
    }
    return rc;
}

/* retire_one: the active key of `spec` copied to retired/ by kid, then a new
 * key written in its place. */
static int retire_one(const key_spec_t *spec, const char *dir, uint8_t old_thumb[SCITT_SHA256_LEN], char *msg,
                      size_t cap)
{
    char path[4096], rdir[4096], name[128], old_hex[2 * SCITT_SHA256_LEN + 1], new_hex[2 * SCITT_SHA256_LEN + 1];
    const char *why = NULL;
    scitt_buf_t pem;
    scitt_key_t *old = NULL, *fresh = NULL;
    uint8_t new_thumb[SCITT_SHA256_LEN];
    scitt_buf_init(&pem, NULL, 0);
    int rc = join_path(path, sizeof(path), dir, spec->file);
    rc = rc != 0 ? rc : join_path(rdir, sizeof(rdir), dir, RETIRED_DIR);
    rc = rc != 0 ? rc : read_key_file(path, &pem, &why, spec->file);
    if (rc == SCITT_ENOENT) {
        why = "it is missing: there is no active key to rotate";
    }
    rc = rc != 0 ? rc : parse_key(spec, &pem, spec->file, &old, old_thumb, &why);
    if (rc == 0 && mkdir(rdir, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        why = "cannot create the retired/ folder";
    }
    if (rc == 0) {
        scitt_hex_encode(old_hex, old_thumb, SCITT_SHA256_LEN);
        snprintf(name, sizeof(name), "%s%s%s", spec->retired_prefix, old_hex, spec->retired_suffix);
        rc = scitt_write_file_once(rdir, name, scitt_buf_span(&pem), 0600);
        why = rc != 0 ? "cannot write the retired key" : NULL;
    }
    wipe(&pem);
    scitt_buf_init(&pem, NULL, 0);
    if (rc == 0) {
        rc = scitt_key_generate(&fresh, spec->alg);
        rc = rc != 0 ? rc : scitt_key_private_pem(fresh, &pem);
        rc = rc != 0 ? rc : scitt_cose_key_thumbprint(NULL, new_thumb, fresh);
        rc = rc != 0 ? rc : scitt_write_file_atomic(dir, spec->file, scitt_buf_span(&pem), 0600);
        why = rc != 0 ? "cannot write the new key" : NULL;
    }
    wipe(&pem);
    scitt_key_free(old);
    scitt_key_free(fresh);
    if (rc != 0) {
        snprintf(msg, cap, "%s: %s (%s)", spec->file, why != NULL ? why : "", scitt_strerror(rc));
        return rc;
    }
    scitt_hex_encode(new_hex, new_thumb, SCITT_SHA256_LEN);
    size_t used = strlen(msg);
    snprintf(msg + used, cap - used, "%s%s: retired %s, active %s", used > 0 ? "\n" : "", spec->file, old_hex, new_hex);
    return 0;
}

int scitt_seq_keys_rotate(const char *dir, bool receipt, bool checkpoint, int64_t transition_s, char *msg, size_t cap)
{
    char path[4096];
    uint8_t thumb[SCITT_SHA256_LEN];
    msg[0] = '\0';
    if (join_path(path, sizeof(path), dir, LOCK_FILE) != 0) {
        snprintf(msg, cap, "the keys folder's path is too long");
        return -ENAMETOOLONG;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        int rc = -errno;
        snprintf(msg, cap, "cannot lock %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return rc;
    }
    int rc = receipt ? retire_one(&receipt_spec, dir, thumb, msg, cap) : 0;
    if (rc == 0 && checkpoint) {
        rc = retire_one(&checkpoint_spec, dir, thumb, msg, cap);
    }
    if (rc == 0 && checkpoint) {
        char line[128], hex[2 * SCITT_SHA256_LEN + 1];
        scitt_hex_encode(hex, thumb, sizeof(thumb));
        snprintf(line, sizeof(line), "%lld %s\n", (long long)time(NULL) + (long long)transition_s, hex);
        rc = scitt_write_file_atomic(dir, TRANSITION_FILE, scitt_span_str(line), 0600);
        if (rc != 0) {
            snprintf(msg, cap, "cannot write %s: %s", TRANSITION_FILE, scitt_strerror(rc));
        }
    }
    close(fd); /* releases the lock */
    return rc;
}
