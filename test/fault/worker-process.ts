/**
 * The worker the fault tests run as a child process (`node --import tsx
 * test/fault/worker-process.ts`): the real workers (workers/worker.ts) and the real
 * activities, on the queues, database and Temporal address of the usual environment
 * (TEMPORAL_ADDRESS, DATABASE_URL, CASEWORK_QUEUE_PREFIX, CHAT_REDELIVERY_AFTER_MS, ...),
 * with faults injected by wrapping the activity functions, never by changing them:
 *
 * - FAULT_REPLY_DELAY_MS: the local model takes this long per reply (aborted when the
 *   activity is cancelled), so a kill lands while a reply is being written;
 * - FAULT_KILL_DURING_REPLY: `p` (0 < p < 1: each generateReply call, with probability p)
 *   or `N` (an integer: the Nth call) SIGKILLs this process FAULT_KILL_DELAY_MS (default:
 *   half the reply delay) after the call began, while it is in flight;
 * - FAULT_KILL_AFTER_REPLY_COMMIT=N: SIGKILL right after the Nth generateReply returned
 *   (its rows committed), before the result reaches Temporal;
 * - FAULT_KILL_AFTER_EVIDENCE_MODEL=N: SIGKILL right after the Nth `contradiction` model call
 *   returned, the last of `analyseEvidence`'s calls: mid-ingestion, before its commit;
 * - FAULT_KILL_AFTER_EVIDENCE_COMMIT=N: SIGKILL right after the Nth analyseEvidence returned
 *   (its record committed), before the result reaches Temporal;
 * - FAULT_KILL_AFTER_EVIDENCE_TELL=N: SIGKILL right after the Nth tellEvidenceAdded returned
 *   (the brief and conversations told), before the result reaches Temporal;
 * - FAULT_KILL_AFTER_BRIEF_MODEL=N / FAULT_KILL_AFTER_BRIEF_COMMIT=N: the same inside
 *   `evolveCaseBrief` (after its `brief` model call; after its version committed);
 * - FAULT_SEED: seeds the random choice of `p`, so a run can be repeated;
 * - FAULT_WORKFLOW_BUNDLE: a file that caches the workflow bundle across restarts (written
 *   by the first child that bundles, read by the next ones).
 *
 * It prints `fault-worker ready` once its workers run, and `fault: ...` before each kill.
 */
import type { Activities } from '../../activities/index.js';
import type { Llm } from '../../activities/llm/llm.js';
import { runFaultWorker, say } from './fault-worker.js';
import { seeded } from '../helpers/random.js';

function number(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

const replyDelayMs = number('FAULT_REPLY_DELAY_MS') ?? 0;
const killDuring = number('FAULT_KILL_DURING_REPLY');
const killDelayMs = number('FAULT_KILL_DELAY_MS') ?? Math.floor(replyDelayMs / 2);
const killAfterCommit = number('FAULT_KILL_AFTER_REPLY_COMMIT');
const killAfter = {
  evidenceModel: number('FAULT_KILL_AFTER_EVIDENCE_MODEL'),
  evidenceCommit: number('FAULT_KILL_AFTER_EVIDENCE_COMMIT'),
  evidenceTell: number('FAULT_KILL_AFTER_EVIDENCE_TELL'),
  briefModel: number('FAULT_KILL_AFTER_BRIEF_MODEL'),
  briefCommit: number('FAULT_KILL_AFTER_BRIEF_COMMIT'),
};
const random = seeded(number('FAULT_SEED') ?? Date.now());

function die(reason: string): void {
  say(`fault: SIGKILL ${reason}`);
  process.kill(process.pid, 'SIGKILL');
}

/** Decides, per generateReply call (1-based), whether to die while it is in flight. */
function killsDuring(call: number): boolean {
  if (killDuring === undefined || killDuring === 0) return false;
  return killDuring < 1 ? random() < killDuring : call === killDuring;
}

function withFaults(acts: Activities): Activities {
  let calls = 0;
  const generateReply: Activities['generateReply'] = async (req) => {
    const call = ++calls;
    if (killsDuring(call)) {
      setTimeout(() => die(`during generateReply call #${call} (messages ${req.messageIds.join(',')})`), killDelayMs);
    }
    const result = await acts.generateReply(req);
    if (killAfterCommit !== undefined && call === killAfterCommit) {
      die(`after generateReply call #${call} committed reply ${result.replyId} (messages ${req.messageIds.join(',')})`);
    }
    return result;
  };
  return { ...acts, generateReply, ...pipelineFaults(acts) };
}

/** Counts the calls that returned, and dies after the armed one (`what` names it in the fault line). */
function dieAfter(armed: number | undefined): (what: () => string) => void {
  let returned = 0;
  return (what) => {
    if (armed !== undefined && ++returned === armed) die(`after ${what()} (#${returned})`);
  };
}

/** The kills after an activity of the evidence and brief pipelines did its work, its result not reported. */
function pipelineFaults(acts: Activities): Pick<Activities, 'analyseEvidence' | 'tellEvidenceAdded' | 'evolveCaseBrief'> {
  const evidenceCommitted = dieAfter(killAfter.evidenceCommit);
  const evidenceTold = dieAfter(killAfter.evidenceTell);
  const briefCommitted = dieAfter(killAfter.briefCommit);
  return {
    async analyseEvidence(req) {
      const result = await acts.analyseEvidence(req);
      evidenceCommitted(() => `analyseEvidence committed evidence ${req.evidenceId}`);
      return result;
    },
    async tellEvidenceAdded(req) {
      const result = await acts.tellEvidenceAdded(req);
      evidenceTold(() => `tellEvidenceAdded told the case of evidence ${req.evidenceId}`);
      return result;
    },
    async evolveCaseBrief(req) {
      const result = await acts.evolveCaseBrief(req);
      briefCommitted(() => `evolveCaseBrief committed version ${result.version} of case ${req.caseId} (key ${req.evolutionKey})`);
      return result;
    },
  };
}

/** The kills after the last model call of an ingestion or an evolution, before either commits. */
function dyingModels(llm: Llm): Llm {
  const checked = dieAfter(killAfter.evidenceModel);
  const written = dieAfter(killAfter.briefModel);
  return {
    ...llm,
    async findContradictions(input, call) {
      const found = await llm.findContradictions(input, call);
      checked(() => `the contradiction call of an ingestion, before its commit`);
      return found;
    },
    async writeBrief(draft, call) {
      const prose = await llm.writeBrief(draft, call);
      written(() => `the brief call of an evolution of "${draft.title}", before its commit`);
      return prose;
    },
  };
}

/** The local model's replies, slowed down; an abort (cancellation) ends the wait like a real HTTP call. */
function slow(llm: Llm): Llm {
  if (replyDelayMs === 0) return llm;
  return {
    ...llm,
    async reply(input) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, replyDelayMs);
        input.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('reply aborted'));
        });
      });
      return llm.reply(input);
    },
  };
}

await runFaultWorker({ llm: (llm) => dyingModels(slow(llm)), activities: withFaults });
