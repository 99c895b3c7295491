/** The commented starter file `dnsfence init` writes. Every key is documented in docs/configuration.md. */
export function starterConfig(profile: string | undefined): string {
  const profileBlock = profile
    ? `# The ${profile} profile adds its lists (see: dnsfence profile show ${profile}).
profiles: [${profile}]
`
    : `# profiles: [intra2net]   # adds the vendor's lists (see: dnsfence profile show intra2net)
`;
  const lists = profile
    ? `lists:
  # A list with a profile list's name extends it. *.avcloud.intra2net.com is a wildcard DNS cannot
  # enumerate: add the subdomains your appliance's DNS log shows, or configure forward: (above)
  # and the watch learns them from the appliance's DNS traffic.
  i2n_avcloud:
    names: []
`
    : `lists:
  partner_api:                       # ^[A-Za-z][A-Za-z0-9_]{0,27}$
    names: [api.partner.example]     # brace ranges expand: "{0..3}.pool.partner.example"
    static: []                       # always present, e.g. [198.51.100.7, "2001:db8:10::/64"]
    # retention: 7d
    # families: [ipv4]
`;
  return `# dnsfence configuration. Reference: docs/configuration.md
# Check it with: dnsfence check

# SQLite file with every answer and the audit log; relative to this file.
database: dnsfence.db

# Resolvers to ask; default: the nameserver lines of /etc/resolv.conf. Prefer the resolver the
# firewall's clients use, so rotating names give the same answers to both.
# resolvers: [192.0.2.53, "tcp://192.0.2.53:53", "https://doh.example/dns-query"]
resolve: { timeout: 2s, attempts: 2, concurrency: 32, families: [ipv4, ipv6] }

retention: 24h      # an address stays listed this long after it was last seen
stale_limit: 7d     # while a name's lookups FAIL, its addresses are kept this long
safety: { max_remove: 0.5, allow_private: false, max_addresses_per_name: 64 }

${profileBlock}
# dnsfence watch as the DNS forwarder clients ask: it learns the names of wildcard lists
# ("*.avcloud.intra2net.com") from the answers, and puts new addresses on nftables, ipset and file
# targets before the answer reaches the client (docs/forwarding.md).
# forward:
#   listen: ["127.0.0.1:53"]         # UDP and TCP; port 53 needs CAP_NET_BIND_SERVICE
#   clients: [127.0.0.0/8, "::1/128"]
#   hold: 200ms

${lists}
targets:
  local:
    type: nftables                   # sets <list>_v4 / <list>_v6 in table inet dnsfence
    family: inet
    table: dnsfence
    nft: nft                         # or a command list: [ssh, fw1, sudo, nft]
  # export:
  #   type: file                     # <dir>/<list>.txt, one address a line
  #   dir: /var/lib/dnsfence/lists
`;
}
