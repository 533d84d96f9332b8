#!/bin/sh
# examples/ci/verify.sh: the deploy gate (docs/CI.md). Each FILE must come
# with FILE.scitt (made by attest.sh), whose receipt must verify under the
# service's keys and whose signed digest must be FILE's: a file swapped
# after the build fails here with exit status 3.
#
# usage: verify.sh FILE...
# environment:
#   SCITT_KEYS         the service URL, or a saved key set file (offline:
#                      curl .../.well-known/scitt-keys once and pin it)
#   SCITT_EXPECT_ISS   optional: the issuer the statements must name
#   SCITT_EXPECT_SUB_PREFIX  optional: the subject must start with this
#                      (e.g. https://github.com/acme/app@)
#   SCITT              the scitt program (default: scitt on PATH)
# exit status: scitt verify's (0 ok, 1 receipt, 3 artifact, 4 iss/sub) for
# the first FILE that fails.
set -eu
: "${SCITT_KEYS:?set SCITT_KEYS to the service URL or a saved key set}"
[ $# -gt 0 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
for f in "$@"; do
  "${SCITT:-scitt}" verify --keys "$SCITT_KEYS" --artifact "$f" \
    ${SCITT_EXPECT_ISS:+--iss "$SCITT_EXPECT_ISS"} \
    ${SCITT_EXPECT_SUB_PREFIX:+--sub-prefix "$SCITT_EXPECT_SUB_PREFIX"} "$f.scitt" || exit $?
done
