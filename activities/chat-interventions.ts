/**
 * Chat step 3, proactive interventions: deterministic rules over a thread's signals, at
 * most one system message per turn, each rule firing once per signal. The rules are pure.
 */
import { and, asc, eq, isNotNull, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { messages, signals } from './db/schema/index.js';

export interface SignalFact {
  id: string;
  type: string;
  text: string;
}

export interface Intervention {
  rule: string;
  signalId: string;
  text: string;
}

type Rule = (all: SignalFact[]) => Intervention | null;

const ofType = (all: SignalFact[], type: string) => all.filter((s) => s.type === type);

/** A decision is being weighed but nothing says how it will be judged. */
export const decisionWithoutCriteria: Rule = (all) => {
  const decision = ofType(all, 'decision')[0];
  if (!decision || ofType(all, 'criterion').length > 0) return null;
  return {
    rule: 'decision-without-criteria',
    signalId: decision.id,
    text: `You are weighing a decision ("${decision.text}") but have not said how you will judge the options. What criteria matter most?`,
  };
};

/** A risk is named and no mitigation is. */
export const riskWithoutMitigation: Rule = (all) => {
  const risk = ofType(all, 'risk')[0];
  if (!risk || ofType(all, 'mitigation').length > 0) return null;
  return {
    rule: 'risk-without-mitigation',
    signalId: risk.id,
    text: `You named a risk ("${risk.text}") with no mitigation yet. What would you do if it happened?`,
  };
};

/** Three or more open questions: suggest resolving one before adding more. */
export const openQuestionsPilingUp: Rule = (all) => {
  const questions = ofType(all, 'question');
  const third = questions[2];
  if (!third) return null;
  return {
    rule: 'open-questions',
    signalId: third.id,
    text: `${questions.length} questions are open in this thread. Which one should we settle first?`,
  };
};

export const INTERVENTION_RULES: Rule[] = [decisionWithoutCriteria, riskWithoutMitigation, openQuestionsPilingUp];

/** The first rule that fires for a signal it has not fired for before. */
export function chooseIntervention(all: SignalFact[], alreadyFired: Set<string>): Intervention | null {
  for (const rule of INTERVENTION_RULES) {
    const found = rule(all);
    if (found && !alreadyFired.has(`${found.rule}:${found.signalId}`)) return found;
  }
  return null;
}

export function createInterventionActivities({ db }: { db: Db }) {
  return {
    async proactiveIntervention(req: { threadId: string; messageId: string }): Promise<{ posted: string | null }> {
      const active = await db
        .select({ id: signals.id, type: signals.type, text: signals.text })
        .from(signals)
        .where(and(eq(signals.threadId, req.threadId), eq(signals.status, 'active')))
        .orderBy(asc(signals.firstSeenAt));
      const fired = await db
        .select({ rule: sql<string>`${messages.metadata}->>'rule'`, signalId: sql<string>`${messages.metadata}->>'signalId'` })
        .from(messages)
        .where(and(eq(messages.threadId, req.threadId), eq(messages.role, 'system'), isNotNull(sql`${messages.metadata}->>'rule'`)));
      const choice = chooseIntervention(active, new Set(fired.map((f) => `${f.rule}:${f.signalId}`)));
      if (!choice) return { posted: null };
      await db
        .insert(messages)
        .values({
          threadId: req.threadId,
          role: 'system',
          content: choice.text,
          status: 'complete',
          metadata: { rule: choice.rule, signalId: choice.signalId, kind: 'intervention' },
          // The rule's business key: each rule fires once per signal, whatever batch asks.
          dedupKey: `intervention:${choice.rule}:${choice.signalId}`,
        })
        .onConflictDoNothing();
      return { posted: choice.rule };
    },
  };
}
