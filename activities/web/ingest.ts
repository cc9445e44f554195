/**
 * fetchUrlAndIngest's one activity: fetch the URL with the safe fetcher, read what came back,
 * and store it as a `url` document, in one attempt, so the page goes from the socket to
 * Postgres and only ids go through history (rule 2). Every failure is already classified by
 * the fetcher (errors.ts): only network trouble, timeouts and 408/425/429/5xx are retried.
 *
 * What a page is stored as: HTML's main content (the one extractor, ../parse/html.ts, run
 * through the parse pool: title, text, canonical link) as `text/plain`, so the content hash,
 * and with it "the same URL with the same content", is over what a reader reads, not over the
 * page's scripts, nonces and ads; markdown and plain text as they came, less what PostgreSQL
 * text cannot hold (NUL); a PDF as its bytes, for the document pipeline to read page by page.
 */
import { Context } from '@temporalio/activity';
import { and, eq } from 'drizzle-orm';
import { loadConfig, type FetchConfig } from '../../workers/config.js';
import type { Db } from '../db/client.js';
import { runProgress, type DocumentStatus } from '../db/schema/index.js';
import { storeDocument, type NewDocument } from '../documents/store.js';
import { failure } from '../errors.js';
import { currentRun } from '../events.js';
import { keepAlive } from '../heartbeat.js';
import { parseSettingsOf, type DocumentSettings } from '../documents/settings.js';
import { createParsePool, type ParsePool, type RunOptions } from '../parse/pool.js';
import { isSpace, storable } from '../parse/text.js';
import { recordProgress } from '../progress.js';
import { decodeText } from './body.js';
import { createSafeFetcher, type FetchedPage, type SafeFetcher } from './fetcher.js';

export interface UrlIngestDeps {
  db: Db;
  config: { fetch?: FetchConfig; documents?: DocumentSettings };
  /** The worker's fetcher (it owns a connection pool, which the worker closes); absent: one built from `config.fetch`. */
  fetcher?: SafeFetcher;
  /** Where a page's HTML is read (the worker's, closed at shutdown); absent: one of its own. */
  parsePool?: ParsePool;
  clock: () => Date;
}

export interface FetchUrlRequest {
  caseId: string;
  userId: string;
  /** As the gateway normalised it: the document's `url`. */
  url: string;
  /** The progress row's seq (the workflow's). */
  seq: number;
}

export interface FetchUrlOutcome {
  documentId: string;
  /** False when the case had this URL with this content already: that document is the answer. */
  created: boolean;
  /** The document's status as found (`pending` when created): a `failed` one is processed again. */
  status: DocumentStatus;
}

/** While no bytes arrive (a hop's headers, a slow server) the attempt still beats. */
const BEAT_MS = 2_000;
const MAX_TITLE_CHARS = 300;
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

export type PageDocument = Pick<NewDocument, 'title' | 'contentType' | 'content' | 'canonicalUrl'>;

/** What a fetched page is stored as (the module comment says why HTML becomes text). */
export async function pageDocument(page: FetchedPage, parsePool: ParsePool, options?: RunOptions): Promise<PageDocument> {
  const url = withoutFragment(page.finalUrl);
  if (HTML_TYPES.has(page.contentType)) {
    const html = decodeText(page.body, page.charset);
    const { title, text, canonicalUrl } = await parsePool.run({ kind: 'page', html, url: page.finalUrl }, options);
    return { title, contentType: 'text/plain', content: text, canonicalUrl };
  }
  if (page.contentType === 'application/pdf') {
    return { title: fileName(url), contentType: 'application/pdf', content: page.body, canonicalUrl: url };
  }
  if (page.contentType.startsWith('text/')) {
    // One linear pass, inline: nothing here is worth a thread.
    const text = storable(decodeText(page.body, page.charset));
    const markdown = page.contentType === 'text/markdown';
    const title = (markdown ? markdownTitle(text) : undefined) ?? fileName(url);
    return { title, contentType: markdown ? 'text/markdown' : 'text/plain', content: text, canonicalUrl: url };
  }
  throw failure('ContentTypeNotAllowed', `the content type ${page.contentType} is not one the document pipeline reads`);
}

/** Where a markdown heading is looked for: a title is near the top. */
const TITLE_SEARCH_CHARS = 10_000;

/**
 * The first ATX heading (`# Title`, `## Title ##`) of a markdown text, by a scan of its first
 * lines (the regex it replaces retried a line's trailing run from each of its characters).
 */
function markdownTitle(text: string): string | undefined {
  const head = text.slice(0, TITLE_SEARCH_CHARS);
  for (let start = 0; start < head.length;) {
    const newline = head.indexOf('\n', start);
    const end = newline < 0 ? head.length : newline;
    const heading = atxHeading(head.slice(start, end));
    if (heading) return heading.slice(0, MAX_TITLE_CHARS);
    start = end + 1;
  }
  return undefined;
}

/** A line's heading text if it is one: 1-6 `#`, a space or tab, the text, then optional closing `#`s. */
function atxHeading(line: string): string | undefined {
  let i = 0;
  while (i < line.length && line[i] === '#') i += 1;
  if (i < 1 || i > 6 || (line[i] !== ' ' && line[i] !== '\t')) return undefined;
  let end = line.length;
  while (end > i && (line[end - 1] === '#' || isSpace(line.charCodeAt(end - 1)))) end -= 1;
  return line.slice(i, end).trim() || undefined;
}

/** The URL's last path segment (`report.pdf`), else its host. */
function fileName(url: string): string {
  const parsed = new URL(url);
  const segment = parsed.pathname.split('/').filter(Boolean).pop();
  let name = segment ?? parsed.host;
  try {
    name = decodeURIComponent(name);
  } catch {
    // A malformed escape: the segment as it is.
  }
  return storable(name.slice(0, MAX_TITLE_CHARS));
}

function withoutFragment(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  return parsed.href;
}

/** The answer an earlier attempt of the running activity's run recorded in its progress row. */
async function recordedOutcome(db: Db, seq: number): Promise<FetchUrlOutcome | undefined> {
  const { runId } = currentRun();
  if (!runId) return undefined;
  const [row] = await db.select({ payload: runProgress.payload }).from(runProgress).where(and(eq(runProgress.runId, runId), eq(runProgress.seq, seq)));
  const recorded = row?.payload as { documentId?: unknown; created?: unknown; status?: unknown } | undefined;
  if (typeof recorded?.documentId !== 'string' || typeof recorded.created !== 'boolean') return undefined;
  // The status as the earlier attempt found it: whether the run restarts a failed document
  // must not depend on how far that document got since.
  // An attempt recorded before statuses were recorded leaves the document to its own run.
  const status = typeof recorded.status === 'string' ? (recorded.status as DocumentStatus) : 'pending';
  return { documentId: recorded.documentId, created: recorded.created, status };
}

export function createUrlIngestActivities(deps: UrlIngestDeps) {
  let own: SafeFetcher | undefined;
  // Built on first use, so a worker that never fetches opens no pool; its idle sockets are
  // unref'd by undici and keep no process alive. Workers pass their own and close it.
  const fetcher = () => deps.fetcher ?? (own ??= createSafeFetcher(deps.config.fetch ?? loadConfig({}).fetch));
  const parsePool = deps.parsePool ?? createParsePool(parseSettingsOf(deps.config.documents));

  return {
    /** Fetches the URL and stores it as a pending document of the case, or finds the same one. */
    async fetchUrlDocument(req: FetchUrlRequest): Promise<FetchUrlOutcome> {
      // An earlier attempt of this run stored the page and died before it reported: its answer
      // stands. Fetching again would find its document and call it not created, or store a
      // second one for the run if the page changed meanwhile.
      const recorded = await recordedOutcome(deps.db, req.seq);
      if (recorded) return recorded;
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), BEAT_MS);
      let page: FetchedPage;
      try {
        // Cancellation (the run's time limit, a cancelled run) aborts the request.
        page = await fetcher().fetchPage(req.url, { signal: ctx.cancellationSignal, onProgress: (bytes) => ctx.heartbeat({ bytes }) });
      } finally {
        clearInterval(beat);
      }
      // A page of HTML is read off the event loop; a cancellation terminates the read.
      const doc = await keepAlive(() => pageDocument(page, parsePool, { signal: ctx.cancellationSignal }));
      // The document and the row recording the answer commit together: a retry of this run
      // finds the row (above) whenever it finds the document.
      return deps.db.transaction(async (tx) => {
        const { document, created } = await storeDocument(tx, {
          caseId: req.caseId, userId: req.userId, source: 'url', url: req.url, fetchedAt: deps.clock(), ...doc,
        });
        await recordProgress(tx, {
          seq: req.seq,
          payload: {
            step: 'fetched', documentId: document.id, created, status: document.processingStatus, contentType: page.contentType, bytes: page.body.length,
          },
        });
        return { documentId: document.id, created, status: document.processingStatus };
      });
    },
  };
}
