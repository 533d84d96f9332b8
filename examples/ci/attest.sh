#!/bin/sh
# examples/ci/attest.sh: the build step of a pipeline (docs/CI.md). For each
# FILE it signs a hash envelope over SHA-256(FILE), registers it with the
# transparency service, waits for the receipt and writes FILE.scitt beside
# FILE: keep FILE.scitt with FILE as a build artifact.
#
# usage: attest.sh FILE...
# environment:
#   SCITT_URL          the transparency service, e.g. https://scitt.example (required)
#   SCITT_SIGNING_KEY  the pipeline's private key as PEM text (a CI secret; it
#                      never touches the disk: scitt reads it with --key-env)
#   SCITT_ISS, SCITT_SUB  the issuer and subject; default: from the CI's own
#                      variables (GitHub Actions, GitLab CI, Jenkins; docs/CI.md)
#   SCITT              the scitt program (default: scitt on PATH)
# exit status: scitt attest's (0 ok, 5 rejected, 6 unavailable, 7 timed out).
set -eu
: "${SCITT_URL:?set SCITT_URL to the transparency service}"
: "${SCITT_SIGNING_KEY:?set SCITT_SIGNING_KEY to the signing key (PEM)}"
[ $# -gt 0 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
exec "${SCITT:-scitt}" attest --url "$SCITT_URL" --key-env SCITT_SIGNING_KEY \
  ${SCITT_ISS:+--iss "$SCITT_ISS"} ${SCITT_SUB:+--sub "$SCITT_SUB"} "$@"
