/**
 * The fetcher's failures, classified where they happen (DESIGN.md rule 4). Only network
 * trouble (a refused or reset connection, a timeout) and 408/425/429/5xx are retryable
 * (`FetchTransient`, honouring `Retry-After`). Everything else is final: a blocked or malformed
 * URL, another 4xx, a type or size we refuse, a bad encoding.
 *
 * The seed retried `fetch_url_and_ingest` on any failure ("always retryable"). That is narrowed
 * to network errors on purpose: a private address, a 404 or a 50 MB PDF gives the same answer
 * on every attempt, so a retry only delays the user's "failed" by 20 s and, for an SSRF probe,
 * knocks on the inward address three times instead of never.
 */
import { STATUS_CODES } from 'node:http';
import { ApplicationFailure } from '@temporalio/common';
import type { ErrorType } from '../../workflows/types.js';
import { activityLog } from '../errors.js';
import { retryAfterMs } from '../llm/errors.js';

export type FetchErrorType = Extract<
  ErrorType,
  'UrlBlocked' | 'UrlInvalid' | 'FetchTransient' | 'FetchRejected' | 'ContentTypeNotAllowed' | 'BodyTooLarge'
>;

export function fetchFailure(type: FetchErrorType, message: string, options: { nextRetryDelay?: number; cause?: Error } = {}) {
  return ApplicationFailure.create({ type, message, nonRetryable: type !== 'FetchTransient', ...options });
}

const TRANSIENT_STATUSES = new Set([408, 425, 429]);

/**
 * Network trouble, in words. The message a user reads says these words and the code, never the
 * error's own message: Node's and undici's name the address connected to ("connect ECONNREFUSED
 * 10.1.2.3:80", "attempted address: …"), which for a name is the worker's resolver's answer.
 */
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ECONNABORTED: 'the connection was aborted',
  ETIMEDOUT: 'the connection timed out',
  EPIPE: 'the connection was closed while sending',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENETDOWN: 'the network is down',
  EAI_AGAIN: 'the name did not resolve in time',
  UND_ERR_SOCKET: 'the connection failed',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'the body stalled',
  UND_ERR_CLOSED: 'the connection was closed',
};

/** Certificate problems: the server is who it is, and a retry will not change its certificate. */
const TLS_CODE = /^(CERT_|ERR_TLS_CERT|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_SSL_)/;

/** A non-2xx, non-redirect answer as a failure; 5xx and 408/425/429 are retried. */
export function statusFailure(status: number, url: string, headers: Record<string, string>): ApplicationFailure {
  const message = `the server answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd() + ` for ${url}`;
  if (status >= 500 || TRANSIENT_STATUSES.has(status)) {
    const asked = Object.entries(headers).filter(([name]) => name === 'retry-after' || name === 'retry-after-ms');
    return fetchFailure('FetchTransient', message, { nextRetryDelay: retryAfterMs(new Headers(asked)) });
  }
  return fetchFailure('FetchRejected', message);
}

/** Raised by our own timers; the fetcher turns it into a `FetchTransient`. */
export class FetchTimeout extends Error {
  override name = 'FetchTimeout';
}

function chainOf(err: unknown): Error[] {
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 8; e = e.cause) {
    chain.push(e);
    if (e instanceof AggregateError) chain.push(...e.errors.filter((x): x is Error => x instanceof Error));
  }
  return chain;
}

/** What an error thrown while fetching `url` means; an `ApplicationFailure` is already decided. */
export function classifyFetchError(err: unknown, url: string): ApplicationFailure {
  const chain = chainOf(err);
  const decided = chain.find((e): e is ApplicationFailure => e instanceof ApplicationFailure);
  if (decided) return decided;
  const timeout = chain.find((e) => e instanceof FetchTimeout);
  if (timeout) return fetchFailure('FetchTransient', timeout.message);
  const host = hostOf(url);
  logFetchError(url, chain);
  for (const e of chain) {
    const code = String((e as { code?: unknown }).code ?? '');
    if (code === 'ENOTFOUND') return fetchFailure('FetchRejected', `the host ${host} does not resolve (ENOTFOUND)`);
    const words = NETWORK_CODES[code];
    if (words) return fetchFailure('FetchTransient', `fetching ${url} failed: ${words} (${code})`);
    if (TLS_CODE.test(code)) return fetchFailure('FetchRejected', `the TLS certificate of ${host} was refused (${code})`);
    if (code.startsWith('HPE_')) return fetchFailure('FetchRejected', `the answer from ${host} is not valid HTTP (${code})`);
    if (/^(Z_|ERR__|ERR_BROTLI)/.test(code)) {
      return fetchFailure('FetchRejected', `the body from ${host} does not decode (${code})`);
    }
  }
  // Unknown: Temporal's default (retryable); the retry policy bounds the attempts. Its message
  // may name anything (an address too): the user reads its name, the log has the rest.
  const first = chain[0];
  return fetchFailure('FetchTransient', `fetching ${url} failed: ${first ? first.name : typeof err}`);
}

/** The whole error, addresses included, for operators (the activity's log). */
function logFetchError(url: string, chain: Error[]): void {
  const errors = chain.map((e) => ({ name: e.name, message: e.message, code: (e as { code?: unknown }).code }));
  activityLog()?.warn('fetch failed', { url, errors });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
