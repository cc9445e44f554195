/**
 * A loopback-only web site for the URL-ingestion tests: pages by path, each request counted
 * and timed, each connection's early hang-up seen. It binds 127.0.0.1, and the tests that use
 * it allowlist only 127.0.0.0/8 on its port, so a broken guard can only reach this machine.
 */
import type http from 'node:http';
import { ARTICLE_HTML } from '../fixtures/documents.js';
import { httpServer, type Loopback } from '../web/loopback.js';

/** Answers one request; `n` counts the requests of this path so far (1 for the first). */
export type Page = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

export interface Site {
  origin: string;
  port: number;
  url(path: string): string;
  /** When each request of the path arrived (ms since epoch). */
  arrivals(path: string): number[];
  /** Requests of the path whose client hung up before the answer ended. */
  abandoned(path: string): number;
  /** The fetch config that reaches this site and nothing else inward. */
  fetchConfig: { allowPrivateRanges: string[]; allowedPorts: number[] };
  close(): Promise<void>;
}

export const CANONICAL_PATH = '/canonical/choosing-ovens';
/** The fixture article, with a canonical link: its title is "Choosing ovens". */
export const ARTICLE_PAGE = ARTICLE_HTML.replace('<head>', `<head><link rel="canonical" href="${CANONICAL_PATH}#top">`);

export const html = (body: string): Page => (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body);
};

export const typed = (contentType: string, body: string | Buffer): Page => (_req, res) => {
  res.writeHead(200, { 'content-type': contentType });
  res.end(body);
};

/** `status` for the first `times` requests, then `page`. */
export const failing = (status: number, times: number, page: Page): Page => (req, res, n) => {
  if (n > times) return page(req, res, n);
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(`failing on purpose (${n} of ${times})`);
};

/** Headers at once, then `body` a slice every `everyMs` (never ending when `slices` is Infinity). */
export const dripping = (body: string, everyMs: number, slices = 10): Page => (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  const size = Math.ceil(body.length / Math.min(slices, body.length));
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    if (sent >= body.length && Number.isFinite(slices)) {
      clearInterval(timer);
      return res.end();
    }
    res.write(sent < body.length ? body.slice(sent, sent + size) : ' ');
    sent += size;
  }, everyMs);
  res.on('close', () => clearInterval(timer));
};

export async function startSite(pages: Record<string, Page>): Promise<Site> {
  const arrivals = new Map<string, number[]>();
  const abandoned = new Map<string, number>();
  const server: Loopback = await httpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname;
    const seen = arrivals.get(path) ?? [];
    seen.push(Date.now());
    arrivals.set(path, seen);
    res.on('close', () => {
      if (!res.writableFinished) abandoned.set(path, (abandoned.get(path) ?? 0) + 1);
    });
    const page = pages[path];
    if (page) return page(req, res, seen.length);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no such page');
  });
  return {
    origin: server.origin,
    port: server.port,
    url: (path) => `${server.origin}${path}`,
    arrivals: (path) => arrivals.get(path) ?? [],
    abandoned: (path) => abandoned.get(path) ?? 0,
    fetchConfig: { allowPrivateRanges: ['127.0.0.0/8'], allowedPorts: [server.port] },
    close: () => server.close(),
  };
}
