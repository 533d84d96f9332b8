/*
 * main.c: `scitt CMD ...`, one tool with a file per subcommand (like git or
 * mdb_* rolled into one). Each subcommand parses its own options with
 * getopt_long and returns an exit code (cli.h).
 */
#include <signal.h>
#include <stdlib.h>

#include "cli.h"
#include "scitt_version.h"

static const cli_cmd_t *const cmds[] = {&cli_keygen, &cli_sign,    &cli_register, &cli_verify,
                                        &cli_get,    &cli_inspect, &cli_mirror,   &cli_monitor,
                                        &cli_audit,  &cli_attest,  &cli_witness};

static void overview(FILE *f)
{
    fputs("usage: scitt CMD [OPTIONS] [ARGS]\n\n"
          "A client for SCITT transparency services (SCRAPI-11) such as scittd.\n\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < scitt_countof(cmds); i++) {
        fprintf(f, "  %-9s %s\n", cmds[i]->name, cmds[i]->summary);
    }
    fputs("  help      show this, or `scitt help CMD` for one command\n"
          "  --version print the version (git describe of the build)\n\n"
          "https:// URLs (register, get, verify --keys, mirror, monitor, audit, attest):\n"
          "HTTP/2 over TLS 1.2/1.3, the server's certificate checked against the system\n"
          "CAs and the URL's host; errors say why (unknown CA, name mismatch, expired).\n"
          "Options:\n"
          "  --cacert FILE  trust the PEM CA certificates in FILE instead of the system's\n"
          "  --cert FILE    present this PEM client certificate chain (scittd --client-ca)\n"
          "  --key FILE     the PEM private key of --cert\n\n"
          "exit codes: 0 success, 1 failure, 2 usage error (attest, verify, mirror and\n"
          "monitor have more: `scitt help CMD`)\n",
          f);
}

static const cli_cmd_t *find(const char *name)
{
    for (size_t i = 0; i < scitt_countof(cmds); i++) {
        if (strcmp(cmds[i]->name, name) == 0) {
            return cmds[i];
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a server that goes away gives EPIPE (libuv uses write(2)) */
    if (argc < 2) {
        overview(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc < 3) {
            overview(stdout);
            return CLI_OK;
        }
        const cli_cmd_t *cmd = find(argv[2]);
        if (cmd == NULL) {
            cli_err("no command %s", argv[2]);
            overview(stderr);
            return CLI_USAGE;
        }
        fputs(cmd->help, stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("scitt %s\n", SCITT_VERSION);
        return CLI_OK;
    }
    const cli_cmd_t *cmd = find(name);
    if (cmd == NULL) {
        cli_err("no command %s", name);
        overview(stderr);
        return CLI_USAGE;
    }
    /* Subcommands see argv[0] = their name, as getopt expects. */
    return cmd->run(argc - 1, argv + 1);
}
