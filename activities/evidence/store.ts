/**
 * Storing a piece of evidence, for the gateway's route, the hand-off seam and the pipelines
 * that produce evidence (documents, research) alike: committed first, then handed to
 * `ingestEvidence` (Decision 31). The same text in a case is one item, keyed by the sha256 of
 * its normalised text (Decision 21 names the run by it), even when two requests race.
 */
import { createHash } from 'node:crypto';
import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import { evidence, type EvidenceRow, type EvidenceSource } from '../db/schema/index.js';
import { failure } from '../errors.js';
import type { Queryable } from '../events.js';

/** An item as routes and activities pass it around: every column but its vector and tsvector. */
export type EvidenceSummary = Omit<EvidenceRow, 'embedding' | 'tsv'>;

const { embedding: _embedding, tsv: _tsv, ...summaryColumns } = getTableColumns(evidence);
export { summaryColumns as evidenceSummaryColumns };

/**
 * The text as stored and hashed: NUL removed (PostgreSQL text cannot hold it), every run of
 * whitespace one space, trimmed; so the same words pasted twice are one item.
 */
export function normaliseEvidenceText(text: string): string {
  return text.replace(/\u0000/g, '').replace(/\s+/g, ' ').trim();
}

/** sha256 (hex) of the normalised text. */
export function evidenceHash(normalised: string): string {
  return createHash('sha256').update(normalised).digest('hex');
}

export interface NewEvidence {
  caseId: string;
  /** The case's owner. */
  userId: string;
  text: string;
  /** Absent: `manual` (a person's, through the route). */
  source?: EvidenceSource;
  sourceUrl?: string | null;
  sourceTitle?: string | null;
  documentId?: string | null;
}

export interface StoredEvidence {
  evidence: EvidenceSummary;
  /** False when the case had the same text already: that item is returned, as it is. */
  created: boolean;
  /** True when that item had failed and was set back to `pending` here: start it again (Decision 31). */
  restarted: boolean;
}

const sameKey = (caseId: string, hash: string) => and(eq(evidence.caseId, caseId), eq(evidence.contentHash, hash));

/**
 * Inserts the item as `pending`, or finds the one with the same (case, hash). An insert that
 * meets a concurrent one waits for it to commit (ON CONFLICT), then finds its row. A found
 * item that `failed` is set back to `pending` by a guarded update (only from `failed`), so of
 * two submissions racing over it one restarts it and the other finds it pending. A found
 * item keeps its source fields: the first submission named them.
 */
export async function storeEvidence(db: Queryable, item: NewEvidence): Promise<StoredEvidence> {
  const text = normaliseEvidenceText(item.text);
  if (text === '') throw failure('ValidationError', 'the evidence text is empty');
  const hash = evidenceHash(text);
  const [inserted] = await db
    .insert(evidence)
    .values({
      caseId: item.caseId,
      userId: item.userId,
      text,
      contentHash: hash,
      source: item.source ?? 'manual',
      sourceUrl: item.sourceUrl ?? null,
      sourceTitle: item.sourceTitle ?? null,
      documentId: item.documentId ?? null,
    })
    .onConflictDoNothing()
    .returning(summaryColumns);
  if (inserted) return { evidence: inserted, created: true, restarted: false };
  const [restarted] = await db
    .update(evidence)
    .set({ status: 'pending', error: null, updatedAt: sql`now()` })
    .where(and(sameKey(item.caseId, hash), eq(evidence.status, 'failed')))
    .returning(summaryColumns);
  if (restarted) return { evidence: restarted, created: false, restarted: true };
  const [existing] = await db.select(summaryColumns).from(evidence).where(sameKey(item.caseId, hash));
  if (!existing) throw new Error('a piece of evidence conflicted on its key but cannot be found');
  return { evidence: existing, created: false, restarted: false };
}

/** An item of the user, or undefined (unknown and foreign look the same). */
export async function findOwnEvidence(db: Queryable, userId: string, evidenceId: string): Promise<EvidenceSummary | undefined> {
  const [row] = await db.select(summaryColumns).from(evidence).where(and(eq(evidence.id, evidenceId), eq(evidence.userId, userId)));
  return row;
}

/**
 * Fails an item nobody will ingest (the gateway's start certainly did not land), only while
 * it is `pending`: one a run took meanwhile keeps its state. Submitting it again restarts it.
 */
export async function failPendingEvidence(db: Queryable, evidenceId: string, reason: string): Promise<EvidenceSummary | undefined> {
  const [row] = await db
    .update(evidence)
    .set({ status: 'failed', error: reason, updatedAt: sql`now()` })
    .where(and(eq(evidence.id, evidenceId), eq(evidence.status, 'pending')))
    .returning(summaryColumns);
  return row;
}
