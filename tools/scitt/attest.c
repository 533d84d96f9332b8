/*
 * attest.c: `scitt attest` (issue 20), a CI pipeline's one step: for each
 * artifact, a hash-envelope statement (RFC 9995: SHA-256 of the file, so
 * the artifact never travels) signed as `scitt sign` signs, registered as
 * `scitt register` registers (one connection for all), and the transparent
 * statement written beside the artifact for the deploy step's `scitt
 * verify --artifact`.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

static const char help[] =
    "usage: scitt attest --url URL (--key PEM | --key-env VAR | --signer CMD (--pub PEM | --x5chain PEM))\n"
    "                    [--iss ISS] [--sub SUB] [--content-type T] [--out-suffix S | --out-dir DIR]\n"
    "                    [--max-wait S] FILE...\n\n"
    "For each FILE: signs a hash envelope over SHA-256(FILE) (RFC 9995) with CWT iss,\n"
    "sub and iat = now, registers it with the service at URL (one HTTP/2 connection\n"
    "for all files; 202 is polled, 503 and 429 retried), and writes the transparent\n"
    "statement (the receipt under header 394) to FILE.scitt. Prints one line per\n"
    "file: FILE ENTRYID leaf N tree M.\n\n"
    "  --url URL        the transparency service\n" CLI_SIGNER_HELP
    "  --iss ISS        the issuer; default from the CI environment (below)\n"
    "  --sub SUB        the subject; default from the CI environment (below)\n"
    "  --content-type T the artifacts' media type (header 259)\n"
    "  --out-suffix S   write FILE + S (default .scitt)\n"
    "  --out-dir DIR    write DIR/<file name> + suffix instead\n"
    "  --max-wait S     give up on a file after S seconds (default 300)\n\n"
    "Without --iss/--sub, the first CI found gives them (docs/CI.md):\n"
    "  GitHub Actions (GITHUB_ACTIONS=true): iss $GITHUB_SERVER_URL/$GITHUB_REPOSITORY,\n"
    "      sub ISS@$GITHUB_SHA\n"
    "  GitLab CI (GITLAB_CI=true): iss $CI_PROJECT_URL, sub ISS@$CI_COMMIT_SHA\n"
    "  Jenkins (JENKINS_URL set): iss $JOB_URL (without its final /), sub ISS@$GIT_COMMIT\n\n"
    "exit codes: 0 every file attested; 1 failure (a file, key or signer, a malformed\n"
    "answer); 2 usage error; 5 the service rejected a statement (HTTP 4xx, e.g. its\n"
    "registration policy); 6 the service is unavailable (connection refused or 503\n"
    "until the retries or --max-wait ran out); 7 timed out (accepted, but no receipt\n"
    "within --max-wait). With several files the first that failed gives the code.\n";

/* ci_claims fills in iss and sub from a CI's environment, each only when the
 * flag did not give it. `store` keeps the strings made. Returns 0, or
 * reports and returns -1. */
static int ci_claims(const char **iss, const char **sub, char **store)
{
    static const struct {
        const char *name, *detect, *detect_value, *base, *path, *commit;
    } cis[] = {
        {"GitHub Actions", "GITHUB_ACTIONS", "true", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"},
        {"GitLab CI", "GITLAB_CI", "true", "CI_PROJECT_URL", NULL, "CI_COMMIT_SHA"},
        {"Jenkins", "JENKINS_URL", NULL, "JOB_URL", NULL, "GIT_COMMIT"},
    };
    if (*iss != NULL && *sub != NULL) {
        return 0;
    }
    for (size_t i = 0; i < scitt_countof(cis); i++) {
        const char *d = getenv(cis[i].detect);
        if (d == NULL || d[0] == '\0' || (cis[i].detect_value != NULL && strcmp(d, cis[i].detect_value) != 0)) {
            continue;
        }
        const char *vars[] = {cis[i].base, cis[i].path, cis[i].commit};
        const char *vals[3];
        for (size_t k = 0; k < 3; k++) {
            vals[k] = vars[k] != NULL ? getenv(vars[k]) : "";
            if (vals[k] == NULL || (vars[k] != NULL && vals[k][0] == '\0')) {
                cli_err("attest: %s found, but %s is not set; give --iss and --sub", cis[i].name, vars[k]);
                return -1;
            }
        }
        size_t base_len = strlen(vals[0]);
        while (base_len > 0 && vals[0][base_len - 1] == '/') {
            base_len--;
        }
        size_t n = base_len + strlen(vals[1]) + strlen(vals[2]) + 3;
        store[0] = scitt_xmalloc(n);
        snprintf(store[0], n, "%.*s%s%s", (int)base_len, vals[0], vals[1][0] != '\0' ? "/" : "", vals[1]);
        *iss = *iss != NULL ? *iss : store[0];
        n = strlen(*iss) + strlen(vals[2]) + 2;
        store[1] = scitt_xmalloc(n);
        snprintf(store[1], n, "%s@%s", *iss, vals[2]);
        *sub = *sub != NULL ? *sub : store[1];
        return 0;
    }
    cli_err("attest: no --iss/--sub and no CI environment found (GitHub Actions, GitLab CI, Jenkins)");
    return -1;
}

static int run(int argc, char **argv)
{
    enum { O_URL = 256, O_SUFFIX, O_DIR, O_WAIT };
    static const struct option opts[] = {CLI_SIGNER_OPTIONS,
                                         {"url", required_argument, NULL, O_URL},
                                         {"out-suffix", required_argument, NULL, O_SUFFIX},
                                         {"out-dir", required_argument, NULL, O_DIR},
                                         {"max-wait", required_argument, NULL, O_WAIT},
                                         {NULL, 0, NULL, 0}};
    const char *url = NULL, *suffix = ".scitt", *dir = NULL;
    uint64_t max_wait = 300;
    scitt_cose_statement_params_t sp = {.iat = (int64_t)time(NULL), .payload_hash_alg = SCITT_HASH_SHA256};
    cli_signer_cfg_t scfg = {.sp = &sp};
    int ch;
    while ((ch = cli_getopt_url(argc, argv, opts)) != -1) {
        if (cli_signer_option(&scfg, ch, optarg)) {
            continue;
        }
        switch (ch) {
        case O_URL:
            url = optarg;
            break;
        case O_SUFFIX:
            suffix = optarg;
            break;
        case O_DIR:
            dir = optarg;
            break;
        case O_WAIT:
            if (scitt_parse_u64(optarg, strlen(optarg), &max_wait) != 0 || max_wait == 0) {
                return cli_usage("attest", "--max-wait wants seconds");
            }
            break;
        default:
            return cli_usage("attest", "unknown option");
        }
    }
    if (url == NULL || optind >= argc) {
        return cli_usage("attest", "--url, a signer and at least one FILE are required");
    }
    if (dir == NULL && suffix[0] == '\0') {
        return cli_usage("attest", "an empty --out-suffix would overwrite the artifact; give --out-dir too");
    }
    if (dir != NULL && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_err("cannot create %s: %s", dir, strerror(errno));
        return CLI_FAIL;
    }
    char *made[2] = {NULL, NULL};
    if (ci_claims(&sp.iss, &sp.sub, made) != 0) {
        return CLI_USAGE;
    }
    size_t num = (size_t)(argc - optind);
    cli_reg_t *regs = scitt_xmalloc(num * sizeof(*regs));
    scitt_buf_t *stmts = scitt_xmalloc(num * sizeof(*stmts));
    char **outs = scitt_xmalloc(num * sizeof(*outs));
    size_t built = 0;
    cli_signer_t sg;
    int status = cli_signer_open(&sg, &scfg, "attest");
    for (; status == CLI_OK && built < num; built++) {
        const char *file = argv[optind + (int)built];
        const char *base = strrchr(file, '/');
        base = dir == NULL ? file : base != NULL ? base + 1 : file;
        size_t n = (dir != NULL ? strlen(dir) + 1 : 0) + strlen(base) + strlen(suffix) + 1;
        outs[built] = scitt_xmalloc(n);
        snprintf(outs[built], n, "%s%s%s%s", dir != NULL ? dir : "", dir != NULL ? "/" : "", base, suffix);
        scitt_span_t data = {0};
        scitt_buf_init(&stmts[built], NULL, 0);
        if (cli_map_file(file, &data) != 0 || cli_signer_statement(&sg, &sp, data, &stmts[built]) != 0) {
            status = CLI_FAIL;
        }
        cli_unmap_file(data);
        regs[built] = (cli_reg_t){.name = file, .stmt = scitt_buf_span(&stmts[built]), .transparent = outs[built]};
    }
    cli_signer_close(&sg);
    if (status == CLI_OK && cli_register_batch(url, regs, num, max_wait) != CLI_OK) {
        status = CLI_FAIL;
        for (size_t i = 0; i < num && status == CLI_FAIL; i++) {
            status = regs[i].outcome != CLI_OK ? regs[i].outcome : CLI_FAIL;
        }
    }
    for (size_t i = 0; i < built; i++) {
        scitt_buf_cleanup(&stmts[i]);
        free(outs[i]);
    }
    free(regs);
    free(stmts);
    free(outs);
    free(made[0]);
    free(made[1]);
    return status;
}

const cli_cmd_t cli_attest = {"attest", "sign, register and keep the receipt of build artifacts (CI)", help, run};
