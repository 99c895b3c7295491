import { familyOf, sortAddresses, type Family } from '../address.js';
import { sha256Hex } from '../sha256.js';

/**
 * A feed list is published as three files: every address (`<list>.txt`), and one family each
 * (`<list>.v4.txt`, `<list>.v6.txt`), for firewalls that keep IPv4 and IPv6 objects apart.
 */
export const FEED_FILES: readonly { suffix: string; family?: Family }[] = [
  { suffix: '.txt' },
  { suffix: '.v4.txt', family: 'ipv4' },
  { suffix: '.v6.txt', family: 'ipv6' },
];

/**
 * The text a list is published as: one address a line, IPv4 then IPv6, each family sorted, hosts
 * bare and prefixes in CIDR (as dnsfence normalises them), every line ending in a newline. An
 * empty list is an empty text.
 */
export function feedText(addresses: Iterable<string>): string {
  return sortAddresses(addresses)
    .map((a) => `${a}\n`)
    .join('');
}

/** One file of a published list: its name in the URL and its exact body. */
export interface FeedFile {
  file: string;
  body: string;
  /** A strong ETag: a hash of the exact body, quoted as HTTP wants it. */
  etag: string;
  addresses: number;
}

/** The lines of one family, in the order they have in the whole list. */
function familyText(text: string, family: Family): string {
  return text
    .split('\n')
    .filter((line) => line !== '' && familyOf(line) === family)
    .map((line) => `${line}\n`)
    .join('');
}

export const etagOf = (body: string): string => `"${sha256Hex(body).slice(0, 32)}"`;

/** The three files of a list published under `name`, from the text `feedText` made. */
export function feedFiles(name: string, text: string): FeedFile[] {
  return FEED_FILES.map(({ suffix, family }) => {
    const body = family ? familyText(text, family) : text;
    return {
      file: `${name}${suffix}`,
      body,
      etag: etagOf(body),
      addresses: body === '' ? 0 : body.split('\n').length - 1,
    };
  });
}
