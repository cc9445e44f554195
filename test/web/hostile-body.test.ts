/**
 * S4 (reliability.md): hostile bodies from loopback servers. The cap counts decoded bytes as
 * they stream, so a compression bomb stops at the cap with little memory; slow servers stop at
 * the header and total timeouts (short ones here); a deep Content-Encoding chain is refused.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSafeFetcher, type SafeFetcher } from '../../activities/web/index.js';
import { httpServer, rawServer, testConfig, type Loopback } from './loopback.js';
import { failureOf } from '../helpers/failures.js';

const MiB = 1024 * 1024;
/** 1 GiB of zeros: 64 gzip members of 16 MiB each (~1 MB), and that gzipped again (~10 KB). */
const member = gzipSync(Buffer.alloc(16 * MiB));
const bomb1 = Buffer.concat(Array.from({ length: 64 }, () => member));
const bomb2 = gzipSync(bomb1, { level: 9 });
const nested = (depth: number, data: Buffer) => Array.from({ length: depth }).reduce<Buffer>((b) => gzipSync(b), data);

const loopback = (port: number) => ({ FETCH_ALLOW_PRIVATE_RANGES: '127.0.0.1/32', FETCH_ALLOWED_PORTS: String(port) });

let server: Loopback;
let fetcher: SafeFetcher;
const closed: string[] = [];

beforeAll(async () => {
  server = await httpServer((req, res) => {
    res.on('close', () => closed.push(req.url ?? ''));
    const text = { 'content-type': 'text/plain' };
    if (req.url === '/endless') {
      res.writeHead(200, text);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      return pump();
    }
    if (req.url === '/declared') return res.writeHead(200, { ...text, 'content-length': String(2 * MiB) }).end();
    if (req.url === '/bomb1') return res.writeHead(200, { ...text, 'content-encoding': 'gzip' }).end(bomb1);
    if (req.url === '/bomb2') return res.writeHead(200, { ...text, 'content-encoding': 'gzip, gzip' }).end(bomb2);
    if (req.url === '/five') return res.writeHead(200, { ...text, 'content-encoding': 'gzip,gzip, gzip ,gzip,gzip' }).end(nested(5, Buffer.from('five deep')));
    if (req.url === '/six') return res.writeHead(200, { ...text, 'content-encoding': Array(6).fill('gzip').join(', ') }).end(nested(6, Buffer.from('six')));
    if (req.url === '/zstd') return res.writeHead(200, { ...text, 'content-encoding': 'zstd' }).end('x');
    if (req.url === '/trickle') {
      res.writeHead(200, text);
      const timer = setInterval(() => res.write('.'), 100);
      return res.on('close', () => clearInterval(timer));
    }
    res.writeHead(404).end();
  });
  // Default timeouts here: a test of the caps must not fail on a slow machine's timeout.
  fetcher = createSafeFetcher(testConfig({ ...loopback(server.port), FETCH_MAX_BYTES: String(MiB) }));
});

afterAll(async () => {
  await fetcher.close();
  await server.close();
});

describe('S4: hostile bodies', () => {
  it('stops an endless body at the cap and hangs up', async () => {
    const err = await failureOf(fetcher.fetchPage(`${server.origin}/endless`));
    expect([err.type, err.nonRetryable]).toEqual(['BodyTooLarge', true]);
    expect(err.message).toBe('the body is larger than 1048576 bytes: refused');
    await expect.poll(() => closed.includes('/endless')).toBe(true);
  });

  it('refuses a declared length over the cap before reading', async () => {
    const err = await failureOf(fetcher.fetchPage(`${server.origin}/declared`));
    expect([err.type, err.message]).toEqual(['BodyTooLarge', 'the body declares 2097152 bytes, more than 1048576: refused']);
  });

  it.each([
    ['/bomb1', bomb1],
    ['/bomb2', bomb2],
  ])('stops the gzip bomb %s (1 GiB decoded) at the default 5 MiB cap with little memory', async (path, sent) => {
    const big = createSafeFetcher(testConfig(loopback(server.port)));
    expect(sent.length).toBeLessThan(path === '/bomb2' ? 20_000 : 1_100_000);
    const rss = process.memoryUsage().rss;
    const err = await failureOf(big.fetchPage(`${server.origin}${path}`));
    expect(err.type).toBe('BodyTooLarge');
    expect(err.message).toBe(`the body is larger than ${5 * MiB} bytes: refused`);
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * MiB);
    await big.close();
  });

  it('decodes a 5-deep chain and refuses a 6-deep one', async () => {
    expect((await fetcher.fetchPage(`${server.origin}/five`)).body.toString()).toBe('five deep');
    const err = await failureOf(fetcher.fetchPage(`${server.origin}/six`));
    expect([err.type, err.nonRetryable]).toEqual(['FetchRejected', true]);
    expect(err.message).toBe('the body has 6 content encodings, more than 5: refused');
    const zstd = await failureOf(fetcher.fetchPage(`${server.origin}/zstd`));
    expect(zstd.message).toBe('the content encoding zstd is not supported');
  });

  it('stops a 1 byte/s slowloris at the header timeout', async () => {
    const slow = await rawServer('127.0.0.1', (socket) => {
      const bytes = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n');
      let i = 0;
      const timer = setInterval(() => (i < bytes.length ? socket.write(bytes.subarray(i, ++i)) : socket.end()), 1000);
      socket.write(bytes.subarray(0, ++i));
      socket.on('close', () => clearInterval(timer));
    });
    const f = createSafeFetcher(testConfig({ ...loopback(slow.port), FETCH_HEADERS_TIMEOUT_MS: '300' }));
    const started = Date.now();
    const err = await failureOf(f.fetchPage(`${slow.origin}/`));
    expect([err.type, err.nonRetryable]).toEqual(['FetchTransient', false]);
    expect(err.message).toBe(`no response headers from 127.0.0.1:${slow.port} within 300 ms`);
    expect(Date.now() - started).toBeLessThan(1500);
    await f.close();
    await slow.close();
  });

  it('stops a trickling body at the total timeout', async () => {
    // A byte every 100 ms: never silent for the 2 s idle bound, so only the total timeout can stop it.
    const f = createSafeFetcher(testConfig({ ...loopback(server.port), FETCH_HEADERS_TIMEOUT_MS: '2000', FETCH_TOTAL_TIMEOUT_MS: '1000' }));
    const started = Date.now();
    const err = await failureOf(f.fetchPage(`${server.origin}/trickle`));
    expect([err.type, err.nonRetryable]).toEqual(['FetchTransient', false]);
    expect(err.message).toBe('the fetch did not finish within 1000 ms');
    expect(Date.now() - started).toBeLessThan(2000);
    await f.close();
    await expect.poll(() => closed.includes('/trickle')).toBe(true);
  });
});
