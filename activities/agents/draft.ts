/**
 * The case draft's activities (draftCaseWorkflow, Decisions 3 and 23): draft a case from a
 * thread's signals and attach the thread, tell its conversation and start its first brief,
 * then start the agents accepted in the thread while it had no case.
 *
 * The draft is a local rule, not a model call (`composeDraft`): the thread's active signals,
 * the most confident first, grouped by type into the case's structure; the title is the
 * thread's (generated from its first messages) or else its most confident goal; the
 * description lists the leading items of each section. It reads only what the thread's
 * signals say, so it cannot invent a case the conversation did not have.
 */
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { agentRuns, agentSuggestions, cases, events, messages, signals, threads } from '../db/schema/index.js';
import { emitEvent } from '../events.js';
import { keepAlive } from '../heartbeat.js';
import { failure, notFound } from '../errors.js';
import { announceAttach, attachThreadRow } from '../cases/attach.js';
import { signalBriefChanged } from '../briefs/client.js';
import type { BriefConfig } from '../../workers/config.js';
import { AGENT_CATALOG, type AgentDescriptor } from '../../workflows/agents/catalog.js';
import type { QueueNames } from '../../workflows/types.js';
import { heldAgentsOf, planSuggestionStart, startPlanned } from './suggested.js';

/** Signals a draft reads: the most confident first. */
const DRAFT_SIGNALS = 200;
const TITLE_MAX_CHARS = 120;
const DESCRIPTION_MAX_CHARS = 2_000;
/** Items of a section the description names. */
const DESCRIBED_PER_SECTION = 3;
/** Held agents started by one call; the workflow calls again while more wait. */
const HELD_PER_CALL = 10;
/** How long telling the conversation and the brief may take, per call. */
const TELL_DEADLINE_MS = 10_000;

/** The sections of a drafted case, in the order a reader wants them; other types follow. */
const SECTIONS: [type: string, title: string][] = [
  ['goal', 'Goals'], ['decision', 'Decisions'], ['constraint', 'Constraints'], ['assumption', 'Assumptions'], ['question', 'Open questions'], ['risk', 'Risks'],
];

export interface DraftSignal {
  id: string;
  type: string;
  text: string;
}

export interface CaseDraft {
  title: string;
  description: string;
  structure: { draftedFrom: string; signals: number; sections: { key: string; title: string; signalIds: string[] }[] };
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A sentence without its closing punctuation, so items join into one line ("a; b", not "a.; b"). */
function bare(text: string): string {
  let end = text.length;
  while (end > 0 && '.!?;'.includes(text[end - 1]!)) end--;
  return text.slice(0, end);
}

/** The draft of a thread's case from its signals (most confident first); pure, so its rule is tested alone. */
export function composeDraft(threadId: string, threadTitle: string | null, found: DraftSignal[]): CaseDraft {
  const known = new Set(SECTIONS.map(([type]) => type));
  const others = [...new Set(found.map((s) => s.type).filter((t) => !known.has(t)))].map((t): [string, string] => [t, t]);
  const sections = [...SECTIONS, ...others]
    .map(([key, title]) => ({ key, title, items: found.filter((s) => s.type === key) }))
    .filter((s) => s.items.length > 0);
  const goal = found.find((s) => s.type === 'goal');
  const title = cut((threadTitle ?? goal?.text ?? found[0]?.text ?? 'A case drafted from a conversation').trim(), TITLE_MAX_CHARS);
  const lines = sections.map((s) => `${s.title}: ${s.items.slice(0, DESCRIBED_PER_SECTION).map((i) => bare(i.text)).join('; ')}`);
  const description = cut([`Drafted from ${found.length} signal(s) of a conversation.`, ...lines].join('\n'), DESCRIPTION_MAX_CHARS);
  const structure = { draftedFrom: threadId, signals: found.length, sections: sections.map((s) => ({ key: s.key, title: s.title, signalIds: s.items.map((i) => i.id) })) };
  return { title, description, structure };
}

const draftedKey = (threadId: string, caseId: string) => `case-drafted:${threadId}:${caseId}`;

export interface DraftDeps {
  db: Db;
  temporal: Client;
  config: { queues: QueueNames; brief?: BriefConfig };
}

export function createDraftActivities({ db, temporal, config }: DraftDeps) {
  return {
    /**
     * One transaction that holds the thread row: the case, the thread attached through the
     * shared attach (its signals get the case), a system message naming the case, and
     * CASE_DRAFTED. A thread that has a case already (this draft's, committed by an attempt that
     * died before it reported, or one a person attached) drafts nothing: `drafted` says whether
     * the case is this draft's.
     */
    async draftCaseFromThread(req: { threadId: string; userId: string; workflowId: string }): Promise<{ caseId: string; drafted: boolean }> {
      return keepAlive(() => db.transaction(async (tx) => {
        const [thread] = await tx.select().from(threads).where(and(eq(threads.id, req.threadId), eq(threads.userId, req.userId))).for('update');
        if (!thread) throw notFound(`thread ${req.threadId}`);
        if (thread.caseId) {
          const [event] = await tx.select({ id: events.id }).from(events).where(eq(events.idempotencyKey, draftedKey(thread.id, thread.caseId)));
          return { caseId: thread.caseId, drafted: event !== undefined };
        }
        const found = await tx
          .select({ id: signals.id, type: signals.type, text: signals.text })
          .from(signals)
          .where(and(eq(signals.threadId, thread.id), eq(signals.status, 'active')))
          .orderBy(desc(signals.confidence), signals.id)
          .limit(DRAFT_SIGNALS);
        const draft = composeDraft(thread.id, thread.title, found);
        const [created] = await tx.insert(cases).values({ userId: req.userId, ...draft }).returning({ id: cases.id });
        const caseId = created!.id;
        const attached = await attachThreadRow(tx, { userId: req.userId, threadId: thread.id, caseId });
        if ('problem' in attached) throw failure('AgentNotStartable', `the thread could not be attached to the drafted case (${attached.problem})`);
        await tx.insert(messages).values({
          threadId: thread.id,
          role: 'system',
          content: `I drafted the case "${draft.title}" from this conversation: its goals, constraints, assumptions, questions and risks.`,
          status: 'complete',
          metadata: { kind: 'case-drafted', caseId },
          dedupKey: `case-drafted:${caseId}`,
        }).onConflictDoNothing();
        await emitEvent(tx, {
          type: 'CASE_DRAFTED',
          userId: req.userId,
          caseId,
          threadId: thread.id,
          payload: { title: draft.title, signals: found.length, sections: draft.structure.sections.map((s) => ({ key: s.key, count: s.signalIds.length })) },
          idempotencyKey: draftedKey(thread.id, caseId),
        });
        await tx.update(agentRuns).set({ caseId, updatedAt: sql`now()` }).where(eq(agentRuns.workflowId, req.workflowId));
        return { caseId, drafted: true };
      }));
    },

    /**
     * After the draft committed: the thread's conversation learns its case (the shared
     * attach's tell), and the case's first brief starts. The brief is told here as a step that
     * must land, not as the attach's best effort: a drafted case starts with a brief.
     */
    async announceDraftedCase(req: { threadId: string; userId: string; caseId: string }): Promise<void> {
      const target = { userId: req.userId, threadId: req.threadId, caseId: req.caseId };
      await keepAlive(async () => {
        await announceAttach(temporal, target, { queues: config.queues, brief: config.brief, deadline: Date.now() + TELL_DEADLINE_MS });
        await signalBriefChanged(temporal, { caseId: req.caseId, userId: req.userId }, { kind: 'thread-attached', id: req.threadId }, {
          queues: config.queues, brief: config.brief, deadline: Date.now() + TELL_DEADLINE_MS,
        });
      });
    },

    /**
     * The agents accepted in the thread while it had no case (their suggestions name this
     * draft and no run of their own yet), started on the case through the one start, a few a
     * call. A start that stays unconfirmed is left to the sweeper; the agent counts as started.
     * One the catalog cannot start (a type gone since) is skipped with a warning: it stays held,
     * and must not fail the case that was drafted.
     */
    async startHeldAgents(req: { threadId: string; draftWorkflowId: string; agents?: AgentDescriptor[] }): Promise<{ started: string[]; more: boolean }> {
      const [thread] = await db.select().from(threads).where(eq(threads.id, req.threadId));
      if (!thread?.caseId) throw notFound(`the case of thread ${req.threadId}`);
      const held = await db.select().from(agentSuggestions).where(heldAgentsOf(thread.id, req.draftWorkflowId)).orderBy(agentSuggestions.createdAt).limit(HELD_PER_CALL + 1);
      const started: string[] = [];
      for (const suggestion of held.slice(0, HELD_PER_CALL)) {
        const plan = planSuggestionStart(suggestion, thread, req.agents ?? AGENT_CATALOG);
        if ('problem' in plan) {
          log.warn('a held agent cannot be started: skipped', { suggestionId: suggestion.id, problem: plan.problem });
          continue;
        }
        const handed = await keepAlive(() => startPlanned({ db, temporal, queues: config.queues }, suggestion.id, plan));
        started.push(handed.row.workflowId);
      }
      return { started, more: held.length > HELD_PER_CALL };
    },
  };
}
