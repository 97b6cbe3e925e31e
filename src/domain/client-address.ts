import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a client address is counted under by the per-address throttles (logins, the reset page).
 * One IPv6 host gets a whole /64 from its provider (SLAAC, cloud VMs), so counting each address
 * alone let one client spray from 2^64 of them: an IPv6 address counts as its /64. An IPv4-mapped
 * address (`::ffff:203.0.113.9`, what a dual-stack socket reports) counts as the IPv4 address.
 * Anything else (`unknown`) is its own key.
 */
export function throttleKey(address: string): string {
  const plain = address.split('%')[0]!;
  if (isIPv4(plain) || !isIPv6(plain)) return address;
  const groups = ipv6Groups(plain.toLowerCase());
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (mapped) return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 as two groups). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [front, back] = [parse(head), parse(tail ?? '')];
  const middle = tail === undefined ? [] : new Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...middle, ...back];
}
