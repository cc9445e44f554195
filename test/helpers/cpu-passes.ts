/** For tests of the long CPU passes (activities/time-slices.ts): reproducible numbers, and the event loop's turns counted. */
import { seeded } from './random.js';

/** Numbers in [-1, 1) from a seed (the same every run). */
export function seededRandom(seed: number): () => number {
  const random = seeded(seed);
  return () => random() * 2 - 1;
}

/** Counts the event loop's turns (one `setImmediate` each) from now until `stop()`, which returns the count. */
export function countLoopTurns(): { stop(): number } {
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop() {
      ticking = false;
      return turns;
    },
  };
}
