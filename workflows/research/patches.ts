/**
 * `patched()` ids of the research agent: each names a change of the commands a running run
 * issues, so runs recorded before it replay as they ran (Decision 30's rule, for research).
 * Runs end within their 30-minute deadline, so a patch can move to `deprecatePatch` once every
 * worker runs it and an hour has passed, and go after that.
 */
export const RESEARCH_PATCHES = {
  /**
   * The evidence children are started beside the synthesis, not before it: the round trip
   * that waits for them to start overlaps the model call instead of adding to the run.
   */
  handOverWhileSynthesizing: 'research-hand-over-while-synthesizing',
} as const;
