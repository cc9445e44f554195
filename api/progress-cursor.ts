/**
 * Progress event ids: opaque to clients, and everything a gateway needs to resume after
 * one, so `Last-Event-ID` works on any gateway process, after a restart too (no server
 * state). The id is base64url of `1:<runId>:<seq>` (1: the format version): the run,
 * since seq restarts with every run and a stream spans the runs of a continue-as-new
 * chain, and the row's seq in it.
 */

export interface ProgressPosition {
  runId: string;
  /** The last seq sent of that run; -1 before its first row. */
  afterSeq: number;
}

/** Temporal run ids are UUIDs; anything else is not ours (and would be an InvalidArgument upstream). */
/** seq -1: before the run's first row (the `end` of a run that wrote none). */
const DECODED = /^1:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(-1|0|[1-9][0-9]{0,9})$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeEventId(position: ProgressPosition): string {
  return Buffer.from(`1:${position.runId}:${position.afterSeq}`, 'utf8').toString('base64url');
}

/** The position an event id stands for, or undefined when it is not one of ours. */
export function decodeEventId(id: string): ProgressPosition | undefined {
  if (!BASE64URL.test(id)) return undefined;
  const match = DECODED.exec(Buffer.from(id, 'base64url').toString('utf8'));
  if (!match) return undefined;
  const afterSeq = Number(match[2]);
  return afterSeq <= 2 ** 31 - 1 ? { runId: match[1]!, afterSeq } : undefined;
}
