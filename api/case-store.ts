/**
 * Cases as the gateway reads them: a case of the caller (else 404: foreign and unknown look
 * the same) and its counts. Attaching a thread is a store function the gateway shares with
 * activities (activities/cases/attach.ts); its problems become HTTP errors here.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import type { AttachProblem } from '../activities/cases/attach.js';
import { cases, signals, threads, type CaseRow } from '../activities/db/schema/index.js';
import { conflict, notFound, type HttpError } from './errors.js';

/** A database handle or an open transaction: reads work on both. */
type Reader = Pick<Db, 'select'>;

export interface CaseCounts {
  threads: number;
  /** Active signals of the case: its threads' and its own (merged and archived ones are history). */
  signals: number;
}

/**
 * Counted per case in the statement that reads the cases (the lists are per user, so
 * small). Columns are qualified by hand: in a one-table select drizzle renders a column
 * bare, and a bare `id` inside the subquery would be the counted table's own.
 */
export const caseCounts = {
  threads: sql<number>`(select count(*)::int from ${threads} where ${threads}.case_id = ${cases}.id)`,
  signals: sql<number>`(select count(*)::int from ${signals} where ${signals}.case_id = ${cases}.id and ${signals}.status = 'active')`,
};

export async function findOwnCase(db: Reader, userId: string, caseId: string): Promise<CaseRow> {
  const [row] = await db.select().from(cases).where(and(eq(cases.id, caseId), eq(cases.userId, userId)));
  if (!row) throw notFound('case');
  return row;
}

export async function readCase(db: Reader, userId: string, caseId: string): Promise<{ row: CaseRow; counts: CaseCounts }> {
  const [found] = await db
    .select({ row: cases, threads: caseCounts.threads, signals: caseCounts.signals })
    .from(cases)
    .where(and(eq(cases.id, caseId), eq(cases.userId, userId)));
  if (!found) throw notFound('case');
  return { row: found.row, counts: { threads: found.threads, signals: found.signals } };
}

/** An attach's problem in HTTP terms (activities/cases/attach.ts decides; unknown and foreign look the same). */
export function attachError(problem: AttachProblem): HttpError {
  if (problem === 'other-case') return conflict('this thread is already on another case');
  return notFound(problem === 'case-not-found' ? 'case' : 'thread');
}
