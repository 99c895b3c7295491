#!/bin/sh
# Runs before `npm test` (package.json "pretest"). The tests drive real tools; a missing one should
# cost one line saying what to install, not a test run failing far from the cause. As root with
# apt-get (Debian, and CI through .ci/run), the missing packages are installed; otherwise each
# missing tool is named with its Debian package, and npm test stops here.
set -eu

# One line per tool: the command, its Debian package, what the tests need it for.
TOOLS='
nft       nftables    the nftables target, in private network namespaces
ip        iproute2    those namespaces (ip netns)
ipset     ipset       the ipset target, in those namespaces
iptables  iptables    loading the rules printed for the ipset target
unshare   util-linux  private mount namespaces for the storage faults
sqlite3   sqlite3     editing a database behind the audit log, as an adversary would
openssl   openssl     self-signed certificates for the HTTPS fakes
chromium  chromium    the HTML report, checked in a real browser
knotd     knot        a signing authoritative server behind a validating resolver (DNSSEC)
unbound   unbound     a validating resolver and a DNS-over-TLS server
curl      curl        polling the feeds of serve as a firewall polls them
'

# nft, ip, ipset, iptables, knotd and unbound live in /usr/sbin, which is not on an ordinary user's PATH.
PATH="$PATH:/usr/sbin:/sbin"

missing() {
  printf '%s\n' "$TOOLS" | while read -r tool package why; do
    if [ -n "$tool" ] && ! command -v "$tool" >/dev/null 2>&1; then
      printf '%s %s %s\n' "$tool" "$package" "$why"
    fi
  done
}

todo=$(missing)
[ -z "$todo" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  packages=$(printf '%s\n' "$todo" | while read -r _ package _; do printf ' %s' "$package"; done)
  echo "test prerequisites: apt-get install$packages"
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  todo=$(missing)
  [ -z "$todo" ] && exit 0
fi

printf '%s\n' "$todo" | while read -r tool package why; do
  echo "npm test needs $tool ($why): install the package $package (Debian: apt-get install $package)" >&2
done
exit 1
