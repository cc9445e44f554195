/** Chat steps 1, 2 and 6: agent confirmation, agent inflection, structure readiness (step 1's start: activities/agents/). */
import { and, asc, desc, eq, inArray, lte, ne, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { agentSuggestions, messages, signals, threads, type SuggestionRow } from './db/schema/index.js';
import { emitEvent, type Tx } from './events.js';
import { loadThread } from './chat-reply.js';
import type { AgentCue, Llm } from './llm/llm.js';
import { meterAttempt } from './usage.js';
import { STRUCTURE_AGENT_TYPE } from '../workflows/agents/catalog.js';

/** Inflection suggestions need more than this confidence (the seed's 0.75). */
export const SUGGESTION_THRESHOLD = 0.75;
const STRUCTURE_MIN_TURNS = 4;
const STRUCTURE_MIN_SIGNALS = 5;
const STRUCTURE_MIN_TYPES = 3;
/** A declined structure suggestion may come back after this many more user turns. */
const STRUCTURE_RETRY_TURNS = 10;
const INFLECTION_WINDOW = 6;
/** The topic a suggestion stores for its "yes": the agents route's bound on `topic`. */
export const TOPIC_MAX_CHARS = 2_000;

const CONFIRMATION = /^\s*(yes|yeah|yep|sure|ok(ay)?|go ahead|do it|please do|sounds good|let'?s do it)\b/i;

export function isConfirmation(text: string): boolean {
  return text.length <= 80 && CONFIRMATION.test(text);
}

export interface Confirmation {
  suggestionId: string;
  agentType: string;
  kind: 'agent' | 'structure';
  userId: string;
  caseId: string | null;
}

export interface StructureMetrics {
  userTurns: number;
  activeSignals: number;
  signalTypes: number;
  /** Latest structure suggestion, if any. */
  latest?: { status: string; turn: number };
}

export function structureReady(m: StructureMetrics): boolean {
  if (m.userTurns < STRUCTURE_MIN_TURNS || m.activeSignals < STRUCTURE_MIN_SIGNALS || m.signalTypes < STRUCTURE_MIN_TYPES) return false;
  if (!m.latest) return true;
  return m.latest.status === 'declined' && m.userTurns >= m.latest.turn + STRUCTURE_RETRY_TURNS;
}

async function offer(tx: Tx, threadId: string, dedupKey: string, content: string, suggestionId: string) {
  await tx
    .insert(messages)
    .values({ threadId, role: 'system', content, status: 'complete', metadata: { kind: 'suggestion', suggestionId }, dedupKey })
    .onConflictDoNothing();
}

async function latestPending(db: Db, threadId: string): Promise<SuggestionRow | undefined> {
  const [row] = await db
    .select()
    .from(agentSuggestions)
    .where(and(eq(agentSuggestions.threadId, threadId), eq(agentSuggestions.status, 'pending')))
    .orderBy(desc(agentSuggestions.createdAt))
    .limit(1);
  return row;
}

/**
 * Accepts the suggestion if one of the batch's messages says yes, and while it is still
 * pending (a decline or an accept through the API may have come first: then it is theirs).
 */
async function acceptOnConfirmation(db: Db, suggestion: SuggestionRow, messageIds: string[]): Promise<boolean> {
  const said = await db
    .select({ id: messages.id, content: messages.content })
    .from(messages)
    .where(inArray(messages.id, messageIds))
    .orderBy(asc(messages.seq));
  const yes = said.find((m) => isConfirmation(m.content));
  if (!yes) return false;
  const accepted = await db
    .update(agentSuggestions)
    .set({ status: 'accepted', decidedByMessageId: yes.id, decidedAt: sql`now()` })
    .where(and(eq(agentSuggestions.id, suggestion.id), eq(agentSuggestions.status, 'pending')))
    .returning({ id: agentSuggestions.id });
  return accepted.length > 0;
}

export function createSuggestionActivities({ db, llm }: { db: Db; llm: Pick<Llm, 'detectInflection'> }) {
  return {
    /**
     * Step 1. An acceptance is recorded with the message that confirmed it (`decidedByMessageId`),
     * and found again by it: a retried attempt, or a retried workflow task whose batch has grown
     * since, finds the suggestion its batch accepted and starts it again (its run's id is built
     * from the suggestion, so at most one starts). That suggestion comes first: a newer pending
     * one must not take the same "yes".
     */
    async checkAgentConfirmation(req: { threadId: string; messageIds: string[] }): Promise<Confirmation | null> {
      const [acceptedByBatch] = await db
        .select()
        .from(agentSuggestions)
        .where(and(
          eq(agentSuggestions.threadId, req.threadId),
          eq(agentSuggestions.status, 'accepted'),
          inArray(agentSuggestions.decidedByMessageId, req.messageIds),
        ))
        .orderBy(desc(agentSuggestions.createdAt))
        .limit(1);
      const suggestion = acceptedByBatch ?? (await latestPending(db, req.threadId));
      if (!suggestion) return null;
      if (suggestion.status === 'pending' && !(await acceptOnConfirmation(db, suggestion, req.messageIds))) return null;
      const thread = await loadThread(db, req.threadId);
      return {
        suggestionId: suggestion.id,
        agentType: suggestion.agentType,
        kind: suggestion.kind,
        userId: thread.userId,
        caseId: thread.caseId,
      };
    },

    /** Step 2, at every third user turn (the checkpoint); the thread row records it was done. */
    async detectAgentInflection(req: { threadId: string; checkpoint: number; agents: AgentCue[]; uptoMessageId: string }) {
      const thread = await loadThread(db, req.threadId);
      if (thread.lastInflectionTurn >= req.checkpoint) return { suggested: null };
      // The turns up to this batch's last message: never a later one it does not answer.
      const upto = db.select({ seq: messages.seq }).from(messages).where(eq(messages.id, req.uptoMessageId));
      const recent = await db
        .select({ content: messages.content })
        .from(messages)
        .where(and(
          eq(messages.threadId, req.threadId),
          eq(messages.role, 'user'),
          ne(messages.status, 'failed'),
          lte(messages.seq, sql`(${upto})`),
        ))
        .orderBy(desc(messages.seq))
        .limit(INFLECTION_WINDOW);
      const meter = meterAttempt(db, thread.userId);
      const found = await meter.call((call) => llm.detectInflection(recent.map((m) => m.content).reverse(), req.agents, call));
      const suggest = found !== null && found.confidence > SUGGESTION_THRESHOLD ? found : null;
      return meter.inTransaction(async (tx) => {
        const moved = await tx
          .update(threads)
          .set({ lastInflectionTurn: req.checkpoint })
          .where(and(eq(threads.id, req.threadId), sql`${threads.lastInflectionTurn} < ${req.checkpoint}`))
          .returning({ id: threads.id });
        if (moved.length === 0) return { suggested: null };
        await emitEvent(tx, {
          type: 'CONVERSATION_ANALYZED_FOR_AGENT',
          userId: thread.userId,
          threadId: req.threadId,
          caseId: thread.caseId,
          payload: { turn: req.checkpoint, result: found, suggested: suggest !== null, threshold: SUGGESTION_THRESHOLD },
          idempotencyKey: `inflection:${req.threadId}:${req.checkpoint}`,
        });
        if (!suggest) return { suggested: null };
        // The topic its "yes" starts: the one the inflection purpose proposed, else the latest turn.
        const topic = (suggest.topic || recent[0]?.content || '').slice(0, TOPIC_MAX_CHARS) || undefined;
        const [row] = await tx
          .insert(agentSuggestions)
          .values({ threadId: req.threadId, kind: 'agent', agentType: suggest.agentType, confidence: suggest.confidence, reason: suggest.reason, turn: req.checkpoint, topic })
          .onConflictDoNothing()
          .returning();
        if (row) {
          const text = `A ${suggest.agentType} agent could help here (${suggest.reason}). Reply "yes" to start it.`;
          await offer(tx, req.threadId, `suggestion:${row.agentType}:${row.turn}`, text, row.id);
        }
        return { suggested: suggest.agentType };
      });
    },

    /** Step 6: progressive disclosure of case structure (DESIGN.md Decision 3). */
    async detectStructureReadiness(req: { threadId: string }) {
      const thread = await loadThread(db, req.threadId);
      // A thread on a case (a case's activity thread too) has its structure: there is nothing to draft.
      if (thread.caseId !== null || thread.kind === 'case-activity') return { suggested: false };
      const [counts] = await db
        .select({ n: sql<number>`count(*)::int`, types: sql<number>`count(distinct ${signals.type})::int` })
        .from(signals)
        .where(and(eq(signals.threadId, req.threadId), eq(signals.status, 'active')));
      const [latest] = await db
        .select({ status: agentSuggestions.status, turn: agentSuggestions.turn })
        .from(agentSuggestions)
        .where(and(eq(agentSuggestions.threadId, req.threadId), eq(agentSuggestions.kind, 'structure')))
        .orderBy(desc(agentSuggestions.createdAt))
        .limit(1);
      const metrics = { userTurns: thread.userTurns, activeSignals: counts?.n ?? 0, signalTypes: counts?.types ?? 0, latest };
      if (!structureReady(metrics)) return { suggested: false };
      const confidence = Math.min(1, metrics.activeSignals / 10);
      const reason = `${metrics.activeSignals} signals of ${metrics.signalTypes} kinds over ${metrics.userTurns} turns`;
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(agentSuggestions)
          .values({ threadId: req.threadId, kind: 'structure', agentType: STRUCTURE_AGENT_TYPE, confidence, reason, turn: thread.userTurns })
          .onConflictDoNothing()
          .returning();
        if (!row) return { suggested: false };
        await offer(tx, req.threadId, `suggestion:structure:${row.turn}`, `This conversation has enough shape for a case (${reason}). Reply "yes" to draft one.`, row.id);
        await emitEvent(tx, {
          type: 'STRUCTURE_SUGGESTED',
          userId: thread.userId,
          threadId: req.threadId,
          caseId: thread.caseId,
          payload: { suggestionId: row.id, ...metrics },
          idempotencyKey: `structure-suggested:${req.threadId}:${row.turn}`,
        });
        return { suggested: true };
      });
    },
  };
}
