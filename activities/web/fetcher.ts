/**
 * The fetcher the URL-ingestion activity uses: `createSafeFetcher(config.fetch).fetchPage(url,
 * { signal })`. One undici Agent with the guarded connector (connector.ts); redirects are
 * followed by hand, each hop checked again (scheme, credentials, port, literal address) before
 * it is requested and at connect time; header, total and size caps; allowed types only.
 * It never reads proxy variables from the environment (undici's own Agent ignores them), so no
 * proxy can connect to an address the guard did not see.
 */
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import type { FetchConfig } from '../../workers/config.js';
import { parseAddressRanges, type AddressRange } from './address-policy.js';
import { acceptMediaType, decodersFor, readCapped, sniffCharset } from './body.js';
import { createGuardedConnector, type BaseConnectorFactory, type Resolver } from './connector.js';
import { classifyFetchError, fetchFailure, FetchTimeout, statusFailure } from './errors.js';
import { checkUrl, shownUrl } from './url-policy.js';

export type { FetchConfig };

export interface FetchedPage {
  /** After redirects. */
  finalUrl: string;
  status: number;
  /** The media type, lowercased, without parameters. */
  contentType: string;
  /** For text types: the header's charset, or the page's own (BOM, `<meta charset>`), or utf-8. */
  charset?: string;
  /** Decoded from its Content-Encoding, not from its charset (see `decodeText`). */
  body: Buffer;
  /** Lowercased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Every URL a redirect led to, in order; the last is `finalUrl`. */
  redirects: string[];
}

export interface FetchOptions {
  /** The activity's cancellation signal: aborts the request, and its reason is rethrown as is. */
  signal?: AbortSignal;
  /** Called with the decoded bytes read so far, so a long download can heartbeat. */
  onProgress?: (bytes: number) => void;
}

export interface SafeFetcher {
  fetchPage(url: string, options?: FetchOptions): Promise<FetchedPage>;
  close(): Promise<void>;
}

export interface FetcherDeps {
  /** Name resolution (default: the operating system's). Tests answer names with loopback addresses. */
  resolve?: Resolver;
  /** Opens sockets once the guard passes (default: undici's connector). Tests count attempts instead. */
  baseConnector?: BaseConnectorFactory;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** Builds a fetcher; `close()` it when done (it owns a connection pool). */
export function createSafeFetcher(config: FetchConfig, deps: FetcherDeps = {}): SafeFetcher {
  const allow: AddressRange[] = parseAddressRanges(config.allowPrivateRanges);
  const policy = { allowedPorts: config.allowedPorts, allow };
  const agent = new Agent({
    connect: createGuardedConnector(allow, { ...deps, connectTimeoutMs: config.headersTimeoutMs }),
    // Backstops behind our own timers (which give the readable reasons).
    headersTimeout: config.headersTimeoutMs + 1000,
    bodyTimeout: config.headersTimeoutMs,
  });
  const requestHeaders = {
    'user-agent': config.userAgent,
    accept: config.allowedContentTypes.join(', '),
    'accept-encoding': 'gzip, deflate, br',
  };

  /** One request; fails with a readable timeout when no headers arrive in time. */
  async function request(url: URL, signal: AbortSignal) {
    const hop = new AbortController();
    const timer = setTimeout(
      () => hop.abort(new FetchTimeout(`no response headers from ${url.host} within ${config.headersTimeoutMs} ms`)),
      config.headersTimeoutMs,
    );
    try {
      return await agent.request({
        origin: url.origin, path: `${url.pathname}${url.search}`, method: 'GET', headers: requestHeaders,
        signal: AbortSignal.any([signal, hop.signal]),
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async function follow(input: string, signal: AbortSignal, onProgress?: (bytes: number) => void): Promise<FetchedPage> {
    let url = checkUrl(input, policy);
    const redirects: string[] = [];
    for (;;) {
      let res;
      try {
        res = await request(url, signal);
      } catch (err) {
        throw redirects.length === 0 ? err : hopRefusal(redirects.length, url, classifyFetchError(err, url.href));
      }
      const headers = flatHeaders(res.headers);
      if (REDIRECTS.has(res.statusCode) && headers.location !== undefined) {
        discard(res.body);
        const next = resolveLocation(headers.location, url);
        if (!next) throw fetchFailure('FetchRejected', `${url.href} redirects to an invalid URL`);
        if (redirects.length >= config.maxRedirects) {
          throw fetchFailure('FetchRejected', `more than ${config.maxRedirects} redirects, the last to ${shownUrl(next)}`);
        }
        try {
          url = checkUrl(next.href, policy);
        } catch (err) {
          throw hopRefusal(redirects.length + 1, next, classifyFetchError(err, next.href));
        }
        redirects.push(url.href);
        continue;
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        discard(res.body);
        throw statusFailure(res.statusCode, url.href, headers);
      }
      return read(url, res.statusCode, headers, res.body, redirects, onProgress);
    }
  }

  async function read(
    url: URL, status: number, headers: Record<string, string>, body: Readable, redirects: string[],
    onProgress?: (bytes: number) => void,
  ): Promise<FetchedPage> {
    try {
      const media = acceptMediaType(headers['content-type'], config.allowedContentTypes);
      const decoders = decodersFor(headers['content-encoding']);
      const declared = Number(headers['content-length'] ?? 0);
      if (decoders.length === 0 && declared > config.maxBytes) {
        throw fetchFailure('BodyTooLarge', `the body declares ${declared} bytes, more than ${config.maxBytes}: refused`);
      }
      const bytes = await readCapped(body, decoders, config.maxBytes, onProgress);
      const isText = media.contentType.startsWith('text/') || media.contentType.endsWith('+xml');
      const charset = media.charset ?? (isText ? sniffCharset(bytes, media.contentType) : undefined);
      return { finalUrl: url.href, status, contentType: media.contentType, charset, body: bytes, headers, redirects };
    } finally {
      if (!body.readableEnded) discard(body);
    }
  }

  return {
    async fetchPage(url, options = {}) {
      const { signal, onProgress } = options;
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(new FetchTimeout(`the fetch did not finish within ${config.totalTimeoutMs} ms`)),
        config.totalTimeoutMs,
      );
      try {
        signal?.throwIfAborted();
        return await follow(url, signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal, onProgress);
      } catch (err) {
        // The activity's own cancellation goes back untouched: Temporal reports the activity
        // cancelled only when its CancelledFailure (the signal's reason) comes back.
        if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : err;
        throw classifyFetchError(deadline.signal.aborted ? deadline.signal.reason : err, url);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => agent.close(),
  };
}

/** Hangs up on a body we will not read; undici reports that as an error nobody needs. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

function resolveLocation(location: string, base: URL): URL | undefined {
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/** A refusal of a redirect hop, saying which hop it was: "redirect 2 to http://… refused: …". */
function hopRefusal(hop: number, url: URL, failure: ReturnType<typeof classifyFetchError>) {
  if (failure.type !== 'UrlBlocked' && failure.type !== 'UrlInvalid') return failure;
  return fetchFailure(failure.type, `redirect ${hop} to ${shownUrl(url)} refused: ${failure.message}`);
}
