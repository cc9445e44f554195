/**
 * What an item is compared with: the case's signals it may bear on (linking) and the case's
 * items and signals it may conflict with (contradictions), both found by `retrieve` with the
 * item's own vector and a query of its words; and the bounds on what reaches a model.
 */
import type { Db } from '../db/client.js';
import { analyseClaim } from '../llm/purposes/claims.js';
import type { Embedder } from '../llm/types.js';
import { passageId, retrieve, RETRIEVAL_DEFAULTS, type EvidencePassage, type PassageScores, type RetrievalSettings, type SignalPassage } from '../retrieval/index.js';

/** Signals an item is weighed against: one model call decides them all. */
export const LINK_CANDIDATES = 10;
/** Other items and signals an item is checked against for contradictions. */
export const CONTRADICTION_CANDIDATES = 10;
/** Words of the item in its full-text query (OR'ed): enough to find what shares a few of them. */
export const QUERY_MAX_WORDS = 32;
/** What reaches a model of the item, and of each candidate: an item may be long, a prompt must not be. */
export const ITEM_PROMPT_MAX_CHARS = 8_000;
export const CANDIDATE_PROMPT_MAX_CHARS = 1_000;

/**
 * The item's content words OR'ed (`websearch_to_tsquery` syntax): an item's whole text as a
 * query would AND every word and match nothing; any shared word is a reason to look closer.
 */
export function retrievalQuery(text: string): string {
  return [...analyseClaim(text).words].slice(0, QUERY_MAX_WORDS).join(' or ');
}

export interface Candidates {
  query: string;
  signals: SignalPassage[];
  /** Other items and signals, never the item itself. */
  related: (EvidencePassage | SignalPassage)[];
}

/** Both retrievals, side by side; the vector side compares the stored vector of the item (nothing is embedded here). */
export async function findCandidates(
  db: Db,
  embedder: Pick<Embedder, 'embed'>,
  item: { id: string; caseId: string; text: string; vector: number[] },
  settings: RetrievalSettings = RETRIEVAL_DEFAULTS,
): Promise<Candidates> {
  const query = retrievalQuery(item.text);
  const common = { caseId: item.caseId, query, queryVector: item.vector };
  const [signals, related] = await Promise.all([
    retrieve(db, embedder, { ...common, k: LINK_CANDIDATES, kinds: ['signal'] }, settings),
    retrieve(db, embedder, { ...common, k: CONTRADICTION_CANDIDATES + 1, kinds: ['evidence', 'signal'] }, settings),
  ]);
  return {
    query,
    signals: signals.passages,
    related: related.passages.filter((p) => !(p.kind === 'evidence' && p.evidenceId === item.id)).slice(0, CONTRADICTION_CANDIDATES),
  };
}

/** A candidate as the audit trail records it: its kind, id and the retrievers' scores (rounded). */
export function candidateRecord(p: EvidencePassage | SignalPassage) {
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);
  const s: PassageScores = p.scores;
  return { kind: p.kind, id: passageId(p), fused: round(s.fused), fullText: round(s.fullText), cosine: round(s.cosine) };
}

export const clip = (text: string, max: number): string => (text.length > max ? text.slice(0, max) : text);
