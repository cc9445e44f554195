/**
 * The happy path (an allowlisted loopback page fetched and extracted), the retry
 * classification of statuses and network errors, and cancellation through the activity's
 * AbortSignal. Loopback only.
 */
import { CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSafeFetcher, decodeText, extractPage, type SafeFetcher } from '../../activities/web/index.js';
import { httpServer, rawServer, testConfig, type Loopback } from './loopback.js';
import { failureOf } from '../helpers/failures.js';

const article = `<!doctype html><html><head>
  <title>Tidal energy in the Severn estuary</title>
  <link rel="canonical" href="/articles/42?ref=canonical">
</head><body>
  <header><nav><a href="/">Home</a> <a href="/about">About us</a> <a href="/shop">Shop the catalogue</a></nav></header>
  <main><article>
    <h1>Tidal energy in the Severn estuary</h1>
    <p>The Severn estuary has the second highest tidal range in the world, reaching fourteen metres at spring tides.
       Proposals for a barrage have come and gone for more than a century, each time stalled on cost and ecology.</p>
    <p>A lagoon design encloses a smaller area, which lowers the cost and the damage to the mudflats that wading birds
       depend on, while still producing predictable power twice a day, whatever the weather.</p>
    <p>Critics point to the price per megawatt hour, which remains higher than offshore wind, and to the silt.</p>
  </article></main>
  <footer>Copyright the Estuary Gazette. Cookie settings.</footer>
</body></html>`;

let server: Loopback;
let fetcher: SafeFetcher;
const userAgents: string[] = [];
const closedHangs: number[] = [];

beforeAll(async () => {
  server = await httpServer((req, res) => {
    userAgents.push(req.headers['user-agent'] ?? '');
    const status = /^\/status\/(\d+)$/.exec(req.url ?? '');
    if (status) {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (req.url === '/status/503') headers['retry-after'] = '7';
      if (req.url === '/status/429') headers['retry-after'] = '86400';
      return res.writeHead(Number(status[1]), headers).end('no');
    }
    if (req.url === '/reset') return req.socket.destroy();
    if (req.url === '/hang') return res.on('close', () => closedHangs.push(Date.now()));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(article);
  });
  fetcher = createSafeFetcher(testConfig({ FETCH_ALLOW_PRIVATE_RANGES: '127.0.0.0/8', FETCH_ALLOWED_PORTS: String(server.port) }));
});

afterAll(async () => {
  await fetcher.close();
  await server.close();
});

describe('fetchPage and extractPage', () => {
  it('fetches an allowlisted loopback page and extracts its title, main text and canonical URL', async () => {
    const page = await fetcher.fetchPage(`${server.origin}/news/tidal`);
    expect([page.status, page.contentType, page.charset, page.redirects]).toEqual([200, 'text/html', 'utf-8', []]);
    expect(page.finalUrl).toBe(`${server.origin}/news/tidal`);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(userAgents.at(-1)).toBe('casework/0.1.0 (+url-ingestion)');
    const extracted = extractPage(decodeText(page.body, page.charset), page.finalUrl);
    expect(extracted.title).toBe('Tidal energy in the Severn estuary');
    expect(extracted.canonicalUrl).toBe(`${server.origin}/articles/42?ref=canonical`);
    expect(extracted.text).toContain('second highest tidal range in the world');
    expect(extracted.text).toContain('\n\nA lagoon design');
    expect(extracted.text).not.toMatch(/About us|Shop the catalogue|Cookie settings/);
  });

  it.each([
    [503, 'FetchTransient', false, 7000],
    [500, 'FetchTransient', false, undefined],
    [408, 'FetchTransient', false, undefined],
    [429, 'FetchTransient', false, 300_000],
    [404, 'FetchRejected', true, undefined],
    [403, 'FetchRejected', true, undefined],
    [410, 'FetchRejected', true, undefined],
  ])('classifies status %i as %s', async (status, type, nonRetryable, delay) => {
    const err = await failureOf(fetcher.fetchPage(`${server.origin}/status/${status}`));
    expect([err.type, err.nonRetryable]).toEqual([type, nonRetryable]);
    expect(err.message).toMatch(new RegExp(`^the server answered ${status}( [A-Z][a-z]+)+ for http://127.0.0.1:\\d+/status/${status}$`));
    if (delay === undefined) expect(err.nextRetryDelay).toBeUndefined();
    else expect(err.nextRetryDelay).toBe(delay);
  });

  it('retries a reset connection and a refused one', async () => {
    const reset = await failureOf(fetcher.fetchPage(`${server.origin}/reset`));
    expect([reset.type, reset.nonRetryable]).toEqual(['FetchTransient', false]);
    const gone = await rawServer();
    await gone.close();
    const f = createSafeFetcher(testConfig({ FETCH_ALLOW_PRIVATE_RANGES: '127.0.0.1/32', FETCH_ALLOWED_PORTS: String(gone.port) }));
    const refused = await failureOf(f.fetchPage(`${gone.origin}/`));
    expect([refused.type, refused.nonRetryable]).toEqual(['FetchTransient', false]);
    expect(refused.message).toMatch(/ECONNREFUSED/);
    await f.close();
  });

  it("aborts the request when the activity's signal fires, and rethrows the cancellation itself", async () => {
    const controller = new AbortController();
    const cancelled = new CancelledFailure('activity cancelled');
    setTimeout(() => controller.abort(cancelled), 100);
    const err = await fetcher.fetchPage(`${server.origin}/hang`, { signal: controller.signal }).then(() => undefined, (e: unknown) => e);
    expect(err).toBe(cancelled);
    await expect.poll(() => closedHangs.length).toBe(1);
  });

  it('rethrows a signal that fired before the call', async () => {
    const controller = new AbortController();
    controller.abort(new CancelledFailure('already'));
    await expect(fetcher.fetchPage(`${server.origin}/`, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledFailure);
  });
});
