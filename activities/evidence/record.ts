/**
 * What ingestion writes, in one transaction: the scores, the links, the contradictions, the
 * status `completed` and EVIDENCE_ADDED (keyed `evidence-added:<evidenceId>`, Decision 20),
 * and the attempt's token ledger rows. The event is the proof of completion: a retried
 * attempt that finds it answers what it recorded and writes nothing; a cleanup that finds it
 * leaves the item completed. Links and contradictions are keyed too (ON CONFLICT DO NOTHING).
 */
import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { IngestEvidenceResult } from '../../workflows/types.js';
import type { Db } from '../db/client.js';
import { contradictions, events, evidence, evidenceSignalLinks, signals, type ContradictionItemKind, type EvidenceRelation } from '../db/schema/index.js';
import { failure, notFound } from '../errors.js';
import { emitEvent, type Queryable } from '../events.js';
import type { AttemptMeter } from '../usage.js';

export const evidenceAddedKey = (evidenceId: string) => `evidence-added:${evidenceId}`;

/** Reasons are shown to users and kept in a row: bounded. */
const MAX_REASON_CHARS = 1_000;

export interface Link {
  signalId: string;
  relation: Exclude<EvidenceRelation, 'neutral'>;
  reasoning: string;
  score: number;
}

export interface Contradiction {
  kind: ContradictionItemKind;
  id: string;
  reason: string;
  score: number;
}

export interface Outcome {
  evidenceId: string;
  relevance: number;
  credibility: number;
  links: Link[];
  contradictions: Contradiction[];
  /** EVIDENCE_ADDED's payload beyond the counts: retrieval metadata, the provider, the rationale. */
  payload: Record<string, unknown>;
  correlationId?: string;
}

/** What the completion recorded, read back from its event; null when the item has not completed. */
export async function recordedResult(db: Queryable, evidenceId: string): Promise<IngestEvidenceResult | null> {
  const [event] = await db.select({ payload: events.payload }).from(events).where(eq(events.idempotencyKey, evidenceAddedKey(evidenceId)));
  if (!event) return null;
  const count = (value: unknown) => (typeof value === 'number' ? value : 0);
  return { evidenceId, links: count(event.payload.links), contradictions: count(event.payload.contradictions) };
}

/** The pair stored once whichever side found it: the smaller `kind:id` on the left. */
export function orderedPair(a: { kind: ContradictionItemKind; id: string }, b: { kind: ContradictionItemKind; id: string }) {
  const [left, right] = `${a.kind}:${a.id}` < `${b.kind}:${b.id}` ? [a, b] : [b, a];
  return { leftKind: left.kind, leftId: left.id, rightKind: right.kind, rightId: right.id };
}

/**
 * Links to signals that still exist (a thread deleted meanwhile takes its signals along):
 * the rows are held (KEY SHARE, as the foreign key would) until the insert commits.
 */
async function liveSignals(tx: Queryable, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await tx.select({ id: signals.id }).from(signals).where(inArray(signals.id, ids)).for('key share');
  return new Set(rows.map((r) => r.id));
}

export async function recordOutcome(outcome: Outcome, meter: AttemptMeter): Promise<IngestEvidenceResult> {
  return meter.inTransaction(async (tx) => {
    const [item] = await tx
      .select({ status: evidence.status, caseId: evidence.caseId, userId: evidence.userId })
      .from(evidence)
      .where(eq(evidence.id, outcome.evidenceId))
      .for('update');
    if (!item) throw notFound(`evidence ${outcome.evidenceId}`);
    const recorded = await recordedResult(tx, outcome.evidenceId);
    if (recorded) return recorded;
    if (item.status !== 'processing') throw failure('Cancelled', 'the ingestion of this evidence was stopped');
    const live = await liveSignals(tx, outcome.links.map((l) => l.signalId));
    const links = outcome.links.filter((l) => live.has(l.signalId));
    await tx
      .update(evidence)
      .set({ relevance: outcome.relevance, credibility: outcome.credibility, status: 'completed', error: null, updatedAt: sql`now()` })
      .where(eq(evidence.id, outcome.evidenceId));
    if (links.length > 0) {
      await tx
        .insert(evidenceSignalLinks)
        .values(links.map((l) => ({ evidenceId: outcome.evidenceId, caseId: item.caseId, ...l })))
        .onConflictDoNothing();
      // Linked by evidence is referenced (what keeps a signal hot: updateSignalTemperatures).
      await tx.update(signals).set({ lastReferencedAt: sql`now()` }).where(inArray(signals.id, links.map((l) => l.signalId)));
    }
    if (outcome.contradictions.length > 0) {
      const self = { kind: 'evidence' as const, id: outcome.evidenceId };
      await tx
        .insert(contradictions)
        .values(outcome.contradictions.map((c) => ({ caseId: item.caseId, ...orderedPair(self, c), reason: c.reason, score: c.score })))
        .onConflictDoNothing();
    }
    const summary = {
      links: links.length,
      contradictions: outcome.contradictions.length,
      linked: links.map(({ signalId, relation, score }) => ({ signalId, relation, score })),
      contradicted: outcome.contradictions.map(({ kind, id, score }) => ({ kind, id, score })),
    };
    await emitEvent(tx, {
      type: 'EVIDENCE_ADDED',
      userId: item.userId,
      caseId: item.caseId,
      correlationId: outcome.correlationId,
      payload: { evidenceId: outcome.evidenceId, relevance: outcome.relevance, credibility: outcome.credibility, ...summary, ...outcome.payload },
      idempotencyKey: evidenceAddedKey(outcome.evidenceId),
    });
    return { evidenceId: outcome.evidenceId, links: links.length, contradictions: outcome.contradictions.length };
  });
}

/**
 * The workflow's cleanup on every failure path: `failed` with the reason. A no-op when the
 * item completed (its record committed before the failure reached the workflow: the lock
 * waits for one in flight), and when it is failed already (the first reason stays).
 */
export async function markEvidenceFailed(db: Db, evidenceId: string, reason: string): Promise<{ status: 'failed' | 'completed' | 'missing' }> {
  return db.transaction(async (tx) => {
    const [item] = await tx.select({ status: evidence.status }).from(evidence).where(eq(evidence.id, evidenceId)).for('update');
    if (!item) return { status: 'missing' as const };
    if (await recordedResult(tx, evidenceId)) return { status: 'completed' as const };
    await tx
      .update(evidence)
      .set({ status: 'failed', error: reason.slice(0, MAX_REASON_CHARS), updatedAt: sql`now()` })
      .where(and(eq(evidence.id, evidenceId), ne(evidence.status, 'failed')));
    return { status: 'failed' as const };
  });
}
