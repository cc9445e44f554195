/**
 * What the gateway reads from the working views (activities/db/schema/working-views.ts),
 * refreshed by `refreshWorkingViews` every few minutes: a case's overview in `GET /v1/cases`
 * (beside its live `counts`) and a thread's signal summary. A case or thread the last refresh
 * did not see yet reads as zeros with `refreshedAt: null`.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { caseOverviews, threadSignalSummaries } from '../activities/db/schema/index.js';
import { nullable, timestamp, uuid } from './routes/chat-schemas.js';

const count = { type: 'integer', minimum: 0 } as const;
const refreshedAt = { ...nullable(timestamp), description: 'when the working view computed these figures; null: not refreshed since this row appeared (zeros until then)' } as const;

export const caseWorkingOverviewSchema = {
  type: 'object',
  description: 'the case as of the last refresh of the working views (every few minutes); `counts` beside it are live',
  properties: {
    documents: count,
    documentsCompleted: count,
    evidence: { ...count, description: 'items not failed' },
    signalsByTier: {
      type: 'object',
      description: 'active signals of the case by temperature',
      properties: { hot: count, warm: count, cold: count },
      required: ['hot', 'warm', 'cold'],
    },
    contradictions: count,
    latestBriefVersion: nullable({ type: 'integer' }),
    refreshedAt,
  },
  required: ['documents', 'documentsCompleted', 'evidence', 'signalsByTier', 'contradictions', 'latestBriefVersion', 'refreshedAt'],
} as const;

export type CaseOverviewRow = typeof caseOverviews.$inferSelect;

/** The view's columns for a left join from `cases` (a case the view has not seen: all null). */
export const caseOverviewColumns = {
  documents: caseOverviews.documents,
  documentsCompleted: caseOverviews.documentsCompleted,
  evidence: caseOverviews.evidence,
  signalsHot: caseOverviews.signalsHot,
  signalsWarm: caseOverviews.signalsWarm,
  signalsCold: caseOverviews.signalsCold,
  contradictions: caseOverviews.contradictions,
  latestBriefVersion: caseOverviews.latestBriefVersion,
  refreshedAt: caseOverviews.refreshedAt,
};

/** A case's overview; null (the view has not seen the case yet): zeros, `refreshedAt: null`. */
export function caseWorkingOverviewJson(row: Omit<CaseOverviewRow, 'caseId' | 'userId'> | null) {
  return {
    documents: row?.documents ?? 0,
    documentsCompleted: row?.documentsCompleted ?? 0,
    evidence: row?.evidence ?? 0,
    signalsByTier: { hot: row?.signalsHot ?? 0, warm: row?.signalsWarm ?? 0, cold: row?.signalsCold ?? 0 },
    contradictions: row?.contradictions ?? 0,
    latestBriefVersion: row?.latestBriefVersion ?? null,
    refreshedAt: row ? new Date(row.refreshedAt).toISOString() : null,
  };
}

export const threadSummarySchema = {
  type: 'object',
  properties: {
    threadId: uuid,
    signals: {
      type: 'object',
      properties: {
        active: count,
        hot: count,
        warm: count,
        cold: count,
        merged: count,
        archived: count,
        byType: { type: 'object', additionalProperties: count, description: 'active signals per type' },
      },
      required: ['active', 'hot', 'warm', 'cold', 'merged', 'archived', 'byType'],
    },
    lastSignalAt: { ...nullable(timestamp), description: 'when a signal of the thread was last seen' },
    refreshedAt,
  },
  required: ['threadId', 'signals', 'lastSignalAt', 'refreshedAt'],
} as const;

/** A thread's summary from the view; the caller checked the thread is the user's. */
export async function threadSummary(db: Pick<Db, 'select'>, threadId: string) {
  const [row] = await db.select().from(threadSignalSummaries).where(eq(threadSignalSummaries.threadId, threadId));
  const signals = { active: 0, hot: 0, warm: 0, cold: 0, merged: 0, archived: 0, byType: {} as Record<string, number> };
  if (!row) return { threadId, signals, lastSignalAt: null, refreshedAt: null };
  const { active, hot, warm, cold, merged, archived, byType } = row;
  return {
    threadId,
    signals: { active, hot, warm, cold, merged, archived, byType },
    lastSignalAt: row.lastSignalAt ? new Date(row.lastSignalAt).toISOString() : null,
    refreshedAt: new Date(row.refreshedAt).toISOString(),
  };
}
