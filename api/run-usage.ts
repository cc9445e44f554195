/**
 * LLM usage of a workflow id (Decision 17): the token ledger summed over every run of the
 * id, since budgets and the bench count a conversation or an agent, not one of its runs.
 */
import { count, eq, sql } from 'drizzle-orm';
import type { Db } from '../activities/db/client.js';
import { tokenLedger } from '../activities/db/schema/index.js';

export interface UsageTotals {
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

export interface RunUsage extends UsageTotals {
  byPurpose: Record<string, UsageTotals>;
}

const totalsSchema = {
  type: 'object',
  properties: { calls: { type: 'integer' }, promptTokens: { type: 'integer' }, completionTokens: { type: 'integer' } },
  required: ['calls', 'promptTokens', 'completionTokens'],
} as const;

export const usageSchema = {
  type: 'object',
  description: 'LLM calls and tokens of every run of this workflow id, in total and by purpose',
  properties: {
    ...totalsSchema.properties,
    byPurpose: { type: 'object', additionalProperties: totalsSchema },
  },
  required: [...totalsSchema.required, 'byPurpose'],
} as const;

export async function usageOf(db: Db, workflowId: string): Promise<RunUsage> {
  // The ledger's primary key starts with the workflow id, so this reads one index range.
  const rows = await db
    .select({
      purpose: tokenLedger.purpose,
      calls: count(),
      // A bigint sum arrives as a string; tokens per workflow id stay far below 2^53.
      promptTokens: sql<string>`coalesce(sum(${tokenLedger.promptTokens}), 0)`,
      completionTokens: sql<string>`coalesce(sum(${tokenLedger.completionTokens}), 0)`,
    })
    .from(tokenLedger)
    .where(eq(tokenLedger.workflowId, workflowId))
    .groupBy(tokenLedger.purpose);
  const usage: RunUsage = { calls: 0, promptTokens: 0, completionTokens: 0, byPurpose: {} };
  for (const row of rows) {
    const totals = { calls: row.calls, promptTokens: Number(row.promptTokens), completionTokens: Number(row.completionTokens) };
    usage.byPurpose[row.purpose] = totals;
    usage.calls += totals.calls;
    usage.promptTokens += totals.promptTokens;
    usage.completionTokens += totals.completionTokens;
  }
  return usage;
}
