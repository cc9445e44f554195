/**
 * The seed's `evolve_brief_async`: one long-lived workflow per case (`evolve-brief-<caseId>`),
 * fed by signal-with-start of `briefChanged` (activities/briefs/client.ts). The debounce decides
 * *when* (Decision 27): each change moves the quiet window (`quietMs`) on, and a window that
 * keeps moving evolves anyway `maxWaitMs` after its first change. The evolution recomputes the
 * brief from the database, once over the whole window; a change that arrives meanwhile opens
 * the next window. One timer per quiet period, whatever the number of changes: a change only
 * updates the window's counters.
 *
 * Nothing is lost at the run's edges: continue-as-new (between evolutions, when the server
 * suggests it, the history is long or after `maxEvolutionsPerRun`) carries the window in its
 * input, and closing after `idleCloseMs` happens only with nothing pending. A change that
 * arrives during that last workflow task makes the server reject the task, and the retried
 * task sees it (README "What chat guarantees"). An evolution that fails for good, or is
 * cancelled (`cancelEvolution`), leaves its changes to the next window.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { failureType } from '../failures.js';
import { briefChangedSignal, cancelEvolutionSignal } from '../messages.js';
import { holdThroughOutage, newHold } from '../outage-hold.js';
import { BRIEF_MAX_EVOLUTIONS_PER_RUN, BRIEF_MAX_HISTORY_EVENTS, briefEvolution } from '../policies.js';
import type { BriefChanges, EvolveBriefInput } from '../types.js';
import { addChange, carryOver, copyChanges, dueAt, isOpen, isWellFormed, takeAll } from './changes.js';

const acts = proxyActivities<Activities>(briefEvolution);

const historyIsLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= BRIEF_MAX_HISTORY_EVENTS;

export async function evolveBrief(input: EvolveBriefInput): Promise<void> {
  const pending = copyChanges(input.pending);
  let evolving: CancellationScope | undefined;
  let evolutionsThisRun = 0;

  setHandler(briefChangedSignal, (change) => {
    if (isWellFormed(change)) addChange(pending, change, Date.now());
    else log.warn('a malformed brief change was ignored');
  });
  // Only the evolution in progress: the run, and the changes it holds, go on.
  setHandler(cancelEvolutionSignal, () => evolving?.cancel());

  const continueWithPending = async () => {
    await condition(allHandlersFinished);
    return continueAsNew<typeof evolveBrief>({ ...input, pending, evolutions: (input.evolutions ?? 0) + evolutionsThisRun });
  };

  for (;;) {
    if (!isOpen(pending)) {
      const woke = await condition(() => isOpen(pending), input.idleCloseMs);
      // A change in the same activation as the timer still counts (the race may report the timer).
      if (!woke && !isOpen(pending)) {
        await condition(allHandlersFinished);
        if (pending.total > 0) log.info('closing idle: the changes of a failed evolution stay in the database', { changes: pending.total });
        return;
      }
    }
    if ((await windowCloses(pending, input)) === 'history-long') return continueWithPending();
    const window = takeAll(pending);
    evolutionsThisRun++;
    evolving = new CancellationScope();
    const outcome = await evolving.run(() => evolveOnce(input, window, evolutionsThisRun)).finally(() => (evolving = undefined));
    if (outcome === 'case-gone') return condition(allHandlersFinished);
    if (outcome === 'not-evolved') carryOver(pending, window);
    if (historyIsLong() || evolutionsThisRun >= (input.maxEvolutionsPerRun ?? BRIEF_MAX_EVOLUTIONS_PER_RUN)) return continueWithPending();
  }
}

/** Waits out the open window; a history grown long meanwhile (a burst) ends the run first. */
async function windowCloses(pending: BriefChanges, input: EvolveBriefInput): Promise<'due' | 'history-long'> {
  for (;;) {
    const wait = dueAt(pending, input.quietMs, input.maxWaitMs) - Date.now();
    if (wait <= 0) return 'due';
    if (await condition(historyIsLong, wait)) return 'history-long';
  }
}

type Outcome = 'evolved' | 'not-evolved' | 'case-gone';

async function evolveOnce(input: EvolveBriefInput, changes: BriefChanges, ordinal: number): Promise<Outcome> {
  const { workflowId, runId } = workflowInfo();
  const evolutionKey = `${workflowId}:${runId}:${ordinal}`;
  try {
    const result = await holdThroughOutage(newHold(input.outageHoldMs), 'evolveCaseBrief', () =>
      acts.evolveCaseBrief.executeWithOptions({ ...briefEvolution, summary: `Evolve the brief over ${changes.total} change(s)` }, [
        { caseId: input.caseId, evolutionKey, changes },
      ]),
    );
    log.info('brief evolved', { caseId: input.caseId, ...result, changes: changes.total });
    return 'evolved';
  } catch (err) {
    if (isCancellation(err)) {
      log.info('brief evolution cancelled: its changes join the next window', { caseId: input.caseId });
      return 'not-evolved';
    }
    if (failureType(err) === 'NotFound') {
      log.warn('the case is gone: its brief workflow ends', { caseId: input.caseId });
      return 'case-gone';
    }
    // Decision 27: the next evolution recomputes from the database anyway.
    log.warn('brief evolution failed: its changes join the next window', { caseId: input.caseId, reason: err instanceof Error ? err.message : String(err) });
    return 'not-evolved';
  }
}
