/**
 * A brief's input rows written directly with drizzle (signals, evidence, links,
 * contradictions: the evidence pipeline is not needed to test the brief), and what an
 * evolution left behind (versions, annotations, BRIEF_EVOLVED events).
 */
import { createHash, randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../../activities/db/client.js';
import {
  briefAnnotations, briefs, contradictions, events, evidence, evidenceSignalLinks, signals,
  type ContradictionItemKind, type EvidenceRelation, type EvidenceStatus,
} from '../../activities/db/schema/index.js';

const hash = (text: string) => createHash('sha256').update(`${text}:${randomUUID()}`).digest('hex');

/** A signal of the case (a case-level one unless a thread is named; a thread's may have no case yet). */
export async function seedSignal(db: Db, o: { caseId: string | null; threadId?: string; type: string; text: string; confidence?: number; status?: 'active' | 'archived' }) {
  const [row] = await db
    .insert(signals)
    .values({ caseId: o.caseId, threadId: o.threadId ?? null, type: o.type, text: o.text, textHash: hash(o.text), confidence: o.confidence ?? 0.8, status: o.status ?? 'active' })
    .returning();
  return row!;
}

export async function seedEvidence(
  db: Db,
  o: { caseId: string; userId: string; text: string; credibility?: number | null; status?: EvidenceStatus; createdAt?: Date },
) {
  const [row] = await db
    .insert(evidence)
    .values({
      caseId: o.caseId, userId: o.userId, text: o.text, contentHash: hash(o.text), credibility: o.credibility === undefined ? 0.8 : o.credibility,
      relevance: 0.7, status: o.status ?? 'completed', ...(o.createdAt ? { createdAt: o.createdAt } : {}),
    })
    .returning();
  return row!;
}

export async function seedLink(db: Db, o: { caseId: string; evidenceId: string; signalId: string; relation: EvidenceRelation; score?: number }) {
  await db.insert(evidenceSignalLinks).values({ ...o, reasoning: 'a fixture', score: o.score ?? 1 });
}

export async function seedContradiction(
  db: Db,
  o: { caseId: string; left: { kind: ContradictionItemKind; id: string }; right: { kind: ContradictionItemKind; id: string }; score?: number },
) {
  await db.insert(contradictions).values({
    caseId: o.caseId, leftKind: o.left.kind, leftId: o.left.id, rightKind: o.right.kind, rightId: o.right.id, reason: 'a fixture', score: o.score ?? 1,
  });
}

export async function briefVersions(db: Db, caseId: string) {
  return db.select().from(briefs).where(eq(briefs.caseId, caseId)).orderBy(asc(briefs.version));
}

export async function annotationsOf(db: Db, caseId: string) {
  return db.select().from(briefAnnotations).where(eq(briefAnnotations.caseId, caseId)).orderBy(asc(briefAnnotations.createdAt));
}

export async function briefEvents(db: Db, caseId: string) {
  return db.select().from(events).where(and(eq(events.caseId, caseId), eq(events.type, 'BRIEF_EVOLVED'))).orderBy(asc(events.id));
}
