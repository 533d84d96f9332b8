/*
 * config.h: scittd's options, from the command line and from a config file.
 *
 * Every option has a long name (`--max-pending 1000`, or `--max-pending=1000`)
 * and the same name without the dashes in a config file given with
 * `--config FILE`: one `key = value` per line, `#` starts a comment, blank
 * lines are ignored, and a flag takes `true` or `false`. The command line
 * wins over the file whatever their order. Defaults are those of issue 6.
 *
 * The module is pure: it reads the config file but opens nothing else, so
 * main.c decides what to do with the values.
 */
#ifndef SCITT_CONFIG_H
#define SCITT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { SCITT_LOG_ERROR = 0, SCITT_LOG_WARN = 1, SCITT_LOG_INFO = 2, SCITT_LOG_DEBUG = 3 };

/* A repeatable option's values, in the order given (config file first). */
typedef struct scitt_config_list {
    char **v;
    size_t n;
} scitt_config_list_t;

/* scitt_config_t: every option. Strings are newly allocated and freed by
 * scitt_config_cleanup; NULL means "not given". */
typedef struct scitt_config {
    char *data_dir;    /* --data, default ./scitt-data */
    char *listen_host; /* --listen HOST:PORT, default 127.0.0.1:8000 */
    uint16_t listen_port;
    char *origin;      /* --origin, default localhost/scittd */
    char *tls_cert;    /* --tls-cert PEM chain; with --tls-key enables TLS */
    char *tls_key;     /* --tls-key PEM private key */
    char *issuer_keys; /* --issuer-keys DIR */
    char *trust_roots; /* --trust-roots FILE */
    bool allow_unknown_issuers;
    size_t x5chain_cache;        /* --x5chain-cache N validated chains, default 4096, 0 = off */
    unsigned workers;            /* --workers, 0 = CPU count */
    size_t batch_max;            /* --batch-max, default 16384 */
    size_t max_pending;          /* --max-pending, default 100000 */
    size_t max_pending_bytes;    /* --max-pending-bytes, default 64 MiB */
    size_t tile_cache_bytes;     /* --tile-cache-bytes, default 32 MiB, 0 = off */
    size_t receipt_cache_bytes;  /* --receipt-cache-bytes, default 32 MiB, 0 = off */
    unsigned read_workers;       /* --read-workers, default 4 (0 = the default) */
    bool reads_in_pool;          /* --reads-in-pool: tests, every store read on the read workers */
    size_t commit_linger_us;     /* --commit-linger-us, default 2000, 0 = off */
    uint64_t register_wait_ms;   /* --register-wait-ms, default 5000 */
    uint64_t lease_ms;           /* --lease-ms, default 3000 (500..5000): the sequencer lease on a shared store */
    size_t max_statement_bytes;  /* --max-statement-bytes, default 1 MiB */
    size_t max_connections;      /* --max-connections, default 10000 */
    size_t max_conns_per_addr;   /* --max-connections-per-address, default 1000 */
    size_t max_pending_per_addr; /* --max-pending-per-address, default 25000 */
    size_t max_response_bytes;   /* --max-response-bytes, default 128 MiB */
    uint32_t max_streams;        /* --max-concurrent-streams, default 100 */
    size_t max_streams_total;    /* --max-streams-total, default 32768 */
    size_t max_header_bytes;     /* --max-header-bytes, default 16 KiB */
    uint64_t idle_timeout_ms;    /* --idle-timeout-ms, default 60000 */
    uint64_t request_timeout_ms; /* --request-timeout-ms, default 30000 */
    int log_level;               /* --log-level error|warn|info|debug, default info */
    bool help;                   /* --help was given */
    bool check;                  /* --check: verify the store offline and exit */
    char *database;              /* --database URI: a PostgreSQL store instead of LMDB in --data */
    unsigned database_wait_s;    /* --database-wait, default 30 (0: try once) */
    char *keys_dir;              /* --keys DIR: the service keys, default the --data folder */
    size_t post_rate;            /* --post-rate, default 100 per second per address, 0 = off */
    size_t post_burst;           /* --post-burst, default 1000 */
    char *tokens;                /* --tokens FILE: SHA-256 hashes of bearer tokens that may register */
    char *client_ca;             /* --client-ca FILE: client certificates that may register (TLS) */
    char *publish_dir;           /* --publish-dir DIR: the log as static files (issue 18) */

    /* Witnesses (issue 21). */
    scitt_config_list_t witnesses;   /* --witness VKEY@URL, repeatable */
    unsigned witness_threshold;      /* --witness-threshold K, 0: every witness */
    uint64_t witness_timeout_ms;     /* --witness-timeout-ms, default 5000 */
    uint64_t checkpoint_interval_ms; /* --checkpoint-interval-ms, default 1000 */
} scitt_config_t;

/* scitt_config_init fills `cfg` with the defaults (strings allocated).
 * Returns 0 or SCITT_ENOMEM. */
int scitt_config_init(scitt_config_t *cfg);
void scitt_config_cleanup(scitt_config_t *cfg);

/* scitt_config_parse_args applies `--config FILE` (if present) and then the
 * other arguments of `argv` (argv[0] is the program name). On failure it
 * returns SCITT_EINVAL (or -errno for an unreadable config file) and writes
 * a one-line reason into `err` (capacity `err_cap`). */
int scitt_config_parse_args(scitt_config_t *cfg, int argc, char **argv, char *err, size_t err_cap);

/* scitt_config_parse_file applies the `key = value` lines of `text` (used
 * by parse_args for --config; exposed for tests and fuzzing). `origin`
 * names the file in error messages. */
int scitt_config_parse_file(scitt_config_t *cfg, const char *text, size_t len, const char *origin, char *err,
                            size_t err_cap);

/* scitt_config_usage writes the --help text. */
void scitt_config_usage(FILE *out, const char *prog);

/* scitt_config_database_label writes "database DB on HOST:PORT" for a libpq
 * URI or key=value connection string into `out` (capacity `cap`): what
 * messages may show. User, password and every other parameter are left out;
 * parts the string does not give read "default". */
void scitt_config_database_label(const char *conninfo, char *out, size_t cap);

/* scitt_config_parse_host_port splits "HOST:PORT" (or "[v6]:PORT") of `len`
 * bytes into a NUL-terminated `host` (capacity `host_cap`) and a port
 * 1..65535. SCITT_EINVAL for a malformed value, SCITT_ETOOBIG for a host
 * that does not fit. */
int scitt_config_parse_host_port(const char *v, size_t len, char *host, size_t host_cap, uint16_t *out_port);

#endif /* SCITT_CONFIG_H */
