/**
 * S1 (reliability.md): every address form that must not be reached is refused before any
 * connection is attempted. The base connector opens no socket; it counts what would have
 * been connected to, and the count stays 0.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { createGuardedConnector, createSafeFetcher, type AddressRange } from '../../activities/web/index.js';
import { countingConnector, fakeResolver, testConfig } from './loopback.js';

const attempts: string[] = [];
const resolve = fakeResolver({
  'metadata.google.internal': [['169.254.169.254']],
  'public.test': [['93.184.216.34']],
  'private.test': [['10.1.2.3']],
  'wireserver.test': [['168.63.129.16']],
});
const fetcher = createSafeFetcher(testConfig(), { resolve, baseConnector: countingConnector(attempts) });
afterAll(() => fetcher.close());

async function refusal(url: string): Promise<ApplicationFailure> {
  const err = await fetcher.fetchPage(url).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const addresses: Array<[string, RegExp]> = [
  ['http://127.1/', /^the address 127\.0\.0\.1 is loopback: refused$/],
  ['http://2130706433/', /127\.0\.0\.1 is loopback/],
  ['http://017700000001/', /127\.0\.0\.1 is loopback/],
  ['http://0x7f000001/', /127\.0\.0\.1 is loopback/],
  ['http://0177.0.0.1:80/', /127\.0\.0\.1 is loopback/],
  ['http://0.1.2.3/', /0\.1\.2\.3 is unspecified/],
  ['http://0.0.0.0/', /unspecified/],
  ['http://[::]/', /:: is unspecified/],
  ['http://[::1]/', /::1 is loopback/],
  ['http://[::ffff:127.0.0.1]/', /::ffff:7f00:1 \(IPv4 127\.0\.0\.1\) is loopback/],
  ['http://[::ffff:a9fe:a9fe]/', /\(IPv4 169\.254\.169\.254\) is a cloud metadata endpoint/],
  ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a cloud metadata endpoint/],
  ['http://169.254.1.1/', /is link-local/],
  ['http://10.0.0.1/', /^the address 10\.0\.0\.1 is private: refused$/],
  ['http://172.16.0.1/', /is private/],
  ['http://172.31.255.254/', /is private/],
  ['http://192.168.1.1/', /is private/],
  ['http://100.64.0.1/', /is carrier-grade NAT/],
  ['http://100.100.100.200/', /cloud metadata/],
  ['http://[fc00::1]/', /is unique local/],
  ['http://[fd00:ec2::254]/', /cloud metadata/],
  ['http://168.63.129.16/', /^the address 168\.63\.129\.16 is a cloud metadata endpoint: refused$/],
  ['http://[::ffff:a83f:8110]/', /\(IPv4 168\.63\.129\.16\) is a cloud metadata endpoint/],
  ['http://169.254.170.23/', /cloud metadata/],
  ['http://[fd00:ec2::23]/', /cloud metadata/],
  ['http://[fd20:ce::254]/', /cloud metadata/],
  ['http://169.254.0.23/', /cloud metadata/],
  ['http://[fe80::1]/', /is link-local/],
  ['http://224.0.0.1/', /is multicast/],
  ['http://[ff02::1]/', /is multicast/],
  ['http://240.0.0.1/', /is reserved/],
  ['http://255.255.255.255/', /is broadcast/],
  ['http://[64:ff9b::7f00:1]/', /is not a public unicast address/],
  ['http://[::7f00:1]/', /is not a public unicast address/],
  ['http://[2002:7f00:1::]/', /is not a public unicast address/],
];

describe('S1: the address table', () => {
  it.each(addresses)('%s is refused before any connection', async (url, reason) => {
    const err = await refusal(url);
    expect(err.type).toBe('UrlBlocked');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(reason);
    expect(attempts).toEqual([]);
  });

  it.each([
    ['http://localhost/', /^the host localhost resolves to an address that is loopback: refused$/],
    ['http://LOCALHOST./', /^the host localhost\. resolves to an address that is loopback/],
    ['http://app.localhost/', /resolves to an address that is loopback/],
    ['http://metadata.google.internal/computeMetadata/v1/', /^the host metadata\.google\.internal resolves to an address that is a cloud metadata endpoint: refused$/],
    ['https://private.test/', /^the host private\.test resolves to an address that is private: refused$/],
    ['https://wireserver.test/', /resolves to an address that is a cloud metadata endpoint/],
  ])('%s is refused when its name resolves inward, and the message names no address', async (url, reason) => {
    const err = await refusal(url);
    expect([err.type, err.nonRetryable]).toEqual(['UrlBlocked', true]);
    expect(err.message).toMatch(reason);
    // The user gave a name: what it resolves to inside the worker's network is not theirs to learn.
    expect(err.message).not.toMatch(/\d+\.\d+\.\d+\.\d+|::/);
    expect(attempts).toEqual([]);
  });

  it('refuses a metadata endpoint even inside an allowlisted range', async () => {
    const wide = createSafeFetcher(testConfig({ FETCH_ALLOW_PRIVATE_RANGES: '0.0.0.0/0,::/0' }), { resolve, baseConnector: countingConnector(attempts) });
    try {
      for (const url of ['http://168.63.129.16/', 'http://169.254.169.254/', 'http://[fd00:ec2::254]/', 'http://wireserver.test/']) {
        const err = await wide.fetchPage(url).then(() => undefined, (e: unknown) => e as ApplicationFailure);
        expect([err?.type, err?.message], url).toEqual(['UrlBlocked', expect.stringMatching(/cloud metadata endpoint: refused$/)]);
      }
      expect(attempts).toEqual([]);
    } finally {
      await wide.close();
    }
  });

  it.each([
    ['file:///etc/passwd', /^the scheme file: is not allowed/],
    ['gopher://public.test:70/_x', /scheme gopher: is not allowed/],
    ['data:text/html,<b>hi</b>', /scheme data: is not allowed/],
    ['ftp://public.test/', /scheme ftp: is not allowed/],
    ['javascript:alert(1)', /scheme javascript: is not allowed/],
    ['http://user:secret@public.test/', /credentials .* are not allowed/],
    ['http://user@public.test/', /credentials .* are not allowed/],
    ['not a url', /is not a valid URL/],
    ['http://', /is not a valid URL/],
  ])('%s is malformed or not allowed', async (url, reason) => {
    const err = await refusal(url);
    expect([err.type, err.nonRetryable]).toEqual(['UrlInvalid', true]);
    expect(err.message).toMatch(reason);
    expect(err.message).not.toContain('secret');
  });

  it.each([
    ['http://public.test:8080/', /port 8080 is not allowed \(allowed: 80, 443\)/],
    ['https://public.test:22/', /port 22 is not allowed/],
    ['http://public.test:6379/', /port 6379 is not allowed/],
  ])('%s uses a port that is not allowed', async (url, reason) => {
    const err = await refusal(url);
    expect([err.type, err.nonRetryable]).toEqual(['UrlBlocked', true]);
    expect(err.message).toMatch(reason);
  });

  it('names nothing it refuses to the resolver, and counts a public address (the counter works)', async () => {
    expect(resolve.calls.filter((h) => h === 'public.test')).toEqual([]);
    const err = await refusal('http://public.test/');
    expect([err.type, err.nonRetryable]).toEqual(['FetchTransient', false]);
    expect(attempts.splice(0)).toEqual(['93.184.216.34']);
    // A network error names the URL and the error's code, never the address the name resolved to.
    expect(err.message).toBe('fetching http://public.test/ failed: the connection was refused (ECONNREFUSED)');
  });
});

describe('S1: the connector checks literal addresses itself (they skip lookup)', () => {
  const allow: AddressRange[] = [];
  const connectorAttempts: string[] = [];
  const connect = createGuardedConnector(allow, { resolve, baseConnector: countingConnector(connectorAttempts), connectTimeoutMs: 1000 });

  it.each(['10.0.0.1', '127.0.0.1', '::ffff:a9fe:a9fe', '[::1]', '0.0.0.0', '169.254.169.254'])('%s', async (hostname) => {
    const err = await new Promise<Error | null>((done) => connect({ hostname, protocol: 'https:', port: '443' }, (e: Error | null, _s: unknown) => done(e)));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('UrlBlocked');
    expect(connectorAttempts).toEqual([]);
  });
});
