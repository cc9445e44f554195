/**
 * The changes a brief's window keeps (pure, sandbox-safe): every change counted by kind, a
 * bounded sample named, and when the window opened and last moved, which is all the debounce
 * needs. A burst of thousands costs the same few hundred bytes as a burst of twenty.
 */
import { BRIEF_CHANGE_KINDS, type BriefChange, type BriefChanges } from '../types.js';

/** How many distinct changes a window names for the audit (the counts cover every one). */
export const BRIEF_CHANGE_SAMPLE = 16;
/** Ids are uuids; anything longer is not a change casework sends. */
const MAX_ID_CHARS = 200;

export function noChanges(): BriefChanges {
  return { total: 0, counts: {}, sample: [] };
}

/** A copy: the input of a run is not state to mutate. */
export function copyChanges(changes: BriefChanges | undefined): BriefChanges {
  if (!changes) return noChanges();
  return { ...changes, counts: { ...changes.counts }, sample: [...changes.sample] };
}

export function isWellFormed(change: unknown): change is BriefChange {
  const c = change as Partial<BriefChange> | null;
  return (
    typeof c === 'object' && c !== null && typeof c.id === 'string' && c.id.length > 0 && c.id.length <= MAX_ID_CHARS &&
    (BRIEF_CHANGE_KINDS as readonly string[]).includes(c.kind ?? '')
  );
}

function sampleOne(changes: BriefChanges, change: BriefChange): void {
  if (changes.sample.length >= BRIEF_CHANGE_SAMPLE) return;
  if (changes.sample.some((c) => c.kind === change.kind && c.id === change.id)) return;
  changes.sample.push({ kind: change.kind, id: change.id });
}

/** A change opens the window (or moves its quiet period on). */
export function addChange(changes: BriefChanges, change: BriefChange, now: number): void {
  changes.total++;
  changes.counts[change.kind] = (changes.counts[change.kind] ?? 0) + 1;
  sampleOne(changes, change);
  changes.firstAt ??= now;
  changes.lastAt = now;
}

/** The changes of an evolution that did not happen join the next window, without opening one. */
export function carryOver(into: BriefChanges, from: BriefChanges): void {
  into.total += from.total;
  for (const [kind, n] of Object.entries(from.counts) as [BriefChange['kind'], number][]) {
    into.counts[kind] = (into.counts[kind] ?? 0) + n;
  }
  for (const change of from.sample) sampleOne(into, change);
}

export function isOpen(changes: BriefChanges): boolean {
  return changes.firstAt !== undefined;
}

/** When the open window evolves: quiet for `quietMs` since its last change, or `maxWaitMs` after its first. */
export function dueAt(changes: BriefChanges, quietMs: number, maxWaitMs: number): number {
  const first = changes.firstAt ?? 0;
  return Math.min((changes.lastAt ?? first) + quietMs, first + maxWaitMs);
}

/** Takes the window's changes for an evolution, leaving an empty one behind. */
export function takeAll(changes: BriefChanges): BriefChanges {
  const taken = copyChanges(changes);
  Object.assign(changes, noChanges());
  delete changes.firstAt;
  delete changes.lastAt;
  return taken;
}
