import { readFileSync } from 'node:fs';

/** OPNsense's AliasNameField: 1-31 characters, a letter (or one underscore) first. */
const ALIAS_NAME = /^([a-zA-Z]|(([_a-zA-Z][a-zA-Z0-9]|[a-zA-Z][_a-zA-Z0-9])[_a-zA-Z0-9]{0,29}))$/;

/** pfctl keywords OPNsense refuses as alias names (opnsense/core AliasNameField.php). */
const PF_KEYWORDS = new Set(
  (
    'all allow-opts altq anchor antispoof any bandwidth binat binat-anchor bitmask block block-policy buckets cbq code ' +
    'codelq crop debug divert-reply divert-to drop drop-ovl dup-to fail-policy fairq fastroute file fingerprints flags ' +
    'floating flush for fragment from global group hfsc hogs hostid icmp-type icmp6-type if-bound in include inet inet6 ' +
    'interval keep label limit linkshare load log loginterface max max-mss max-src-conn max-src-conn-rate max-src-nodes ' +
    'max-src-states min-ttl modulate nat nat-anchor no no-df no-route no-sync on optimization os out overload pass port ' +
    'prio priority priq probability proto qlimit queue quick random random-id rdr rdr-anchor realtime reassemble reply-to ' +
    'require-order return return-icmp return-icmp6 return-rst round-robin route route-to rtable rule ruleset-optimization ' +
    'scrub set set-tos skip sloppy source-hash source-track state state-defaults state-policy static-port sticky-address ' +
    'synproxy table tag tagged target tbrsize timeout to tos ttl upperlimit urpf-failed user'
  ).split(' '),
);

/**
 * OPNsense also refuses any name getservbyname()/getprotobyname() knows. Its own /etc/services is
 * FreeBSD's; this host's lists and a core of well-known names stand in for it.
 */
const WELL_KNOWN =
  'http https ntp ssh domain smtp ftp telnet imap imaps pop3 pop3s snmp syslog tftp ldap ldaps bgp ' +
  'isakmp ipsec-nat-t submission kerberos nfs sip rdp mysql postgresql ip icmp tcp udp gre esp ah ipv6 ipv6-icmp sctp carp pfsync ospf';

let reserved: Set<string> | undefined;

function reservedNames(): Set<string> {
  if (reserved) return reserved;
  reserved = new Set(WELL_KNOWN.split(' '));
  for (const file of ['/etc/services', '/etc/protocols']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const words = line.replace(/#.*/, '').trim().split(/\s+/);
      if (words.length < 2 || words[0] === '') continue;
      reserved.add(words[0] as string);
      for (const alias of words.slice(2)) reserved.add(alias);
    }
  }
  return reserved;
}

/** Why OPNsense would refuse this alias name, or undefined when it is acceptable. */
export function aliasNameProblem(name: string): string | undefined {
  if (PF_KEYWORDS.has(name)) return `"${name}" is a reserved pf keyword`;
  if (!ALIAS_NAME.test(name)) return `"${name}" must be 1-31 letters, digits or _, starting with a letter`;
  if (reservedNames().has(name)) return `"${name}" is a service or protocol name`;
  return undefined;
}
