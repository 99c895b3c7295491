/** `AA:BB:…` upper-case, as Node reports fingerprint256 and `openssl x509 -fingerprint -sha256` prints it. */
export function normalizeFingerprint(text: string): string {
  const hex = text
    .replace(/^sha256:?/i, '')
    .replace(/:/g, '')
    .toUpperCase();
  return hex.match(/.{2}/g)?.join(':') ?? hex;
}
