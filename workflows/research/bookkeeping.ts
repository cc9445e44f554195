/**
 * The research run's bookkeeping (no model call: the defaults, the claim, the evidence
 * hand-over, the handoff summary, the finish): since RESEARCH_PATCHES.fewerRoundTrips a local
 * activity, which runs inside the workflow task that asked for it instead of costing a
 * workflow-task round trip of its own (the bench's time outside activities); a run recorded
 * before it replays with the activities it ran. Each is short and idempotent, so running again
 * after a worker dies mid-task is harmless. The phases that call a model stay activities: they
 * beat (a dead worker is noticed, a cancellation reaches the call) and are each a checkpoint.
 */
import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { researchBookkeeping, researchLocalBookkeeping } from '../policies.js';
import type { AgentRun } from './phases.js';
import { RESEARCH_PATCHES } from './patches.js';

const remote = proxyActivities<Activities>(researchBookkeeping);
const local = proxyLocalActivities<Activities>(researchLocalBookkeeping);

type Bookkeeping = 'researchSettings' | 'claimAgentRun' | 'researchEvidence' | 'researchHandoff' | 'finishAgentRun';
type Call<K extends Bookkeeping> = (options: { summary: string }, args: Parameters<Activities[K]>) => Promise<Awaited<ReturnType<Activities[K]>>>;

/** Decides, once at the start of each run, how this run's bookkeeping runs. */
export function decideBookkeeping(run: AgentRun): void {
  run.localBookkeeping = patched(RESEARCH_PATCHES.fewerRoundTrips);
}

export function bookkeeping<K extends Bookkeeping>(run: AgentRun, name: K, summary: string, args: Parameters<Activities[K]>): Promise<Awaited<ReturnType<Activities[K]>>> {
  const proxy = (run.localBookkeeping ? local : remote) as unknown as Record<K, { executeWithOptions: Call<K> }>;
  return proxy[name].executeWithOptions({ ...(run.localBookkeeping ? researchLocalBookkeeping : researchBookkeeping), summary }, args);
}
