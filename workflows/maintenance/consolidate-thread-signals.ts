/**
 * The seed's `consolidate_thread_signals` (issue 18): one scope's signals (a thread's, or a
 * case's own) for one date, id `consolidate-<threadId>-<yyyymmdd>` or
 * `consolidate-case-<caseId>-<yyyymmdd>` (`-dry` for a dry run). Signals with no embedding are
 * embedded first (`embedSignals`, a round at a time), then one activity merges, decays and
 * archives in batches (activities/maintenance/consolidation.ts). A dry run embeds nothing and
 * writes nothing: it reports what it would do. An unreachable database holds the step.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureReason, runBounded } from '../failures.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { signalEmbedding, signalMaintenance, TASK_TIME_LIMIT } from '../policies.js';
import type { ConsolidateThreadSignalsInput, ScopeConsolidation } from '../types.js';

const { consolidateSignalScope } = proxyActivities<Activities>(signalMaintenance);
const { embedSignals } = proxyActivities<Activities>(signalEmbedding);

/** Embedding rounds before the merge goes on without what could not be embedded. */
const MAX_EMBED_ROUNDS = 20;

export async function consolidateThreadSignals(input: ConsolidateThreadSignalsInput): Promise<ScopeConsolidation> {
  const hold = newHold(input.outageHoldMs, 'per-outage');
  const { scope } = input;
  const what = `${scope.kind} ${scope.id}`;
  return runBounded({
    limit: input.timeLimitMs ?? TASK_TIME_LIMIT,
    what: 'signal consolidation',
    fields: { scope, date: input.date },
    reasonOf: (err) => failureReason(err, 'signal consolidation failed'),
    work: async () => {
      let embedded = 0;
      let skipEmbedding = input.dryRun === true;
      for (let round = 1; ; round++) {
        const request = { scope, nominalMs: input.nominalMs, dryRun: input.dryRun, skipEmbedding };
        const result = await holdThroughOutage(hold, 'consolidate', () =>
          consolidateSignalScope.executeWithOptions({ ...signalMaintenance, summary: `Merge, decay and archive the signals of ${what}` }, [request]),
        );
        if (!('unembedded' in result)) return { ...result, embedded };
        const done = await holdThroughOutage(hold, 'embed', () =>
          embedSignals.executeWithOptions({ ...signalEmbedding, summary: `Embed ${result.unembedded.length} signal(s) first` }, [
            { signalIds: result.unembedded },
          ]),
        );
        embedded += done.embedded;
        if (done.embedded === 0 || round >= MAX_EMBED_ROUNDS) skipEmbedding = true;
      }
    },
  });
}
