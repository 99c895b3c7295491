/**
 * Built-in vendor profiles. A profile contributes lists to the
 * configuration and documents the ports those lists are for, so `rules` and `profile show`
 * can print what a firewall rule needs.
 */
export interface PortSpec {
  protocol: 'tcp' | 'udp' | 'icmp';
  /** `443`, `5000-5050`, or `echo-request` for ICMP. */
  ports: string;
}

export interface ProfileList {
  name: string;
  names: string[];
  /** `*.zone` entries, taken when `forward` is configured (learned from DNS traffic); else `note` says what to do. */
  wildcards?: string[];
  ports: PortSpec[];
  purpose: string;
  retention?: string;
  /** Shown by `check` and `profile show` when the list needs the admin's input. */
  note?: string;
}

export interface ProfileService {
  direction: 'outbound' | 'inbound';
  target: string;
  ports: PortSpec[];
  purpose: string;
}

export interface Profile {
  name: string;
  title: string;
  source: string;
  lists: ProfileList[];
  /** Connections the vendor names that no DNS-fed list can express. */
  services: ProfileService[];
}

const tcp = (ports: string): PortSpec => ({ protocol: 'tcp', ports });
const udp = (ports: string): PortSpec => ({ protocol: 'udp', ports });

export const PROFILES: readonly Profile[] = [
  {
    name: 'intra2net',
    title: 'Intra2net appliance behind a firewall',
    source: 'Intra2net manual, section 17.4 "Betrieb hinter einer Firewall"',
    lists: [
      {
        name: 'i2n_https',
        names: ['update.intra2net.com', 'avupdate.intra2net.com', 'avfpc.intra2net.com'],
        ports: [tcp('443')],
        purpose: 'system and antispam updates, licences, antivirus data, false-positive cloud',
      },
      {
        name: 'i2n_avcloud',
        names: [],
        wildcards: ['*.avcloud.intra2net.com'],
        ports: [tcp('443')],
        purpose: 'antivirus cloud look-ups (*.avcloud.intra2net.com)',
        note:
          '*.avcloud.intra2net.com is a wildcard: DNS cannot enumerate it. Add the subdomains your ' +
          'appliance uses (its DNS log shows them) to lists.i2n_avcloud.names, or configure forward: and point ' +
          'the appliance at dnsfence watch, which learns them from its DNS traffic (docs/forwarding.md).',
      },
      {
        name: 'i2n_ntp',
        names: ['{0..3}.intra2net.pool.ntp.org'],
        ports: [udp('123')],
        purpose:
          'time sync; pool answers rotate (4 per answer, TTL 150 s), hence 7d retention; only 2. answers AAAA. ' +
          'The manual says TCP and UDP 123; NTP uses UDP only',
        retention: '7d',
      },
      {
        name: 'i2n_support',
        names: ['support.intra2net.com'],
        ports: [tcp('5000-5050')],
        purpose: 'vendor remote maintenance',
      },
    ],
    services: [
      {
        direction: 'outbound',
        target: 'your DNS server',
        ports: [tcp('53'), udp('53')],
        purpose: 'name resolution',
      },
      {
        direction: 'outbound',
        target: 'several Razor servers',
        ports: [tcp('2703')],
        purpose: 'Razor spam detection',
      },
      {
        direction: 'outbound',
        target: 'several servers',
        ports: [{ protocol: 'icmp', ports: 'echo-request' }],
        purpose: 'connection monitoring (ping)',
      },
      {
        direction: 'inbound',
        target: 'the appliance',
        ports: [tcp('443')],
        purpose: 'web groupware, ActiveSync, remote maintenance',
      },
      {
        direction: 'inbound',
        target: 'the appliance',
        ports: [tcp('80')],
        purpose: "Let's Encrypt certificates",
      },
      { direction: 'inbound', target: 'the appliance', ports: [tcp('25')], purpose: 'incoming SMTP mail' },
      { direction: 'inbound', target: 'the appliance', ports: [tcp('587')], purpose: 'mail submission' },
      {
        direction: 'inbound',
        target: 'the appliance',
        ports: [tcp('993')],
        purpose: 'IMAPS mail and groupware',
      },
      {
        direction: 'inbound',
        target: 'the appliance',
        ports: [udp('500'), udp('4500')],
        purpose: 'incoming VPN',
      },
    ],
  },
];

export function findProfile(name: string): Profile | undefined {
  return PROFILES.find((p) => p.name === name);
}

export function formatPorts(ports: PortSpec[]): string {
  return ports.map((p) => `${p.protocol.toUpperCase()} ${p.ports}`).join(', ');
}
