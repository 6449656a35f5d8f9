// The client's address, for audit rows. Behind a load balancer the socket's peer is the balancer
// and the client's address is in `x-forwarded-for` or `forwarded`, headers any client can also
// send. So they are read only when the peer is a proxy the operator trusts (TRUSTED_PROXIES), and
// from the right: each trusted proxy appends the address it received the request from, so the
// right-most address that is not a trusted proxy is the first one no trusted party vouches for,
// i.e. the client. Anything to its left was written by the client and is ignored.
import { BlockList, isIP } from 'node:net';

export const FORWARDED_HEADERS = ['x-forwarded-for', 'forwarded'] as const;
export type ForwardedHeader = (typeof FORWARDED_HEADERS)[number];

export type ProxyTrust = {
  readonly proxies: BlockList;
  /** The one header the proxies write; the other is ignored (a client could send it through them untouched). */
  readonly header: ForwardedHeader;
};

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** A valid IP address in its usual form (IPv4-mapped IPv6 as IPv4), or null. */
export function normalizeAddress(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const address = raw.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address)?.[1];
  if (mapped && isIP(mapped) === 4) return mapped;
  return isIP(address) ? address : null;
}

/**
 * Parses TRUSTED_PROXIES: addresses and CIDR ranges, IPv4 or IPv6, separated by commas or spaces
 * (`10.0.0.0/8, 192.168.1.5, fd00::/8`). Null when empty (no proxy is trusted); throws on a
 * malformed entry, so a typo fails at start rather than silently trusting nobody.
 */
export function proxyTrust(spec: string | undefined, header: string | undefined = 'x-forwarded-for'): ProxyTrust | null {
  const entries = (spec ?? '').split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) return null;
  const name = header.trim().toLowerCase();
  if (!(FORWARDED_HEADERS as readonly string[]).includes(name))
    throw new Error(`TRUSTED_PROXY_HEADER must be ${FORWARDED_HEADERS.join(' or ')}, not "${header}"`);
  const proxies = new BlockList();
  for (const entry of entries) {
    const [ip, prefix, ...rest] = entry.split('/');
    const address = normalizeAddress(ip);
    const bits = prefix === undefined ? undefined : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    const max = address && familyOf(address) === 'ipv6' ? 128 : 32;
    if (!address || rest.length > 0 || (bits !== undefined && !(bits <= max)))
      throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR range`);
    if (bits === undefined) proxies.addAddress(address, familyOf(address));
    else proxies.addSubnet(address, bits, familyOf(address));
  }
  return { proxies, header: name as ForwardedHeader };
}

/** One `x-forwarded-for` element: an address, maybe with a port (`1.2.3.4:80`, `[::1]:80`). */
function fromXForwardedFor(element: string): string | null {
  const e = element.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(e)?.[1];
  if (bracketed) return normalizeAddress(bracketed);
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(e)?.[1];
  return normalizeAddress(withPort ?? e);
}

/** One RFC 7239 `forwarded` element's `for=` node; null for `unknown`, obfuscated ids or garbage. */
function fromForwarded(element: string): string | null {
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
    const value = pair
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    return fromXForwardedFor(value);
  }
  return null;
}

/**
 * The address to record for a request: the socket's peer, unless the peer is a trusted proxy; then
 * the right-most address of the forwarded chain that is not a trusted proxy. An element that is not
 * an address (`unknown`, an obfuscated id, garbage) stops the walk at the nearest trusted hop, the
 * last address anyone trusted reported; if every hop is trusted, the left-most.
 */
export function clientAddress(
  peer: string | null | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  trust: ProxyTrust | null,
): string | null {
  const peerAddress = normalizeAddress(peer);
  const trusted = (a: string): boolean => trust!.proxies.check(a, familyOf(a));
  if (!peerAddress || !trust || !trusted(peerAddress)) return peerAddress;
  const raw = headers[trust.header];
  const value = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  const parse = trust.header === 'forwarded' ? fromForwarded : fromXForwardedFor;
  const chain = value.split(',').filter((e) => e.trim() !== '');
  let nearest = peerAddress;
  for (let i = chain.length - 1; i >= 0; i--) {
    const address = parse(chain[i]!);
    if (address === null) return nearest;
    if (!trusted(address)) return address;
    nearest = address;
  }
  return nearest;
}
