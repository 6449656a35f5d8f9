import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, normalizeAddress, proxyTrust } from './client-address.ts';

const LB = '10.0.0.5';
const trust = proxyTrust('10.0.0.0/24, 192.168.1.7 fd00::/8');

test('no trusted proxies configured: the socket address, whatever the headers say', () => {
  assert.equal(proxyTrust(''), null);
  assert.equal(proxyTrust(undefined), null);
  assert.equal(clientAddress('198.51.100.4', { 'x-forwarded-for': '203.0.113.1' }, null), '198.51.100.4');
  assert.equal(clientAddress(LB, { 'x-forwarded-for': '203.0.113.1', forwarded: 'for=203.0.113.2' }, null), LB);
  assert.equal(clientAddress(undefined, {}, null), null);
});

test('a spoofed header from a peer that is not a trusted proxy is ignored', () => {
  assert.equal(clientAddress('198.51.100.4', { 'x-forwarded-for': '203.0.113.1, 10.0.0.9' }, trust), '198.51.100.4');
  assert.equal(clientAddress('10.0.1.5', { 'x-forwarded-for': '203.0.113.1' }, trust), '10.0.1.5', 'just outside 10.0.0.0/24');
});

test('from a trusted proxy: the right-most address that is not a trusted proxy', () => {
  assert.equal(clientAddress(LB, { 'x-forwarded-for': '198.51.100.4' }, trust), '198.51.100.4');
  // The client wrote the left part itself; the balancer appended the address it saw.
  assert.equal(clientAddress(LB, { 'x-forwarded-for': '203.0.113.66, 198.51.100.4' }, trust), '198.51.100.4');
  // A chain of trusted proxies (CDN edge 192.168.1.7, then the balancer) in front of the client.
  assert.equal(clientAddress(LB, { 'x-forwarded-for': '203.0.113.66, 198.51.100.4, 192.168.1.7' }, trust), '198.51.100.4');
  assert.equal(clientAddress(LB, { 'x-forwarded-for': ['203.0.113.66, 198.51.100.4', '10.0.0.77'] }, trust), '198.51.100.4');
  // Every hop trusted: the left-most. No header at all: the proxy itself.
  assert.equal(clientAddress(LB, { 'x-forwarded-for': '10.0.0.8, 192.168.1.7' }, trust), '10.0.0.8');
  assert.equal(clientAddress(LB, {}, trust), LB);
  // Ports some balancers append are dropped.
  assert.equal(clientAddress(LB, { 'x-forwarded-for': '198.51.100.4:51234' }, trust), '198.51.100.4');
});

test('garbage or "unknown" in the chain stops at the nearest trusted hop; nothing else is recorded', () => {
  assert.equal(clientAddress(LB, { 'x-forwarded-for': "198.51.100.4, '; DROP TABLE audit_event" }, trust), LB);
  assert.equal(clientAddress(LB, { 'x-forwarded-for': 'unknown, 192.168.1.7' }, trust), '192.168.1.7');
  assert.equal(clientAddress(LB, { 'x-forwarded-for': 'x'.repeat(5000) }, trust), LB);
});

test('IPv6 and IPv4-mapped addresses', () => {
  assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeAddress('::FFFF:10.0.0.5'), '10.0.0.5');
  assert.equal(normalizeAddress('2001:DB8::1'), '2001:db8::1');
  assert.equal(normalizeAddress('not an ip'), null);
  // The balancer reached over a dual-stack socket (IPv4-mapped) is still the trusted 10.0.0.5.
  assert.equal(clientAddress('::ffff:10.0.0.5', { 'x-forwarded-for': '2001:db8::7' }, trust), '2001:db8::7');
  assert.equal(clientAddress('fd00::1', { 'x-forwarded-for': '2001:db8::7, fd12::9' }, trust), '2001:db8::7');
  assert.equal(clientAddress('fd00::1', { 'x-forwarded-for': '[2001:db8::7]:443' }, trust), '2001:db8::7');
  assert.equal(clientAddress(LB, { 'x-forwarded-for': '::ffff:198.51.100.4' }, trust), '198.51.100.4');
  // An IPv6 peer outside fd00::/8 is not trusted.
  assert.equal(clientAddress('2001:db8::99', { 'x-forwarded-for': '198.51.100.4' }, trust), '2001:db8::99');
});

test('RFC 7239 forwarded, when that is the header the proxies write (the other one is then ignored)', () => {
  const std = proxyTrust('10.0.0.0/24', 'forwarded');
  const headers = {
    forwarded: 'for=203.0.113.66, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.5, For=10.0.0.9',
    'x-forwarded-for': '203.0.113.1',
  };
  assert.equal(clientAddress(LB, headers, std), '2001:db8:cafe::17');
  assert.equal(clientAddress(LB, { forwarded: 'for=unknown' }, std), LB);
  assert.equal(clientAddress(LB, { forwarded: 'for=_hidden;proto=https' }, std), LB);
  assert.equal(clientAddress(LB, { forwarded: 'for="198.51.100.4:8080"' }, std), '198.51.100.4');
  // Proxies that write x-forwarded-for: a client-sent `forwarded` passed through them is not read.
  assert.equal(clientAddress(LB, { forwarded: 'for=203.0.113.66', 'x-forwarded-for': '198.51.100.4' }, trust), '198.51.100.4');
  assert.equal(clientAddress(LB, { forwarded: 'for=203.0.113.66' }, trust), LB);
});

test('TRUSTED_PROXIES entries are checked at start', () => {
  for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0/8', 'example.com', '10.0.0.0/', '10.0.0.0/8/1', '10.0.0.0/-1'])
    assert.throws(() => proxyTrust(bad), /TRUSTED_PROXIES: ".*" is not an IP address or CIDR range/, bad);
  assert.throws(() => proxyTrust('10.0.0.1', 'x-real-ip'), /TRUSTED_PROXY_HEADER/);
  const loopback = proxyTrust('127.0.0.1 ::1');
  assert.equal(clientAddress('::1', { 'x-forwarded-for': '198.51.100.4' }, loopback), '198.51.100.4');
  assert.equal(clientAddress('::ffff:127.0.0.1', { 'x-forwarded-for': '198.51.100.4' }, loopback), '198.51.100.4');
});
