/**
 * Retrieval over a case (DESIGN.md Decisions 24 and 32): the one function the search
 * route, the evidence pipeline (link and contradiction candidates) and research's corpus
 * search call, over three sources: chunks, evidence and signals. Two retrievers over every
 * source of the requested kinds, fused by reciprocal rank fusion:
 *   full-text — `websearch_to_tsquery('english', q)` against the GIN-indexed `tsvector`,
 *               ranked by `ts_rank_cd` over at most `maxRanked` matches, the best `candidates`;
 *   vector    — the query embedded once, exact cosine in process (Decision 7: `real[]`, no
 *               pgvector) over every vector of the case of each kind, within `maxVectors` and
 *               `maxVectorBytes`, from this process's vector cache (vector-cache.ts: checked
 *               against `retrieval_versions` before each search, so writes of other processes
 *               are seen), the best `candidates`.
 * Identical on the PostgreSQL server and the embedded database: plain SQL and JS.
 *
 * Before the cache every search read every vector of the case from the database: ~0.2 s at
 * 10 000 chunks on a quiet server, ~0.5 s embedded, and it grew with chunks × dimensions.
 * Now a search reads one version row per case and compares in memory (figures: README,
 * Benchmarks, `npm run bench -- search`).
 */
import { SEARCH_DEFAULTS, type SearchConfig } from '../../workers/config.js';
import type { Db } from '../db/client.js';
import type { Embedder } from '../llm/types.js';
import { chunkSource } from './chunk-source.js';
import { evidenceSource } from './evidence-source.js';
import { signalSource } from './signal-source.js';
import { rankCandidates, reciprocalRankFusion, RRF_K, type FusedCandidate } from './fusion.js';
import type { FullTextScan, Passage, PassageKind, PassageOf, RetrievalRequest, RetrievalResult, RetrievalSettings, RetrievalSource } from './types.js';
import { vectorCacheOf } from './vector-cache.js';
import { BYTES_PER_DIMENSION, scanVectors } from './vector-scan.js';

export type * from './types.js';
export { RRF_K } from './fusion.js';

export const RETRIEVAL_DEFAULTS: RetrievalSettings = {
  // Twice the route's largest k: fusion reorders both lists' top 50 and their near misses.
  candidates: 100,
  // Per case and kind; past it (or past maxVectorBytes) the newest are compared and the result says so.
  maxVectors: SEARCH_DEFAULTS.maxVectors,
  maxVectorBytes: SEARCH_DEFAULTS.maxVectorBytes,
  vectorCacheBytes: SEARCH_DEFAULTS.vectorCacheBytes,
  maxRanked: SEARCH_DEFAULTS.maxRanked,
  rrfK: RRF_K,
};

/** The settings of a process's `SearchConfig` (the search route's, the worker's activities'); absent fields: the defaults. */
export function retrievalSettings(search: Partial<SearchConfig> = {}): RetrievalSettings {
  const c = { ...SEARCH_DEFAULTS, ...search };
  return { ...RETRIEVAL_DEFAULTS, maxVectors: c.maxVectors, maxVectorBytes: c.maxVectorBytes, vectorCacheBytes: c.vectorCacheBytes, maxRanked: c.maxRanked };
}

/** Every source by kind (Decision 32): a new kind is a source here and a passage type in ./types.ts. */
const SOURCES: { [K in PassageKind]: RetrievalSource<PassageOf<K>> } = {
  chunk: chunkSource,
  evidence: evidenceSource,
  signal: signalSource,
};

export const PASSAGE_KINDS = Object.keys(SOURCES) as PassageKind[];

/** The id of the row a passage is: a chunk's, an item's or a signal's. */
export function passageId(p: Passage): string {
  return p.kind === 'chunk' ? p.chunkId : p.kind === 'evidence' ? p.evidenceId : p.signalId;
}

/** The passages of the kinds asked for (all kinds when none are named), typed accordingly. */
export async function retrieve<K extends PassageKind = PassageKind>(
  db: Db,
  embedder: Pick<Embedder, 'embed'>,
  request: RetrievalRequest<K>,
  settings: RetrievalSettings = RETRIEVAL_DEFAULTS,
): Promise<RetrievalResult<PassageOf<K>>> {
  const query = request.query.trim();
  const k = Math.max(0, Math.floor(request.k));
  // Nothing to match on either side (and an empty input is a 400 at embedding APIs).
  if ((query === '' && !request.queryVector) || k === 0) return { passages: [], vectors: { read: 0, limitReached: false }, fullTextCapped: false };
  const sources: RetrievalSource[] = [...new Set<PassageKind>(request.kinds ?? PASSAGE_KINDS)].map((kind) => SOURCES[kind] as RetrievalSource);
  const queryVector = request.queryVector ?? (await embedder.embed([query], request.call))[0]!;
  const [fullTexts, vectors] = await Promise.all([
    Promise.all(sources.map((s) => (query === '' ? NO_MATCHES : s.fullText(db, request.caseId, query, { limit: settings.candidates, maxRanked: settings.maxRanked })))),
    vectorSide(db, request.caseId, sources, queryVector, settings),
  ]);
  const fused = reciprocalRankFusion(
    {
      fullText: rankCandidates(fullTexts.flatMap((f) => f.candidates), settings.candidates),
      vector: rankCandidates(vectors.candidates, settings.candidates),
    },
    settings.rrfK,
  );
  // Sources of the kinds K only, so every passage is a PassageOf<K>.
  const passages = (await hydrate(db, request.caseId, query, sources, fused.slice(0, k))) as PassageOf<K>[];
  return {
    passages,
    vectors: { read: vectors.read, limitReached: vectors.limitReached },
    fullTextCapped: fullTexts.some((f) => f.capped),
  };
}

const NO_MATCHES: FullTextScan = { candidates: [], capped: false };

/**
 * Exact cosine over every vector of the query's dimensions of each source (within the bounds),
 * from this process's vector cache, checked against the case's versions first (one query).
 */
async function vectorSide(db: Db, caseId: string, sources: RetrievalSource[], queryVector: number[], settings: RetrievalSettings) {
  const dimensions = queryVector.length;
  if (dimensions === 0) return { candidates: [], read: 0, limitReached: false };
  const cache = vectorCacheOf(db, settings.vectorCacheBytes);
  const stamps = await cache.stamps(db, caseId);
  const bound = vectorRows(settings, dimensions);
  const sets = await Promise.all(sources.map((s) => cache.get(db, s, caseId, dimensions, bound, stamps.get(s.kind) ?? { version: 0, rewrites: 0 })));
  const scans = await Promise.all(sets.map((set, i) => scanVectors(sources[i]!.kind, set, queryVector, settings.candidates)));
  return {
    candidates: scans.flat(),
    read: sets.reduce((n, set) => n + set.ids.length, 0),
    limitReached: sets.some((set) => set.limitReached),
  };
}

/** The rows the vector side may read: `maxVectors`, or fewer when that many would pass `maxVectorBytes`. */
export function vectorRows(settings: Pick<RetrievalSettings, 'maxVectors' | 'maxVectorBytes'>, dimensions: number): number {
  return Math.min(settings.maxVectors, Math.floor(settings.maxVectorBytes / (Math.max(1, dimensions) * BYTES_PER_DIMENSION)));
}

/** The fused candidates as passages, in fused order; one that vanished meanwhile (its document re-processed) is left out. */
async function hydrate(db: Db, caseId: string, query: string, sources: RetrievalSource[], top: FusedCandidate[]): Promise<Passage[]> {
  const idsOf = (kind: PassageKind) => top.filter((c) => c.kind === kind).map((c) => c.id);
  const found = await Promise.all(sources.map(async (s) => [s.kind, await s.passages(db, caseId, query, idsOf(s.kind))] as const));
  const byKind = new Map(found);
  return top.flatMap((c) => {
    const passage = byKind.get(c.kind)?.get(c.id);
    return passage ? [{ ...passage, scores: c.scores } as Passage] : [];
  });
}

