import { isIP } from 'node:net';

/**
 * Whether `address` (an IPv4 or IPv6 literal) is one a receiver on the public internet cannot
 * have: loopback, private, link-local, carrier-grade NAT, unspecified, multicast or reserved. Webhooks
 * go to such addresses only with WEBHOOK_ALLOW_PRIVATE, so the service cannot be aimed at its own network.
 */
export function isPrivateAddress(address: string): boolean {
  const kind = isIP(address);
  if (kind === 4) return privateV4(address.split('.').map(Number));
  if (kind !== 6) return true;
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return privateV4(mapped[1].split('.').map(Number));
  if (lower === '::' || lower === '::1') return true;
  const first = parseInt(lower.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast ff00::/8
    lower.startsWith('64:ff9b:') || // NAT64, may reach IPv4 private space
    lower.startsWith('2001:db8:') // documentation
  );
}

function privateV4([a, b]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

/**
 * Why `url` cannot receive webhooks, or null: it must be http(s) without credentials, and (unless
 * private addresses are allowed) not name a private address or `localhost` outright. Names are
 * checked again where they are resolved, at each delivery.
 */
export function receiverProblem(url: string, allowPrivate: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be http or https';
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry credentials';
  if (allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && isPrivateAddress(host))) {
    return 'is a private address (set WEBHOOK_ALLOW_PRIVATE=true to allow such receivers)';
  }
  return null;
}
