/**
 * S2 (reliability.md): the address is checked where the socket is opened, on every
 * connection, so a name that answers public first and inward later (DNS rebinding) is refused
 * the second time, and an `all: true` answer with one inward address is refused whole.
 */
import type { LookupAddress } from 'node:dns';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { checkedLookup, createSafeFetcher, parseAddressRanges } from '../../activities/web/index.js';
import { countingConnector, fakeResolver, httpServer, rawServer, testConfig } from './loopback.js';
import { failureOf } from '../helpers/failures.js';

describe('S2: DNS rebinding, with a fake connector', () => {
  const attempts: string[] = [];
  const resolve = fakeResolver({
    'rebind.test': [['93.184.216.34'], ['127.0.0.1']],
    'mixed4.test': [['93.184.216.34', '10.0.0.5']],
    'mixed6.test': [['2606:4700::1111', 'fd12::1']],
    'mapped.test': [['2606:4700::1111', '::ffff:169.254.169.254']],
  });
  const fetcher = createSafeFetcher(testConfig(), { resolve, baseConnector: countingConnector(attempts) });
  afterAll(() => fetcher.close());

  it('connects to the public answer, then refuses the loopback one', async () => {
    const first = await failureOf(fetcher.fetchPage('http://rebind.test/'));
    expect(first.type).toBe('FetchTransient');
    expect(attempts).toEqual(['93.184.216.34']);
    const second = await failureOf(fetcher.fetchPage('http://rebind.test/'));
    expect([second.type, second.nonRetryable]).toEqual(['UrlBlocked', true]);
    expect(second.message).toBe('the host rebind.test resolves to an address that is loopback: refused');
    expect(attempts).toEqual(['93.184.216.34']);
  });

  it.each([
    ['mixed4.test', /^the host mixed4\.test resolves to an address that is private: refused$/],
    ['mixed6.test', /^the host mixed6\.test resolves to an address that is unique local: refused$/],
    ['mapped.test', /^the host mapped\.test resolves to an address that is a cloud metadata endpoint: refused$/],
  ])('refuses %s, whose answers mix public and inward addresses', async (host, reason) => {
    const err = await failureOf(fetcher.fetchPage(`https://${host}/`));
    expect(err.type).toBe('UrlBlocked');
    expect(err.message).toMatch(reason);
    expect(attempts).toEqual(['93.184.216.34']);
  });

  it("tells the activity's log, for operators, which address was refused", async () => {
    const entries: LogEntry[] = [];
    const env = new MockActivityEnvironment({ activityType: 'fetchUrlDocument' }, { logger: new DefaultLogger('WARN', (e) => entries.push(e)) });
    const err = await failureOf(env.run(() => fetcher.fetchPage('https://mixed4.test/')));
    expect(err.message).not.toContain('10.0.0.5');
    expect(entries.filter((e) => e.message.startsWith('fetch ')).map((e) => [e.message, e.meta])).toEqual([
      ['fetch refused: a name resolves to a refused address', expect.objectContaining({ hostname: 'mixed4.test', address: '10.0.0.5', what: 'private' })],
    ]);
  });
});

describe('S2: the checked lookup keeps the contract net.connect expects', () => {
  const lookup = checkedLookup([], fakeResolver({ 'dual.test': [['2606:4700::1111', '93.184.216.34']] }));
  const call = (options: object) =>
    new Promise<[Error | null, unknown, unknown]>((done) => lookup('dual.test', options, (e, a, f) => done([e, a, f])));

  it('answers an array for { all: true } (Node 20) and one address otherwise', async () => {
    const [err, all] = await call({ all: true });
    expect(err).toBeNull();
    expect((all as LookupAddress[]).map((a) => a.address)).toEqual(['2606:4700::1111', '93.184.216.34']);
    expect((await call({})).slice(1)).toEqual(['2606:4700::1111', 6]);
    expect((await call({ family: 4 })).slice(1)).toEqual(['93.184.216.34', 4]);
    expect((await call({ all: true, family: 6 }))[1]).toEqual([{ address: '2606:4700::1111', family: 6 }]);
  });
});

describe('S2: the real socket path, loopback only', () => {
  it('connects to the checked address, and a rebound answer never reaches the canary', async () => {
    const page = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('hello');
    });
    // The same port on another loopback address: the same origin, so only the lookup differs.
    const canary = await rawServer('127.0.0.2', undefined, page.port);
    const fetcher = createSafeFetcher(
      testConfig({ FETCH_ALLOW_PRIVATE_RANGES: '127.0.0.1/32', FETCH_ALLOWED_PORTS: String(page.port) }),
      { resolve: fakeResolver({ 'rebind.test': [['127.0.0.1'], ['127.0.0.2']] }) },
    );
    try {
      const ok = await fetcher.fetchPage(`http://rebind.test:${page.port}/`);
      expect([ok.status, ok.body.toString()]).toEqual([200, 'hello']);
      const err = await failureOf(fetcher.fetchPage(`http://rebind.test:${page.port}/`));
      expect(err.message).toBe('the host rebind.test resolves to an address that is loopback: refused');
      expect(canary.hits()).toBe(0);
      expect(page.hits()).toBe(1);
    } finally {
      await fetcher.close();
      await Promise.all([page.close(), canary.close()]);
    }
  });

  it('refuses ranges the allowlist does not name', () => {
    expect(() => parseAddressRanges(['127.0.0.1/33'])).toThrow(/127\.0\.0\.1\/33/);
    expect(parseAddressRanges(['127.0.0.0/8', '::1']).length).toBe(2);
  });
});
