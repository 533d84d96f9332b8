#!/usr/bin/env bash
# The Debian package (issue 20): builds the .deb from debian/ with
# dpkg-buildpackage in a copy of the source (outside git, so the version is
# the project's), installs it with dpkg -i, runs the installed `scittd
# --help`, `scittd --version` and `scitt --version`, checks the man pages and
# the systemd unit are in place, then removes it (dpkg -P: purged, so the
# machine keeps no configuration), also on failure.
#
# It installs into the machine, so it runs only where asked: as root with
# SCITT_PACKAGE_TEST=1 (tools/test sets it in the release row; CI is a
# throwaway machine). Otherwise, or with scittd already installed, it skips
# (exit 77). Needs dpkg-dev and debhelper (tools/bootstrap).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
skip() { echo "skipped: $*"; exit 77; }
[ "${SCITT_PACKAGE_TEST:-}" = 1 ] || skip "set SCITT_PACKAGE_TEST=1 (installs a package into this machine)"
[ "$(id -u)" = 0 ] || skip "not root"
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || skip "dpkg-dev or debhelper missing"
if dpkg-query -W -f='${Status}' scittd 2>/dev/null | grep -q 'install ok installed'; then
  skip "a scittd package is already installed here"
fi

tmp=$(mktemp -d)
installed=0
cleanup() {
  [ $installed = 1 ] && dpkg -P scittd >/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# The files git knows (committed or not), without build folders.
mkdir "$tmp/scittd"
git -C "$src" ls-files -co --exclude-standard -z | tar -C "$src" --null -T - -cf - | tar -C "$tmp/scittd" -xf -
( cd "$tmp/scittd" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1 ) ||
  { tail -40 "$tmp/build.log"; echo "FAIL: dpkg-buildpackage"; exit 1; }
deb=$(ls "$tmp"/scittd_*.deb)
echo "ok: built $(basename "$deb")"

dpkg -i "$deb" >/dev/null
installed=1
echo "ok: dpkg -i"
fail=0
check() { # what, command...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
check "installed scittd --help" sh -c '/usr/bin/scittd --help | grep -q -- "--issuer-keys"'
check "installed scittd --version" sh -c '/usr/bin/scittd --version | grep -q "^scittd 0.1.0$"'
check "installed scitt --version" sh -c '/usr/bin/scitt --version | grep -q "^scitt 0.1.0$"'
check "installed scitt attest is there" sh -c '/usr/bin/scitt help attest | grep -q -- "--out-suffix"'
check "man pages" test -f /usr/share/man/man8/scittd.8.gz -a -f /usr/share/man/man1/scitt.1.gz
check "systemd unit" grep -q '^ExecStart=/usr/bin/scittd --config /etc/scittd/scittd.conf$' /lib/systemd/system/scittd.service
check "configuration and issuer-keys folder" test -f /etc/scittd/scittd.conf -a -d /etc/scittd/issuer-keys
dpkg -P scittd >/dev/null
installed=0
check "dpkg -P removes the programs and the configuration" test ! -e /usr/bin/scittd -a ! -e /usr/bin/scitt -a ! -e /etc/scittd/scittd.conf
exit $fail
