/*
 * inspect.c: `scitt inspect`: CBOR diagnostic notation of a statement,
 * receipt, transparent statement, key set or problem details, with the
 * COSE/SCITT labels named (the printer is scitt_cose_diag in src/cose).
 */
#include "cli.h"

static const char help[] = "usage: scitt inspect FILE\n\n"
                           "Prints FILE (\"-\" is stdin), one CBOR item, in CBOR diagnostic notation with\n"
                           "COSE and SCITT names as comments: the COSE_Sign1 parts; header labels 1 alg,\n"
                           "2 crit, 3 content type, 4 kid, 15 CWT claims (iss, sub, iat...), 16 typ,\n"
                           "33 x5chain, 34 x5t, 258 payload hash alg, 259 preimage content type,\n"
                           "260 payload location, 394 receipts, 395 vds, 396 proofs; algorithm names;\n"
                           "COSE_Key parameters. CBOR nested in byte strings (protected headers,\n"
                           "receipts, inclusion proofs) is shown as << ... >>; long byte strings are\n"
                           "shortened. The statement's EntryID is printed when FILE is a COSE_Sign1.\n";

static int run(int argc, char **argv)
{
    if (argc != 2) {
        return cli_usage("inspect", "one FILE is required");
    }
    int status = CLI_FAIL;
    scitt_buf_t data, text;
    scitt_buf_init(&data, NULL, 0);
    scitt_buf_init(&text, NULL, 0);
    if (cli_read_file(argv[1], &data) != 0) {
        goto done;
    }
    const char *why = NULL;
    int rc = scitt_cose_diag(&text, data.base, data.len, &why);
    if (rc != 0) {
        cli_err("%s: not one well-formed CBOR item: %s", argv[1], why != NULL ? why : scitt_strerror(rc));
        goto done;
    }
    fwrite(text.base, 1, text.len, stdout);
    char id[65];
    if (cli_entry_id(id, scitt_buf_span(&data), NULL) == 0) {
        printf("/ EntryID (SHA-256 of the normalised statement): %s /\n", id);
    }
    status = CLI_OK;
done:
    scitt_buf_cleanup(&data);
    scitt_buf_cleanup(&text);
    return status;
}

const cli_cmd_t cli_inspect = {"inspect", "pretty-print COSE/CBOR with SCITT labels named", help, run};
