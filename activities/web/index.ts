/**
 * The safe fetcher and page extraction (issue 13, reliability A2 and S1-S5). The URL-ingestion
 * activity builds one fetcher from `config.fetch`, calls `fetchPage(url, { signal })` with the
 * activity's cancellation signal, then `extractPage(decodeText(body, charset), finalUrl)` for
 * HTML (the one extractor, ../parse/html.ts, which uploaded documents use too). Every failure
 * is an `ApplicationFailure` of a `Fetch*`/`Url*` type, classified here.
 */
export { createSafeFetcher, type FetchConfig, type FetchedPage, type FetchOptions, type FetcherDeps, type SafeFetcher } from './fetcher.js';
export { extractPage, type ExtractedPage } from '../parse/html.js';
export { decodeText } from './body.js';
export { addressRefusal, parseAddressRanges, type AddressRange, type AddressRefusal } from './address-policy.js';
export { checkedLookup, createGuardedConnector, systemResolver, type BaseConnectorFactory, type Resolver } from './connector.js';
export { checkUrl, shownUrl } from './url-policy.js';
export type { FetchErrorType } from './errors.js';
