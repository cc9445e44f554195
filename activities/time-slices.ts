/**
 * Long CPU passes that must stay on the event loop (their data is there: a scope's vectors, a
 * case's vector cache) run in slices, so chat turns, heartbeats, HTTP requests and shutdown
 * that share the loop are never held longer than a slice. A pass is a synchronous step over
 * items (`inSlices`): it asks `due()` between items (cheap: one clock read) and, when it is,
 * returns where it stopped; the loop gets a turn, and the next step goes on from there. The
 * step stays synchronous on purpose: an `await` inside a hot loop made the dedup 30 % slower.
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

/**
 * Runs `step` over items `0 .. end`: each call starts at `from`, stops (returning the next
 * item) once `due()` says the slice is used up, or returns `end`; the loop gets a turn between
 * calls.
 */
export async function inSlices(end: number, step: (from: number, due: () => boolean) => number, slices: TimeSlices = timeSlices()): Promise<void> {
  for (let from = 0; from < end; ) {
    from = step(from, slices.due);
    if (from < end) await slices.pause();
  }
}
