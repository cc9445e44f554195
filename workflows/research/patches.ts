/**
 * `patched()` ids of the research agent: each names a change of the commands a running run
 * issues, so runs recorded before it replay as they ran (Decision 15). Runs are bounded (30
 * minutes, carried across continue-as-new), so a patch can move to `deprecatePatch` once every
 * worker runs it and an hour has passed, and go after that.
 */
export const RESEARCH_PATCHES = {
  /**
   * Fewer workflow-task round trips (the bench's time outside activities): the bookkeeping that
   * calls no model (the defaults, the claim, the evidence hand-over, the handoff summary, the
   * finish) runs as local activities, and the synthesis is scheduled beside the evidence
   * children's starts instead of after them.
   */
  fewerRoundTrips: 'research-fewer-round-trips',
} as const;
