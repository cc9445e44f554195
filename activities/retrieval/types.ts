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
  /** Vectors compared per case and kind (the newest documents' first past it: the result says so). */
  maxVectors: number;
  /**
   * Vector bytes per case and kind, counted as float4 (dimensions × 4 × rows): with
   * `maxVectors`, whichever allows fewer rows binds, so wide vectors cannot multiply the
   * memory one kind of one case holds.
   */
  maxVectorBytes: number;
  /** What this process's vector cache holds over every case and kind (least recently used evicted first). */
  vectorCacheBytes: number;
  /**
   * Full-text matches ranked by `ts_rank_cd` per source: a query matching more rows than this
   * (a broad word in a large case) ranks only this many of them (the result says so); 0: all.
   */
  maxRanked: number;
  /** The constant of reciprocal rank fusion. */
  rrfK: number;
}

/** A binary vector of one row, `array_send(embedding)` (see real-array.ts). */
export interface VectorRow {
  id: string;
  embedding: Uint8Array;
}

/** How a source's vectors are read into the vector cache (vector-cache.ts). */
export interface VectorTable {
  kind: PassageKind;
  /**
   * The ids of the case's searchable rows with vectors of `dimensions`, in the order a bound
   * keeps them (the newest first), at most `limit`. Only ids: cheap next to the vectors.
   */
  vectorIds(db: Db, caseId: string, dimensions: number, limit: number): Promise<string[]>;
  /** The vectors of these ids (those still there), in any order. */
  vectorsOf(db: Db, caseId: string, ids: string[]): Promise<VectorRow[]>;
}

/** What one source's full-text retriever found. */
export interface FullTextScan {
  /** Best first by score, ties by id; at most `limit`. */
  candidates: Candidate[];
  /** True when more rows matched than `maxRanked`, so only that many were ranked. */
  capped: boolean;
}

/** One kind of passage: its two retrievers, and how a fused candidate becomes a passage. */
export interface RetrievalSource<P extends Passage = Passage> extends VectorTable {
  kind: P['kind'];
  fullText(db: Db, caseId: string, query: string, bounds: { limit: number; maxRanked: number }): Promise<FullTextScan>;
  /** The passages of these ids (those that still exist), without scores, keyed by id. */
  passages(db: Db, caseId: string, query: string, ids: string[]): Promise<Map<string, Omit<P, 'scores'>>>;
}

export interface RetrievalResult<P extends Passage = Passage> {
  passages: P[];
  /** What the vector side compared: a case past `maxVectors` or `maxVectorBytes` is searched by vector only in part. */
  vectors: { read: number; limitReached: boolean };
  /** True when a source's full-text matches passed `maxRanked` and only that many were ranked. */
  fullTextCapped: boolean;
}
