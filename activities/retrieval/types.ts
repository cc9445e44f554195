/**
 * The shapes of retrieval (DESIGN.md Decisions 24 and 32). A passage is a union over kinds;
 * each kind has one `RetrievalSource` that knows its table. Fusion sees only candidates
 * (kind, id, score), so a new kind is a source and a passage type here, without touching
 * the fusion or `retrieve`.
 */
import type { Db } from '../db/client.js';
import type { EvidenceSource } from '../db/schema/evidence.js';
import type { LlmCall } from '../llm/types.js';

/** Chunks of completed documents, the case's evidence (not failed), its active signals. */
export type PassageKind = 'chunk' | 'evidence' | 'signal';

/** The passage type of some kinds: `PassageOf<'signal'>` is `SignalPassage`. */
export type PassageOf<K extends PassageKind> = Extract<Passage, { kind: K }>;

export interface RetrievalRequest<K extends PassageKind = PassageKind> {
  caseId: string;
  /** What a user typed (`websearch_to_tsquery` syntax: words, "phrases", -not, or). */
  query: string;
  /** Passages to return, best first. */
  k: number;
  /** Which sources to search; absent: all of them. */
  kinds?: readonly K[];
  /** A vector of `query` the caller already has (the evidence pipeline embeds its item once). */
  queryVector?: number[];
  /** Passed to the embedder, so an activity's embedding lands in its token ledger. */
  call?: LlmCall;
}

/** Every score of a passage; a retriever that did not find it leaves its score and rank null. */
export interface PassageScores {
  /** Reciprocal rank fusion: the sum of 1 / (RRF_K + rank) over the retrievers that found it. */
  fused: number;
  /** `ts_rank_cd(tsv, query, 32)`: in [0, 1), higher is better. */
  fullText: number | null;
  /** Cosine similarity of the passage's vector and the query's. */
  cosine: number | null;
  /** 1-based rank among the full-text candidates. */
  fullTextRank: number | null;
  /** 1-based rank among the vector candidates. */
  vectorRank: number | null;
}

export interface ChunkPassage {
  kind: 'chunk';
  chunkId: string;
  documentId: string;
  documentTitle: string;
  ordinal: number;
  /** A few hundred characters around the best match (`ts_headline`), `…` where clipped. */
  snippet: string;
  /** The whole chunk: what research's grounding gate checks a quote against (Decision 5). */
  text: string;
  scores: PassageScores;
}

/** A piece of evidence of the case that has not failed (a pending one is found by its text until it is embedded). */
export interface EvidencePassage {
  kind: 'evidence';
  evidenceId: string;
  source: EvidenceSource;
  sourceUrl: string | null;
  sourceTitle: string | null;
  documentId: string | null;
  /** A few hundred characters around the best match, `…` where clipped. */
  snippet: string;
  /** The whole item (stays in process, like a chunk's). */
  text: string;
  scores: PassageScores;
}

/** An active signal of the case (a thread's that joined it, or the case's own). */
export interface SignalPassage {
  kind: 'signal';
  signalId: string;
  /** assumption, goal, constraint, question, risk... */
  signalType: string;
  /** Null for a signal of the case alone (from a document or evidence). */
  threadId: string | null;
  snippet: string;
  text: string;
  scores: PassageScores;
}

export type Passage = ChunkPassage | EvidencePassage | SignalPassage;

/** One retriever's view of one passage: all that fusion needs. */
export interface Candidate {
  kind: PassageKind;
  id: string;
  score: number;
}

/** How much each retriever may read; the defaults are `RETRIEVAL_DEFAULTS`. */
export interface RetrievalSettings {
  /** Candidates each retriever contributes to fusion (over all kinds). */
  candidates: number;
  /** Vectors read per case and kind for the in-process cosine (the newest documents' first). */
  maxVectors: number;
  /**
   * Vector bytes one call reads per kind, counted as float4 (dimensions × 4 × rows): with
   * `maxVectors`, whichever allows fewer rows binds, so wide vectors cannot multiply the
   * memory a call holds (the binary form in flight is about twice this).
   */
  maxVectorBytes: number;
  /** The constant of reciprocal rank fusion. */
  rrfK: number;
}

export interface VectorScan {
  /** The best `limit` candidates by cosine (> 0), best first. */
  candidates: Candidate[];
  /** Vectors read and compared. */
  read: number;
  /** True when the case has more vectors of the query's dimensions than the bounds let it read. */
  limitReached: boolean;
}

/** One kind of passage: its two retrievers, and how a fused candidate becomes a passage. */
export interface RetrievalSource<P extends Passage = Passage> {
  kind: P['kind'];
  /** Best first by score, ties by id; at most `limit`. */
  fullText(db: Db, caseId: string, query: string, limit: number): Promise<Candidate[]>;
  vector(db: Db, caseId: string, queryVector: number[], bounds: { limit: number; maxVectors: number }): Promise<VectorScan>;
  /** The passages of these ids (those that still exist), without scores, keyed by id. */
  passages(db: Db, caseId: string, query: string, ids: string[]): Promise<Map<string, Omit<P, 'scores'>>>;
}

export interface RetrievalResult<P extends Passage = Passage> {
  passages: P[];
  /** What the vector side read: a case past `maxVectors` or `maxVectorBytes` is searched by vector only in part. */
  vectors: { read: number; limitReached: boolean };
}
