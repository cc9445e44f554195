/**
 * The range chat step 5 reads in one LLM call, and which failures end it for good. The range
 * is bounded (SIGNAL_EXTRACTION_MAX_MESSAGES, SIGNAL_EXTRACTION_MAX_CHARS), oldest first, so a
 * thread whose extractions failed for a while, or a long burst, is read in pieces: one per
 * extraction, none lost.
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq, gt, lte, ne } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { messages } from './db/schema/index.js';
import type { ErrorType } from '../workflows/types.js';

export interface ExtractionBounds {
  /** User messages read in one call. */
  maxMessages: number;
  /** Characters read in one call; a single longer message is cut to it. */
  maxChars: number;
}

export const EXTRACTION_BOUNDS: ExtractionBounds = { maxMessages: 20, maxChars: 20_000 };

export interface ExtractionRange {
  /** The cursor it starts after. */
  fromSeq: number;
  /** Its last seq: the cursor once it is stored (short of `uptoSeq` when the bounds cut it). */
  toSeq: number;
  /** The seq of the message the request named. */
  uptoSeq: number;
  texts: string[];
}

/**
 * The first rows, oldest first, that fit the bounds (`rows` read with one more than
 * `maxMessages`): only the first can be longer than `maxChars` alone, and is then cut.
 * `whole` when every row was taken uncut: the range needs no other batch.
 */
export function takeWithin<T extends { text: string }>(rows: T[], bounds: ExtractionBounds): { taken: T[]; whole: boolean } {
  const taken: T[] = [];
  let chars = 0;
  let cut = false;
  for (const row of rows.slice(0, bounds.maxMessages)) {
    if (taken.length > 0 && chars + row.text.length > bounds.maxChars) break;
    cut = row.text.length > bounds.maxChars;
    taken.push(cut ? { ...row, text: row.text.slice(0, bounds.maxChars) } : row);
    chars += Math.min(row.text.length, bounds.maxChars);
  }
  return { taken, whole: taken.length === rows.length && !cut };
}

/** The user messages after the cursor up to `uptoSeq`, oldest first, within the bounds. */
export async function readRange(db: Db, threadId: string, fromSeq: number, uptoSeq: number, bounds: ExtractionBounds): Promise<ExtractionRange> {
  const rows = await db
    .select({ seq: messages.seq, text: messages.content })
    .from(messages)
    .where(and(
      eq(messages.threadId, threadId),
      eq(messages.role, 'user'),
      ne(messages.status, 'failed'),
      gt(messages.seq, fromSeq),
      lte(messages.seq, uptoSeq),
    ))
    .orderBy(asc(messages.seq))
    // One more than fits: whether the range had to stop short.
    .limit(bounds.maxMessages + 1);
  const { taken, whole } = takeWithin(rows, bounds);
  const last = taken[taken.length - 1];
  return { fromSeq, toSeq: whole || !last ? uptoSeq : last.seq, uptoSeq, texts: taken.map((t) => t.text) };
}

/**
 * The model's answer for this range can never be used (cut off, refused, invalid, or the
 * request itself refused): asking again would fail again, so the range is moved past.
 * Transient failures, and those of the configuration (a bad key), keep the cursor.
 */
const FOR_GOOD: ErrorType[] = ['LlmOutputInvalid', 'LlmBadRequest'];

/** Why the range failed for good, or null when the failure must go on (and the cursor stay). */
export function failedForGood(err: unknown): string | null {
  if (!(err instanceof ApplicationFailure) || !err.nonRetryable || !FOR_GOOD.includes(err.type as ErrorType)) return null;
  return err.message.slice(0, 300);
}
