/**
 * Chat step 3, proactive interventions: deterministic rules over a thread's signals and the
 * evidence of its case linked to them, at most one system message per turn, each rule firing
 * once per signal (once per (signal, evidence) pair for evidence). The rules are pure.
 */
import { and, asc, eq, like, sql } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { contradictions, evidence, evidenceSignalLinks, messages, signals } from './db/schema/index.js';

export interface SignalFact {
  id: string;
  type: string;
  text: string;
}

export interface Intervention {
  rule: string;
  signalId: string;
  /** For a rule about evidence: the item it is about (it fires once per (signal, evidence) pair). */
  evidenceId?: string;
  text: string;
}

/** An item of the thread's case that contradicts one of its signals: a `contradicts` link, or a recorded contradiction. */
export interface ContradictionFact {
  signalId: string;
  evidenceId: string;
  evidenceText: string;
}

/** What a rule could say, in the order it would rather say it. */
type Rule = (all: SignalFact[], contradicted: ContradictionFact[]) => Intervention[];

const ofType = (all: SignalFact[], type: string) => all.filter((s) => s.type === type);

/** Evidence an item of the case gives against an assumption is quoted at most this long. */
const QUOTE_MAX_CHARS = 200;

function quote(text: string): string {
  if (text.length <= QUOTE_MAX_CHARS) return text;
  const cut = text.lastIndexOf(' ', QUOTE_MAX_CHARS - 1);
  return `${text.slice(0, cut > 0 ? cut : QUOTE_MAX_CHARS - 1)}…`;
}

/** The business key of a posted intervention (the message's dedup key, after `intervention:`). */
export const interventionKey = (i: Pick<Intervention, 'rule' | 'signalId' | 'evidenceId'>) =>
  i.evidenceId ? `${i.rule}:${i.signalId}:${i.evidenceId}` : `${i.rule}:${i.signalId}`;

export const ASSUMPTION_CONTRADICTED = 'assumption-contradicted';

/** Evidence of the case contradicts an assumption of the thread (Decision 3): once per (assumption, evidence). */
export const assumptionContradicted: Rule = (all, contradicted) => {
  const assumptions = new Map(ofType(all, 'assumption').map((s) => [s.id, s]));
  return contradicted.flatMap(({ signalId, evidenceId, evidenceText }) => {
    const assumption = assumptions.get(signalId);
    if (!assumption) return [];
    return [{
      rule: ASSUMPTION_CONTRADICTED,
      signalId,
      evidenceId,
      text: `Evidence in this case contradicts the assumption "${assumption.text}": "${quote(evidenceText)}" Is the assumption still right?`,
    }];
  });
};

/** A decision is being weighed but nothing says how it will be judged. */
export const decisionWithoutCriteria: Rule = (all) => {
  const decision = ofType(all, 'decision')[0];
  if (!decision || ofType(all, 'criterion').length > 0) return [];
  return [{
    rule: 'decision-without-criteria',
    signalId: decision.id,
    text: `You are weighing a decision ("${decision.text}") but have not said how you will judge the options. What criteria matter most?`,
  }];
};

/** A risk is named and no mitigation is. */
export const riskWithoutMitigation: Rule = (all) => {
  const risk = ofType(all, 'risk')[0];
  if (!risk || ofType(all, 'mitigation').length > 0) return [];
  return [{
    rule: 'risk-without-mitigation',
    signalId: risk.id,
    text: `You named a risk ("${risk.text}") with no mitigation yet. What would you do if it happened?`,
  }];
};

/** Three or more open questions: suggest resolving one before adding more. */
export const openQuestionsPilingUp: Rule = (all) => {
  const questions = ofType(all, 'question');
  const third = questions[2];
  if (!third) return [];
  return [{
    rule: 'open-questions',
    signalId: third.id,
    text: `${questions.length} questions are open in this thread. Which one should we settle first?`,
  }];
};

/** Evidence against an assumption comes first: it is news, the others are standing gaps. */
export const INTERVENTION_RULES: Rule[] = [assumptionContradicted, decisionWithoutCriteria, riskWithoutMitigation, openQuestionsPilingUp];

/** The first thing a rule would say that it has not said before (keys: `interventionKey`). */
export function chooseIntervention(all: SignalFact[], alreadyFired: Set<string>, contradicted: ContradictionFact[] = []): Intervention | null {
  for (const rule of INTERVENTION_RULES) {
    const found = rule(all, contradicted).find((i) => !alreadyFired.has(interventionKey(i)));
    if (found) return found;
  }
  return null;
}

const INTERVENTION_PREFIX = 'intervention:';
/** Pairs read per turn; pairs already posted are left out in SQL, so the next turn reads the next ones. */
const PAIRS_PER_TURN = 20;

/**
 * Evidence against the given signals that the rule has not posted about in this thread yet,
 * oldest first: `contradicts` links, and contradictions recorded between an item and a signal
 * (stored either way round).
 */
async function contradictedSignals(db: Db, q: { threadId: string; signalIds: string[]; rule: string }): Promise<ContradictionFact[]> {
  if (q.signalIds.length === 0) return [];
  const ids = sql.join(q.signalIds.map((id) => sql`${id}::uuid`), sql`, `);
  const rows = await db.execute<{ signal_id: string; evidence_id: string; text: string }>(sql`
    with pairs as (
      select ${evidenceSignalLinks.signalId} as signal_id, ${evidenceSignalLinks.evidenceId} as evidence_id, ${evidenceSignalLinks.createdAt} as at
        from ${evidenceSignalLinks} where ${evidenceSignalLinks.signalId} in (${ids}) and ${evidenceSignalLinks.relation} = 'contradicts'
      union all
      select case when ${contradictions.leftKind} = 'signal' then ${contradictions.leftId} else ${contradictions.rightId} end,
             case when ${contradictions.leftKind} = 'signal' then ${contradictions.rightId} else ${contradictions.leftId} end,
             ${contradictions.createdAt}
        from ${contradictions}
       where (${contradictions.leftKind} = 'signal' and ${contradictions.leftId} in (${ids}) and ${contradictions.rightKind} = 'evidence')
          or (${contradictions.rightKind} = 'signal' and ${contradictions.rightId} in (${ids}) and ${contradictions.leftKind} = 'evidence')
    )
    select p.signal_id, p.evidence_id, min(e.text) as text from pairs p join ${evidence} e on e.id = p.evidence_id
     where not exists (select 1 from ${messages} m where m.thread_id = ${q.threadId}
                         and m.dedup_key = ${`${INTERVENTION_PREFIX}${q.rule}:`} || p.signal_id || ':' || p.evidence_id)
     group by p.signal_id, p.evidence_id
     order by min(p.at), p.evidence_id, p.signal_id
     limit ${PAIRS_PER_TURN}`);
  return rows.map((r) => ({ signalId: r.signal_id, evidenceId: r.evidence_id, evidenceText: r.text }));
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
        .select({ key: sql<string>`substr(${messages.dedupKey}, ${INTERVENTION_PREFIX.length + 1})` })
        .from(messages)
        .where(and(eq(messages.threadId, req.threadId), eq(messages.role, 'system'), like(messages.dedupKey, `${INTERVENTION_PREFIX}%`)));
      const assumptions = active.filter((s) => s.type === 'assumption').map((s) => s.id);
      const contradicted = await contradictedSignals(db, { threadId: req.threadId, signalIds: assumptions, rule: ASSUMPTION_CONTRADICTED });
      const choice = chooseIntervention(active, new Set(fired.map((f) => f.key)), contradicted);
      if (!choice) return { posted: null };
      await db
        .insert(messages)
        .values({
          threadId: req.threadId,
          role: 'system',
          content: choice.text,
          status: 'complete',
          metadata: { rule: choice.rule, signalId: choice.signalId, ...(choice.evidenceId ? { evidenceId: choice.evidenceId } : {}), kind: 'intervention' },
          // The rule's business key: each rule fires once per signal (or pair), whatever batch asks.
          dedupKey: `${INTERVENTION_PREFIX}${interventionKey(choice)}`,
        })
        .onConflictDoNothing();
      return { posted: choice.rule };
    },
  };
}
