/** Seeds signals, links and scopes for the signal-maintenance tests, the fault test and the bench. */
import { createHash, randomUUID } from 'node:crypto';
import { asc, eq, inArray, or } from 'drizzle-orm';
import type { Db } from '../../activities/db/client.js';
import { cases, evidence, evidenceSignalLinks, signals, threads, type NewSignalRow } from '../../activities/db/schema/index.js';
import { DAY_MS } from '../../activities/maintenance/signal-maths.js';

/** 64 dimensions (the local embedder's in tests); the first four carry the test vectors. */
export const vector = (...head: number[]): number[] => [...head, ...new Array<number>(64 - head.length).fill(0)];
/** |[9,3,3,1]| = 10: the cosine with the first axis is 0.9 exactly; nudged, above it. */
export const AXIS = vector(1, 0, 0, 0);
export const AT_09 = vector(9, 3, 3, 1);
export const ABOVE_09 = vector(9.001, 3, 3, 1);

const oneHot = (i: number): number[] => {
  const v = new Array<number>(64).fill(0);
  v[i % 64] = 1;
  return v;
};

export interface SeedSignal {
  text?: string;
  confidence?: number;
  base?: number | null;
  embedding?: number[] | null;
  lastSeenDaysAgo?: number;
  firstSeenDaysAgo?: number;
  references?: number;
  status?: 'active' | 'merged' | 'archived';
  temperature?: 'hot' | 'warm' | 'cold';
  lastReferencedDaysAgo?: number;
}

export async function seedCase(db: Db, userId: string): Promise<string> {
  const [row] = await db.insert(cases).values({ userId, title: 'a case' }).returning({ id: cases.id });
  return row!.id;
}

export async function seedScopeThread(db: Db, userId: string, updatedAt = new Date(), caseId: string | null = null): Promise<string> {
  const [row] = await db.insert(threads).values({ userId, caseId, updatedAt }).returning({ id: threads.id });
  return row!.id;
}

/** Signals of a thread (or of a case alone when `threadId` is null), aged from `nominalMs`. */
export async function seedSignals(
  db: Db,
  scope: { threadId: string | null; caseId?: string | null },
  nominalMs: number,
  specs: readonly SeedSignal[],
): Promise<string[]> {
  if (specs.length === 0) return [];
  const rows: NewSignalRow[] = specs.map((s, i) => {
    const text = s.text ?? `signal ${randomUUID()}`;
    const confidence = s.confidence ?? 0.8;
    const ago = (days: number) => new Date(nominalMs - days * DAY_MS);
    return {
      threadId: scope.threadId,
      caseId: scope.caseId ?? null,
      type: 'assumption',
      text,
      textHash: createHash('sha256').update(text).digest('hex'),
      confidence,
      baseConfidence: s.base === undefined ? confidence : s.base,
      // By default one axis each: no two of one seeding merge.
      embedding: s.embedding === undefined ? oneHot(i) : s.embedding,
      referenceCount: s.references ?? 1,
      status: s.status ?? 'active',
      temperature: s.temperature ?? 'warm',
      firstSeenAt: ago(s.firstSeenDaysAgo ?? s.lastSeenDaysAgo ?? 0),
      lastSeenAt: ago(s.lastSeenDaysAgo ?? 0),
      lastReferencedAt: s.lastReferencedDaysAgo === undefined ? null : ago(s.lastReferencedDaysAgo),
    };
  });
  const stored = await db.insert(signals).values(rows).returning({ id: signals.id });
  return stored.map((r) => r.id);
}

export async function seedEvidence(db: Db, caseId: string, userId: string, text = `evidence ${randomUUID()}`): Promise<string> {
  const [row] = await db
    .insert(evidence)
    .values({ caseId, userId, text, contentHash: createHash('sha256').update(text).digest('hex'), status: 'completed' })
    .returning({ id: evidence.id });
  return row!.id;
}

export async function seedLink(db: Db, caseId: string, evidenceId: string, signalId: string, score: number): Promise<void> {
  await db.insert(evidenceSignalLinks).values({ evidenceId, signalId, caseId, relation: 'supports', reasoning: `score ${score}`, score });
}

/** Every signal of the scopes, in id order: what a run changed, compared before and after. */
export async function snapshot(db: Db, threadIds: readonly string[], caseIds: readonly string[] = []) {
  const where = or(
    threadIds.length > 0 ? inArray(signals.threadId, [...threadIds]) : undefined,
    caseIds.length > 0 ? inArray(signals.caseId, [...caseIds]) : undefined,
  );
  const rows = await db.select().from(signals).where(where).orderBy(asc(signals.id));
  const ids = rows.map((r) => r.id);
  const links = ids.length === 0 ? [] : await db.select().from(evidenceSignalLinks).where(inArray(evidenceSignalLinks.signalId, ids));
  return { rows, links: links.sort((a, b) => `${a.evidenceId}${a.signalId}`.localeCompare(`${b.evidenceId}${b.signalId}`)) };
}

export async function signalById(db: Db, id: string) {
  const [row] = await db.select().from(signals).where(eq(signals.id, id));
  return row!;
}
