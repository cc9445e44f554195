/**
 * What a URL (the submitted one, and every redirect) must be before it is requested: http or
 * https, no credentials, an allowed port, and, for a literal address, an allowed address.
 * WHATWG URL parsing runs first, so `2130706433`, `017700000001`, `0x7f000001` and `127.1` all
 * arrive here as `127.0.0.1`, and `[::ffff:127.0.0.1]` as `[::ffff:7f00:1]`: the checks see the
 * address the socket would use. Names are checked when they resolve, at connect time.
 */
import { isIP } from 'node:net';
import { addressRefusal, describeAddressRefusal, type AddressRange } from './address-policy.js';
import { fetchFailure } from './errors.js';

export interface UrlPolicy {
  allowedPorts: readonly number[];
  allow: readonly AddressRange[];
}

/** Longer URLs are refused rather than carried into logs and histories. */
export const MAX_URL_CHARS = 8192;

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** The URL as a client may see it: never its credentials, never more than 200 characters. */
export function shownUrl(url: URL | string): string {
  let text = String(url);
  if (url instanceof URL && (url.username || url.password)) {
    const copy = new URL(url.href);
    copy.username = '';
    copy.password = '';
    text = copy.href;
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** The parsed URL when it may be requested; a non-retryable `UrlInvalid` or `UrlBlocked` otherwise. */
export function checkUrl(input: string, policy: UrlPolicy): URL {
  if (input.length > MAX_URL_CHARS) throw fetchFailure('UrlInvalid', `the URL is longer than ${MAX_URL_CHARS} characters`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw fetchFailure('UrlInvalid', `"${input.slice(0, 200)}" is not a valid URL`);
  }
  const port = DEFAULT_PORTS[url.protocol];
  if (port === undefined) throw fetchFailure('UrlInvalid', `the scheme ${url.protocol} is not allowed (only http: and https:)`);
  if (url.username || url.password) throw fetchFailure('UrlInvalid', 'credentials in the URL (user:password@) are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) {
    const refusal = addressRefusal(host, policy.allow);
    if (refusal) throw fetchFailure('UrlBlocked', describeAddressRefusal(refusal));
  }
  const effectivePort = url.port === '' ? port : Number(url.port);
  if (!policy.allowedPorts.includes(effectivePort)) {
    throw fetchFailure('UrlBlocked', `port ${effectivePort} is not allowed (allowed: ${policy.allowedPorts.join(', ')})`);
  }
  return url;
}
