/*
 * cli.h: what the subcommands of `scitt` share: the command table, file
 * helpers, key loading and connecting. Tools may abort on out-of-memory
 * (scitt_xmalloc); every other failure is reported and turned into an exit
 * code.
 *
 * Exit codes common to every subcommand: 0 success, 1 failure (the check
 * failed, the server refused, a file could not be read), 2 usage error.
 * `scitt help mirror` lists the mirror's own codes.
 */
#ifndef SCITT_TOOLS_CLI_H
#define SCITT_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "scitt/client.h"
#include "scitt/cose.h"
#include "scitt/mirror.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };
/* The CI commands' own codes (issue 20; docs/CI.md lists them): `scitt
 * verify` with --artifact, --iss, --sub; `scitt attest`. */
enum {
    CLI_ARTIFACT = 3,    /* the file is not the one the statement signs */
    CLI_CLAIMS = 4,      /* iss or sub is not the one expected */
    CLI_REJECTED = 5,    /* the service refused the statement (4xx) */
    CLI_UNAVAILABLE = 6, /* no answer: refused connections or 503 after the retries */
    CLI_TIMEOUT = 7,     /* no receipt within --max-wait */
};

typedef struct cli_cmd {
    const char *name;
    const char *summary; /* one line for `scitt help` */
    const char *help;    /* the full text for `scitt help NAME` */
    int (*run)(int argc, char **argv);
} cli_cmd_t;

extern const cli_cmd_t cli_keygen, cli_sign, cli_register, cli_verify, cli_get, cli_inspect, cli_mirror, cli_monitor,
    cli_audit, cli_attest, cli_witness;

/* cli_err prints "scitt: " and the message to stderr, and a newline. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_usage prints the message and "see `scitt help CMD`"; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_getopt is getopt_long for long options only, except that a value
 * given as the next argument may not start with `--`: `--kid --help` is an
 * option left without its value, not a kid (`--kid=--x` still gives one).
 * That case is reported and returns '?'. */
int cli_getopt(int argc, char **argv, const struct option *opts);

/* cli_read_file reads `path` ("-" is stdin) into `out` (appended). Returns
 * 0, or reports the error and returns -1. */
int cli_read_file(const char *path, scitt_buf_t *out);

/* cli_now_ms returns a monotonic clock in milliseconds. */
uint64_t cli_now_ms(void);
/* cli_write_file writes `data` to `path` ("-" is stdout) through a
 * temporary file and a rename, so a reader never sees half a file; `mode`
 * as for open(2). Reports errors; returns 0 or -1. */
int cli_write_file(const char *path, scitt_span_t data, int mode);

/* cli_load_key reads a PEM key (private or public). Reports errors; NULL on
 * failure. The key is newly allocated. */
scitt_key_t *cli_load_key(const char *path);

/* cli_key_alg picks the COSE algorithm that `key` signs with: ES256/384/512
 * by curve, EdDSA for Ed25519, PS256 for RSA. */
int cli_key_alg(const scitt_key_t *key);

/* cli_getopt_url is cli_getopt for the subcommands that talk to a URL: it
 * also takes the TLS options itself (never returning them), `--cacert
 * FILE` (PEM CA certificates trusted instead of the system's), `--cert
 * FILE` and `--key FILE` (a PEM client certificate chain and its key), for
 * cli_connect and cli_client_config (`scitt help` describes them). */
int cli_getopt_url(int argc, char **argv, const struct option *opts);

/* cli_client_config returns the client configuration the TLS options ask
 * for (the context is made once, on the first call). Reports errors; NULL
 * when a file cannot be used. */
const scitt_client_config_t *cli_client_config(void);

/* cli_connect parses `url` and starts a client on its own loop, with the TLS
 * options. Reports errors; NULL on failure. */
scitt_client_t *cli_connect(const char *url);

/* cli_print_problem prints a response's status and, when the body is RFC
 * 9290 concise problem details, its title and detail. */
void cli_print_problem(const char *what, const scitt_client_req_t *req);

/* CLI_MAX_STATEMENT bounds a statement the tool reads: generous, as the
 * log decides what it takes (scittd's --max-statement-bytes). */
#define CLI_MAX_STATEMENT ((size_t)64 << 20)

/* cli_entry_id writes the 64-hex EntryID of a statement (SHA-256 of the
 * normalised statement) into `out` (65 bytes). Returns 0 or a decode error
 * (with `*why`); a statement over CLI_MAX_STATEMENT is SCITT_ETOOBIG. */
int cli_entry_id(char out[65], scitt_span_t stmt, const char **why);

/* cli_time writes `t` (Unix seconds) as "YYYY-MM-DDTHH:MM:SSZ". */
void cli_time(char out[32], int64_t t);

/* cli_kid_text spells a key id the one way the CLI prints and reads it:
 * unpadded base64url (as `scitt keygen` prints it, and /.well-known/
 * scitt-keys/{kid} and every kid filter take it; see scitt_kid_parse).
 * Newly allocated (free). */
char *cli_kid_text(scitt_span_t kid);

/* cli_progress draws "label [#####     ] done/total" on stderr when it is a
 * terminal (nothing otherwise); cli_progress_end finishes the line. */
void cli_progress(const char *label, uint64_t done, uint64_t total);
void cli_progress_end(void);

/* -- witnesses a client demands (issue 21; witness.c) -- */

/* --witness VKEY (repeatable: a witness's cosigner vkey line, or a file
 * holding one) and --witness-threshold K, for mirror and monitor:
 * CLI_WITNESS_OPTIONS goes into their option tables, cli_witness_option
 * takes the values, cli_witnesses_load checks and parses them once the
 * options are read. */
enum { CLI_O_WITNESS = 420, CLI_O_WITNESS_THRESHOLD };
#define CLI_MAX_WITNESSES 32
// clang-format off
#define CLI_WITNESS_OPTIONS                                                                                            \
    {"witness", required_argument, NULL, CLI_O_WITNESS},                                                               \
    {"witness-threshold", required_argument, NULL, CLI_O_WITNESS_THRESHOLD}
// clang-format on
#define CLI_WITNESS_HELP                                                                                               \
    "  --witness VKEY   a witness's vkey line (or a file holding one), as `scitt\n"                                    \
    "                   witness keygen` prints it; repeatable\n"                                                       \
    "  --witness-threshold K  trust a checkpoint only with valid cosignatures\n"                                       \
    "                   (cosignature/v1) from at least K distinct --witness keys\n"                                    \
    "                   (default 1 with --witness); else exit 16, evidence kept\n"

typedef struct cli_witnesses {
    const char *args[CLI_MAX_WITNESSES];
    size_t num;
    uint64_t threshold; /* 0 until set */
    scitt_cosigner_t list[CLI_MAX_WITNESSES];
    size_t loaded;
} cli_witnesses_t;

/* cli_witness_option stores a witness option's value: 1 when `ch` is one,
 * 0 when not, or CLI_USAGE (reported). */
int cli_witness_option(cli_witnesses_t *w, int ch, const char *arg, const char *cmd);
/* cli_witnesses_load parses the vkeys and settles the threshold: CLI_OK,
 * CLI_USAGE or CLI_FAIL (reported). cli_witnesses_free in every case. */
int cli_witnesses_load(cli_witnesses_t *w, const char *cmd);
void cli_witnesses_free(cli_witnesses_t *w);

/* cli_follow_t is a mirror session as `scitt mirror` and `scitt monitor`
 * run it (follow.c): the log at `url` mirrored into `dir`, the vkey from
 * `vkey` (a vkey line or a file holding one; NULL: pinned or fetched). */
typedef struct cli_follow {
    const char *cmd; /* prefixes messages: "mirror", "monitor" */
    const char *url, *dir, *vkey;
    bool follow;       /* a round every `interval` seconds until SIGINT/SIGTERM */
    uint64_t interval; /* seconds */
    size_t chunk;      /* scitt_mirror_config_t.chunk_entries */
    FILE *out;         /* where "verified checkpoint at tree size N" goes */
    /* opened (may be NULL) runs once the mirror is open, before the first
     * round; round (may be NULL) after each verified round. Each returns 0
     * to go on, or an exit code that ends the session with it. */
    int (*opened)(void *ud, scitt_mirror_t *m);
    int (*round)(void *ud, scitt_mirror_t *m, const scitt_mirror_status_t *st);
    void *ud;
    const cli_witnesses_t *witnesses; /* NULL: checkpoints need no cosignature */
} cli_follow_t;

/* cli_follow runs the session: the mirror's verdict of the last round (0,
 * 1, 10-16, reported on stderr), CLI_USAGE for a URL scheme it cannot read,
 * or the first non-zero code of a callback. */
int cli_follow(const cli_follow_t *f);

/* cli_stopping reports whether SIGINT or SIGTERM arrived during cli_follow. */
bool cli_stopping(void);

/* cli_map_file maps the regular file at `path` read-only into `out` (an
 * artifact may be larger than memory; empty: a null span). Reports errors;
 * 0 or -1. cli_unmap_file releases it. */
int cli_map_file(const char *path, scitt_span_t *out);
void cli_unmap_file(scitt_span_t data);

/* cli_check_artifact (artifact.c) prints whether the file at `path` is
 * what `s` signs: its hash envelope digest (258/payload, RFC 9995) or its
 * attached payload. Returns CLI_OK, CLI_ARTIFACT, or CLI_FAIL when the file
 * cannot be read. */
int cli_check_artifact(const scitt_cose_sign1_t *s, const char *path);

/* cli_claims_want_t: the iss and sub a deploy expects (NULL: any), each
 * exactly or as a prefix. */
typedef struct cli_claims_want {
    const char *iss, *iss_prefix, *sub, *sub_prefix;
} cli_claims_want_t;

/* cli_check_claims prints one line per expectation; CLI_OK or CLI_CLAIMS. */
int cli_check_claims(const scitt_cose_sign1_t *s, const cli_claims_want_t *want);

/* cli_reg_t: one statement for cli_register_batch (register.c). */
typedef struct cli_reg {
    const char *name;        /* the artifact, for messages and the output line */
    scitt_span_t stmt;       /* the signed statement */
    const char *transparent; /* where the transparent statement goes */
    char id[65];             /* out: the EntryID */
    int outcome;             /* out: CLI_OK, CLI_REJECTED, CLI_UNAVAILABLE, CLI_TIMEOUT or CLI_FAIL */
} cli_reg_t;

/* cli_register_batch registers the statements as `scitt register` does
 * (one connection, 202 polled, 503/429 retried, reconnects), each given up
 * after `max_wait` seconds, and writes each transparent statement. Prints
 * "NAME ENTRYID leaf N tree M" per statement. Returns CLI_OK when all made
 * it (each outcome says how each went). */
int cli_register_batch(const char *url, cli_reg_t *regs, size_t num, uint64_t max_wait);

/* -- signers (signer.c) -- */

/* Option codes of the signer and statement options (--iss, --sub,
 * --content-type), which `scitt sign` and `scitt attest` share:
 * CLI_SIGNER_OPTIONS goes into their option tables and cli_signer_option
 * takes the values. */
enum { CLI_O_KEY = 400, CLI_O_KEY_ENV, CLI_O_SIGNER, CLI_O_PUB, CLI_O_X5CHAIN, CLI_O_ISS, CLI_O_SUB, CLI_O_CTYPE };
// clang-format off
#define CLI_SIGNER_OPTIONS                                                                                             \
    {"key", required_argument, NULL, CLI_O_KEY},                                                                       \
    {"key-env", required_argument, NULL, CLI_O_KEY_ENV},                                                               \
    {"signer", required_argument, NULL, CLI_O_SIGNER},                                                                 \
    {"pub", required_argument, NULL, CLI_O_PUB},                                                                       \
    {"x5chain", required_argument, NULL, CLI_O_X5CHAIN},                                                               \
    {"iss", required_argument, NULL, CLI_O_ISS},                                                                       \
    {"sub", required_argument, NULL, CLI_O_SUB},                                                                       \
    {"content-type", required_argument, NULL, CLI_O_CTYPE}
// clang-format on
#define CLI_SIGNER_HELP                                                                                                \
    "  --key PEM        the private key, a PEM file\n"                                                                 \
    "  --key-env VAR    the private key, a PEM text in the environment variable VAR\n"                                 \
    "  --signer CMD     an external signer: `sh -c CMD` gets the COSE Sig_structure on\n"                              \
    "                   stdin and writes the signature on stdout (ES256/384/512: raw\n"                                \
    "                   r||s, 64/96/132 bytes, or DER; EdDSA: 64 bytes; PS256: the RSA\n"                              \
    "                   signature); each signature is checked with the public key\n"                                   \
    "  --pub PEM        with --signer: the signer's public key (the kid is its RFC 9679\n"                             \
    "                   thumbprint, as with --key)\n"                                                                  \
    "  --x5chain PEM    certificates (leaf first) for label 33, no kid; with --signer\n"                               \
    "                   the leaf's key checks the signature; iss should then be a URI\n"

typedef struct cli_signer_cfg {
    const char *key_path, *key_env, *cmd, *pub_path, *x5_path;
    bool no_kid;
    scitt_cose_statement_params_t *sp; /* --iss, --sub, --content-type go here */
} cli_signer_cfg_t;

/* cli_signer_option stores a signer or statement option's value; false for
 * other codes. */
bool cli_signer_option(cli_signer_cfg_t *cfg, int ch, const char *arg);

typedef struct cli_signer {
    scitt_key_t *key; /* the private key, or with `cmd` the public key */
    const char *cmd;  /* --signer; NULL: the key signs */
    int alg;
    bool has_kid;
    uint8_t kid[SCITT_SHA256_LEN];
    scitt_buf_t der; /* the x5chain certificates */
    scitt_span_t certs[SCITT_COSE_MAX_X5CHAIN];
    size_t num_certs;
} cli_signer_t;

/* cli_signer_open loads what `cfg` names. Returns CLI_OK, CLI_USAGE (for
 * `cmd`) or CLI_FAIL (reported); cli_signer_close in every case. */
int cli_signer_open(cli_signer_t *sg, const cli_signer_cfg_t *cfg, const char *cmd);
void cli_signer_close(cli_signer_t *sg);

/* cli_signer_statement appends a signed statement over `payload` (or its
 * SHA-256 when sp->payload_hash_alg is set) to `out`; sp gives iss, sub,
 * iat and the content type, the signer alg, kid and x5chain. Reports
 * errors; returns 0 or -1. */
int cli_signer_statement(const cli_signer_t *sg, scitt_cose_statement_params_t *sp, scitt_span_t payload,
                         scitt_buf_t *out);

#endif /* SCITT_TOOLS_CLI_H */
