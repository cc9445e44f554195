/**
 * Plan: the questions and first queries of a research run, from the topic, the case (title,
 * description, its most confident active signals, its newest evidence, the latest brief's
 * summary) and the skills of the case's domain (the `skills` table). The plan is small and
 * goes back to the workflow, which carries it as its state.
 */
import { and, desc, eq, ne } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { briefs, cases, evidence, signals, skills } from '../db/schema/index.js';
import { notFound } from '../errors.js';
import type { Llm, ResearchPlan, ResearchSkill } from '../llm/llm.js';
import { runPhase, type PhaseReport, type PhaseRequest } from './phase.js';

/** What a plan reads of the case: context, not the whole case. */
const PLAN_SIGNALS = 10;
const PLAN_EVIDENCE = 5;
const CONTEXT_ITEM_CHARS = 500;

export interface PlanRequest extends PhaseRequest {
  topic: string;
}

export interface PlanResult extends ResearchPlan {
  /** The case's domain and the skills the plan followed (names). */
  domain: string | null;
  skills: string[];
}

export async function skillsOf(db: Db, domain: string | null): Promise<(ResearchSkill & { name: string })[]> {
  if (!domain) return [];
  return db.select({ name: skills.name, instructions: skills.instructions, queryHints: skills.queryHints }).from(skills).where(eq(skills.domain, domain.toLowerCase()));
}

async function caseContext(db: Db, caseId: string) {
  const [found] = await db.select({ title: cases.title, description: cases.description, domain: cases.domain }).from(cases).where(eq(cases.id, caseId));
  if (!found) throw notFound(`case ${caseId}`);
  const [caseSignals, items, [brief]] = await Promise.all([
    db.select({ type: signals.type, text: signals.text }).from(signals)
      .where(and(eq(signals.caseId, caseId), eq(signals.status, 'active')))
      .orderBy(desc(signals.confidence), signals.id).limit(PLAN_SIGNALS),
    // The case's own research conclusions are no source of a new plan's facts.
    db.select({ text: evidence.text }).from(evidence)
      .where(and(eq(evidence.caseId, caseId), ne(evidence.source, 'research'), ne(evidence.status, 'failed')))
      .orderBy(desc(evidence.createdAt), evidence.id).limit(PLAN_EVIDENCE),
    db.select({ sections: briefs.sections }).from(briefs).where(eq(briefs.caseId, caseId)).orderBy(desc(briefs.version)).limit(1),
  ]);
  const summary = brief?.sections.find((s) => s.key === 'summary')?.text;
  const cut = (s: string) => s.slice(0, CONTEXT_ITEM_CHARS);
  return {
    caseTitle: found.title,
    caseDescription: found.description,
    domain: found.domain,
    signals: caseSignals.map((s) => ({ type: s.type, text: cut(s.text) })),
    evidence: items.map((i) => cut(i.text)),
    briefSummary: summary ? cut(summary) : undefined,
  };
}

export function createPlanActivity({ db, llm }: { db: Db; llm: Pick<Llm, 'planResearch'> }) {
  return {
    async researchPlan(req: PlanRequest): Promise<PlanResult & PhaseReport> {
      return runPhase(
        db,
        req,
        async (meter) => {
          const context = await caseContext(db, req.caseId);
          const domainSkills = await skillsOf(db, context.domain);
          const plan = await meter.call((call) => llm.planResearch({ topic: req.topic, ...context, skills: domainSkills }, call));
          return { plan, domain: context.domain, skills: domainSkills.map((s) => s.name) };
        },
        async (_tx, { plan, domain, skills: used }) => ({
          result: { ...plan, domain, skills: used },
          record: {
            step: 'plan',
            content: `Researching "${req.topic.slice(0, 200)}": planned ${plan.questions.length} question(s) and ${plan.queries.length} search(es)`,
            counts: { questions: plan.questions.length, queries: plan.queries.length },
            trajectory: { input: { topic: req.topic, domain, skills: used }, output: { ...plan } },
          },
        }),
      );
    },
  };
}
