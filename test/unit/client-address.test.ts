import { describe, expect, it } from 'vitest';
import { throttleKey } from '../../src/domain/client-address.js';

describe('throttleKey', () => {
  it('keeps an IPv4 address and anything that is no address', () => {
    expect(throttleKey('203.0.113.9')).toBe('203.0.113.9');
    expect(throttleKey('unknown')).toBe('unknown');
    expect(throttleKey('')).toBe('');
  });

  it('counts an IPv6 address as its /64, however it is spelled', () => {
    const key = '2001:db8:1:2::/64';
    for (const address of [
      '2001:db8:1:2::1',
      '2001:0DB8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:db8:1:2:0:0:0:0',
      '2001:db8:1:2::1%eth0',
      '2001:db8:1:2::1.2.3.4',
    ])
      expect(throttleKey(address), address).toBe(key);
    expect(throttleKey('2001:db8:1:3::1')).not.toBe(key);
    expect(throttleKey('::1')).toBe('0:0:0:0::/64');
    expect(throttleKey('::')).toBe('0:0:0:0::/64');
  });

  it('counts an IPv4-mapped address as the IPv4 address', () => {
    expect(throttleKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(throttleKey('::FFFF:cb00:7109')).toBe('203.0.113.9');
    expect(throttleKey('0:0:0:0:0:ffff:127.0.0.1')).toBe('127.0.0.1');
  });
});
