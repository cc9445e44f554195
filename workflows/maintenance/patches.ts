/**
 * `patched()` ids of the maintenance workflows: each names a change of the commands a running
 * run issues, so runs recorded before it replay as they ran. Runs are bounded (35 minutes at
 * most), so a patch can move to `deprecatePatch` once every worker runs it and an hour has
 * passed, and go after that.
 */
export const MAINTENANCE_PATCHES = {
  /** The redelivery job sweeps documents and evidence too: one activity per kind, side by side. */
  redeliverEveryKind: 'redelivery-every-pending-kind',
  /** ... and agent runs (Decision 29): a fourth activity beside them. */
  redeliverAgentRuns: 'redelivery-agent-runs',
} as const;
