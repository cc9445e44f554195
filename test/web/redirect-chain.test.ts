/**
 * S3 (reliability.md): every redirect hop is checked again, the scheme switch included, and
 * the chain is capped. Server A is allowlisted for these tests (127.0.0.1/32 and its own
 * port); the canaries are not (another port; another loopback address), and stay at 0 hits.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { buildConnector } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSafeFetcher, type SafeFetcher } from '../../activities/web/index.js';
import { fakeResolver, httpServer, rawServer, testConfig, type Loopback } from './loopback.js';
import { failureOf } from '../helpers/failures.js';

let a: Loopback;
let otherPort: Loopback;
let otherAddress: Loopback;
let fetcher: SafeFetcher;
const resolve = fakeResolver({ 'canary.test': [['127.0.0.2']], 'a.test': [['127.0.0.1']] });

beforeAll(async () => {
  otherPort = await rawServer('127.0.0.1');
  otherAddress = await rawServer('127.0.0.2');
  a = await httpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://a');
    const to = (location: string) => res.writeHead(302, { location }).end();
    const loop = /^\/loop\/(\d+)$/.exec(url.pathname);
    if (loop) return to(`/loop/${Number(loop[1]) + 1}`);
    if (url.pathname === '/to-other-port') return to(`http://127.0.0.1:${otherPort.port}/`);
    if (url.pathname === '/to-other-address') return to(`http://127.0.0.2:${otherAddress.port}/`);
    if (url.pathname === '/to-name') return to(`http://canary.test:${otherAddress.port}/`);
    if (url.pathname === '/to-https') return to(`https://127.0.0.2:${otherAddress.port}/`);
    if (url.pathname === '/to-https-name') return to(`https://canary.test:${otherAddress.port}/`);
    if (url.pathname === '/to-metadata') return to('http://[::ffff:a9fe:a9fe]/latest/meta-data/');
    if (url.pathname === '/to-file') return to('file:///etc/passwd');
    if (url.pathname === '/two') return to('/one');
    if (url.pathname === '/one') return to(`http://a.test:${a.port}/done`);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`at ${url.pathname}`);
  });
  const ports = [a.port, otherAddress.port].join(',');
  fetcher = createSafeFetcher(testConfig({ FETCH_ALLOW_PRIVATE_RANGES: '127.0.0.1/32', FETCH_ALLOWED_PORTS: ports }), { resolve });
});

afterAll(async () => {
  await fetcher.close();
  await Promise.all([a.close(), otherPort.close(), otherAddress.close()]);
});

const refusalOf = (path: string) => failureOf(fetcher.fetchPage(`${a.origin}${path}`));

describe('S3: redirects', () => {
  it('follows an allowed chain and reports each hop', async () => {
    const page = await fetcher.fetchPage(`${a.origin}/two`);
    expect(page.body.toString()).toBe('at /done');
    expect(page.finalUrl).toBe(`http://a.test:${a.port}/done`);
    expect(page.redirects).toEqual([`${a.origin}/one`, `http://a.test:${a.port}/done`]);
  });

  it.each([
    ['/to-other-port', 'UrlBlocked', /^redirect 1 to http:\/\/127\.0\.0\.1:\d+\/ refused: port \d+ is not allowed/],
    ['/to-other-address', 'UrlBlocked', /refused: the address 127\.0\.0\.2 is loopback: refused/],
    ['/to-name', 'UrlBlocked', /refused: the host canary\.test resolves to an address that is loopback: refused$/],
    ['/to-https', 'UrlBlocked', /redirect 1 to https:\/\/127\.0\.0\.2:\d+\/ refused: the address 127\.0\.0\.2 is loopback/],
    ['/to-https-name', 'UrlBlocked', /https:\/\/canary\.test:\d+\/ refused: the host canary\.test resolves to an address that is loopback/],
    ['/to-metadata', 'UrlBlocked', /cloud metadata endpoint/],
    ['/to-file', 'UrlInvalid', /redirect 1 to file:\/\/\/etc\/passwd refused: the scheme file: is not allowed/],
  ])('re-checks the hop %s, and the canaries see nothing', async (path, type, reason) => {
    const err = await refusalOf(path);
    expect([err.type, err.nonRetryable]).toEqual([type, true]);
    expect(err.message).toMatch(reason);
    expect(otherPort.hits()).toBe(0);
    expect(otherAddress.hits()).toBe(0);
  });

  it('stops a redirect loop after 5 hops', async () => {
    const before = a.hits();
    const err = await refusalOf('/loop/0');
    expect([err.type, err.nonRetryable]).toEqual(['FetchRejected', true]);
    expect(err.message).toMatch(/^more than 5 redirects, the last to http:\/\/127\.0\.0\.1:\d+\/loop\/6$/);
    expect(a.hits() - before).toBe(6);
  });
});

describe('S3: https → http goes through the same guard', () => {
  let tls: https.Server;
  let tlsPort: number;
  let tlsFetcher: SafeFetcher;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'casework-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
      '-days', '1', '-subj', '/CN=a.test', '-addext', 'subjectAltName=DNS:a.test'], { stdio: 'ignore' });
    const [key, cert] = [readFileSync(join(dir, 'k.pem')), readFileSync(join(dir, 'c.pem'))];
    tls = https.createServer({ key, cert }, (req, res) => {
      if (req.url === '/down') return res.writeHead(302, { location: `http://canary.test:${otherAddress.port}/` }).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('over tls');
    });
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    tlsPort = (tls.address() as net.AddressInfo).port;
    const config = testConfig({ FETCH_ALLOW_PRIVATE_RANGES: '127.0.0.1/32', FETCH_ALLOWED_PORTS: `${tlsPort},${otherAddress.port}` });
    // The only change from production: trust the test's own certificate.
    tlsFetcher = createSafeFetcher(config, { resolve, baseConnector: (o) => buildConnector({ ...o, ca: cert }) });
  });

  afterAll(async () => {
    await tlsFetcher.close();
    tls.close();
  });

  it('fetches over TLS by name, then refuses the downgrade to a canary', async () => {
    expect((await tlsFetcher.fetchPage(`https://a.test:${tlsPort}/`)).body.toString()).toBe('over tls');
    const err = await tlsFetcher.fetchPage(`https://a.test:${tlsPort}/down`).then(() => undefined, (e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe('UrlBlocked');
    expect((err as ApplicationFailure).message).toMatch(/^redirect 1 to http:\/\/canary\.test:\d+\/ refused: the host canary\.test resolves/);
    expect(otherAddress.hits()).toBe(0);
  });
});
