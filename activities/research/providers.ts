/**
 * Where a research run searches: providers behind one interface. The case corpus through
 * retrieval (chunks of completed documents and evidence; the default, offline; never signals,
 * which are claims, not sources; never the case's own research evidence, nor an inquiry's
 * document: the case's own conclusions are no source of themselves) and a
 * SearXNG-compatible JSON API (`RESEARCH_SEARCH_URL`). The search API has its own small
 * client: an operator's search service may sit on a private address, which the page fetcher
 * rightly refuses. The result pages themselves go through the hardened fetcher and the one
 * extractor (`pageDocument`), like any URL a user gives.
 */
import { log } from '@temporalio/activity';
import { and, eq, inArray, ne } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { chunks, documents, evidence } from '../db/schema/index.js';
import type { ResearchSourceKind } from '../db/schema/research.js';
import type { Embedder, LlmCall } from '../llm/types.js';
import type { ParsePool } from '../parse/pool.js';
import { retrievalQuery } from '../evidence/candidates.js';
import { retrieve } from '../retrieval/index.js';
import type { SafeFetcher } from '../web/fetcher.js';
import { pageDocument } from '../web/ingest.js';

export interface SearchHit {
  kind: ResearchSourceKind;
  /** The chunk's or item's id, or the page's final URL. */
  ref: string;
  title: string;
  url: string | null;
  text: string;
}

export interface SearchOptions {
  signal?: AbortSignal;
  call?: LlmCall;
}

export interface SearchProvider {
  readonly name: 'corpus' | 'web';
  search(query: string, k: number, options: SearchOptions): Promise<SearchHit[]>;
}

/** Whether the case has anything the corpus provider could find. */
export async function corpusAvailable(db: Db, caseId: string): Promise<boolean> {
  const [chunk] = await db.select({ id: chunks.id }).from(chunks).innerJoin(documents, eq(documents.id, chunks.documentId))
    .where(and(eq(chunks.caseId, caseId), eq(documents.processingStatus, 'completed'), ne(documents.source, 'inquiry'))).limit(1);
  if (chunk) return true;
  const [item] = await db.select({ id: evidence.id }).from(evidence)
    .where(and(eq(evidence.caseId, caseId), ne(evidence.source, 'research'), ne(evidence.status, 'failed'))).limit(1);
  return item !== undefined;
}

/** Which of these documents an inquiry generated. */
async function inquiryDocumentsAmong(db: Db, documentIds: string[]): Promise<Set<string>> {
  if (documentIds.length === 0) return new Set();
  const rows = await db.select({ id: documents.id }).from(documents)
    .where(and(inArray(documents.id, [...new Set(documentIds)]), eq(documents.source, 'inquiry')));
  return new Set(rows.map((r) => r.id));
}

export function corpusProvider(db: Db, embedder: Pick<Embedder, 'embed'>, caseId: string): SearchProvider {
  return {
    name: 'corpus',
    async search(query, k, options) {
      // The query's content words OR'ed: a plan's keywords AND'ed would find only passages holding every one.
      const { passages } = await retrieve(db, embedder, { caseId, query: retrievalQuery(query) || query, k: k * 2, kinds: ['chunk', 'evidence'], call: options.call });
      const generated = await inquiryDocumentsAmong(db, passages.flatMap((p) => (p.kind === 'chunk' ? [p.documentId] : [])));
      const hits: SearchHit[] = [];
      for (const p of passages) {
        if (p.kind === 'chunk' && !generated.has(p.documentId)) hits.push({ kind: 'chunk', ref: p.chunkId, title: p.documentTitle, url: null, text: p.text });
        else if (p.kind === 'evidence' && p.source !== 'research') {
          hits.push({ kind: 'evidence', ref: p.evidenceId, title: p.sourceTitle ?? 'evidence of the case', url: p.sourceUrl, text: p.text });
        }
      }
      return hits.slice(0, k);
    },
  };
}

export interface WebProviderDeps {
  searchUrl: string;
  timeoutMs: number;
  fetcher: () => SafeFetcher;
  parsePool: ParsePool;
}

/** Result links of a SearXNG-compatible API: `GET <url>?q=…&format=json` → `{ results: [{ url, title }] }`. */
export async function searxResults(searchUrl: string, query: string, k: number, timeoutMs: number, signal?: AbortSignal): Promise<{ url: string; title: string }[]> {
  const url = new URL(searchUrl);
  url.searchParams.set('q', query);
  url.searchParams.set('format', 'json');
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  const response = await fetch(url, { signal: AbortSignal.any(signals), headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`the search service answered ${response.status}`);
  const body = (await response.json()) as { results?: unknown };
  const results = Array.isArray(body.results) ? body.results : [];
  const links: { url: string; title: string }[] = [];
  for (const r of results as { url?: unknown; title?: unknown }[]) {
    if (typeof r?.url !== 'string' || !/^https?:\/\//i.test(r.url)) continue;
    links.push({ url: r.url, title: typeof r.title === 'string' ? r.title.slice(0, 300) : r.url });
    if (links.length >= k) break;
  }
  return links;
}

export function webProvider(deps: WebProviderDeps): SearchProvider {
  return {
    name: 'web',
    async search(query, k, options) {
      const links = await searxResults(deps.searchUrl, query, k, deps.timeoutMs, options.signal);
      const hits: SearchHit[] = [];
      for (const link of links) {
        try {
          const page = await deps.fetcher().fetchPage(link.url, { signal: options.signal });
          const doc = await pageDocument(page, deps.parsePool, { signal: options.signal });
          if (typeof doc.content !== 'string' || doc.content.trim() === '') continue;
          hits.push({ kind: 'page', ref: page.finalUrl, title: doc.title || link.title, url: page.finalUrl, text: doc.content });
        } catch (err) {
          if (options.signal?.aborted) throw err;
          // One unreadable page (refused, 404, a PDF) costs the round that page, not the round.
          log.warn('a search result could not be read', { url: link.url, error: err instanceof Error ? err.message : String(err) });
        }
      }
      return hits;
    },
  };
}
