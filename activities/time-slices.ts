/**
 * Long CPU passes that must stay on the event loop (their data is there: a scope's vectors, a
 * case's vector cache) run in slices, so chat turns, heartbeats, HTTP requests and shutdown
 * that share the loop are never held longer than a slice. A pass asks `due()` between steps of
 * its loop (cheap: one clock read) and, when it is, awaits `pause()`: one turn of the loop.
 * Work that can move off the loop goes to a thread instead (the parse pool).
 */

/** A slice's length: long enough that the pauses cost nothing measurable, short enough not to be felt. */
export const SLICE_MS = 5;

export interface TimeSlices {
  /** Is this slice used up? */
  due(): boolean;
  /** Gives the event loop a turn, then starts the next slice. */
  pause(): Promise<void>;
}

export function timeSlices(sliceMs = SLICE_MS): TimeSlices {
  let end = performance.now() + sliceMs;
  return {
    due: () => performance.now() >= end,
    async pause() {
      await new Promise<void>((resolve) => setImmediate(resolve));
      end = performance.now() + sliceMs;
    },
  };
}
