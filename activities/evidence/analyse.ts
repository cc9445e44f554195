/**
 * `analyseEvidence`: the seed's `ingest_evidence_async` in one activity. It claims the item
 * (`processing`), embeds it once (the vector is stored, so a retry does not pay again), finds
 * its candidates, scores it, decides its links and contradictions, then records it all in one
 * transaction (./record.ts).
 *
 * Why one activity, not four (score, link, contradictions, complete): each is a Temporal round
 * trip, and the model calls write nothing until the last step, so nothing is lost by fusing
 * them: every write stays keyed (the vector is the same on every attempt; links, contradictions
 * and the event commit together, or not at all), a retry after the commit finds the event and
 * answers what it recorded without calling a model, and one retry policy fits all the steps
 * (transient model or database trouble). The price: an attempt that fails in its last model
 * call repeats the earlier ones (their tokens are metered per attempt).
 */
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { IngestEvidenceResult } from '../../workflows/types.js';
import type { Db } from '../db/client.js';
import { cases, evidence } from '../db/schema/index.js';
import { classifyAndLog, failure, notFound } from '../errors.js';
import { keepAlive } from '../heartbeat.js';
import type { Llm } from '../llm/llm.js';
import type { Embedder } from '../llm/types.js';
import { passageId, retrievalSettings } from '../retrieval/index.js';
import type { SearchConfig } from '../../workers/config.js';
import { meterAttempt, type AttemptMeter } from '../usage.js';
import { candidateRecord, CANDIDATE_PROMPT_MAX_CHARS, clip, findCandidates, ITEM_PROMPT_MAX_CHARS, type Candidates } from './candidates.js';
import { recordedResult, recordOutcome, type Contradiction, type Link } from './record.js';

export interface AnalyseDeps {
  db: Db;
  llm: Pick<Llm, 'provider' | 'scoreEvidence' | 'linkEvidence' | 'findContradictions'>;
  embedder: Embedder;
  /** Retrieval's bounds (SEARCH_*); absent: the defaults. */
  config?: { search?: SearchConfig };
}

export interface AnalyseRequest {
  evidenceId: string;
  correlationId?: string;
}

/** Signals a scoring prompt shows as the case's context: the most related ones. */
const SCORING_CONTEXT_SIGNALS = 5;

/**
 * Runs one stage; its failure, classified here, says which stage it was ("linking failed:
 * the model's JSON does not match…"), keeping its type, retryability and retry delay.
 */
async function stage<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const classified = classifyAndLog('analyseEvidence', err);
    if (!(classified instanceof ApplicationFailure) || classified.type === 'Cancelled') throw classified;
    const { type, nonRetryable, details, cause, nextRetryDelay, category } = classified;
    throw new ApplicationFailure(`${name} failed: ${classified.message}`, type, nonRetryable, details, cause, nextRetryDelay, category);
  }
}

/** Takes a pending item (or the one this run took before a retry); a completed or failed one is not taken again. */
async function claim(db: Db, evidenceId: string) {
  const [item] = await db
    .update(evidence)
    .set({ status: 'processing', updatedAt: sql`now()` })
    .where(and(eq(evidence.id, evidenceId), inArray(evidence.status, ['pending', 'processing'])))
    .returning({
      id: evidence.id,
      caseId: evidence.caseId,
      userId: evidence.userId,
      text: evidence.text,
      sourceUrl: evidence.sourceUrl,
      sourceTitle: evidence.sourceTitle,
      documentId: evidence.documentId,
      embedding: evidence.embedding,
    });
  if (item) return item;
  const [found] = await db.select({ status: evidence.status }).from(evidence).where(eq(evidence.id, evidenceId));
  if (!found) throw notFound(`evidence ${evidenceId}`);
  throw failure('Cancelled', `the evidence is ${found.status}: this run does not ingest it again`);
}

type Item = Awaited<ReturnType<typeof claim>>;

/** The item's vector: the stored one when it has the embedder's dimensions, else embedded now and stored. */
async function vectorOf(deps: AnalyseDeps, item: Item, meter: AttemptMeter): Promise<number[]> {
  if (item.embedding?.length === deps.embedder.dimensions) return item.embedding;
  const [vector] = await meter.call((call) => deps.embedder.embed([item.text], call));
  await deps.db.update(evidence).set({ embedding: vector! }).where(eq(evidence.id, item.id));
  return vector!;
}

async function caseOf(db: Db, caseId: string) {
  const [row] = await db.select({ title: cases.title, description: cases.description }).from(cases).where(eq(cases.id, caseId));
  if (!row) throw notFound(`case ${caseId}`);
  return row;
}

/** The model calls: scores, links (neutral ones are not links), contradictions. */
async function decide(deps: AnalyseDeps, item: Item, found: Candidates, meter: AttemptMeter) {
  const text = clip(item.text, ITEM_PROMPT_MAX_CHARS);
  const shown = (t: string) => clip(t, CANDIDATE_PROMPT_MAX_CHARS);
  const context = await caseOf(deps.db, item.caseId);
  const scores = await stage('scoring', () =>
    meter.call((call) =>
      deps.llm.scoreEvidence(
        {
          text,
          source: { url: item.sourceUrl, title: item.sourceTitle, documentId: item.documentId },
          caseTitle: context.title,
          caseDescription: context.description,
          signals: found.signals.slice(0, SCORING_CONTEXT_SIGNALS).map((s) => shown(s.text)),
        },
        call,
      ),
    ),
  );
  const candidates = found.signals.map((s) => ({ id: s.signalId, type: s.signalType, text: shown(s.text) }));
  const decisions = await stage('linking', () => meter.call((call) => deps.llm.linkEvidence({ evidence: text, candidates }, call)));
  const keyOf = (p: Candidates['related'][number]) => `${p.kind}:${passageId(p)}`;
  const byKey = new Map(found.related.map((p) => [keyOf(p), p]));
  const findings = await stage('contradiction check', () =>
    meter.call((call) =>
      deps.llm.findContradictions({ item: text, candidates: found.related.map((p) => ({ key: keyOf(p), kind: p.kind, text: shown(p.text) })) }, call),
    ),
  );
  const links = decisions.filter((d): d is Link => d.relation !== 'neutral');
  const conflicts: Contradiction[] = findings.flatMap((f) => {
    const p = byKey.get(f.key);
    return p ? [{ kind: p.kind, id: passageId(p), reason: f.reason, score: f.score }] : [];
  });
  const relationOf = new Map(decisions.map((d) => [d.signalId, d.relation]));
  return { scores, links, conflicts, relationOf };
}

export function createAnalyseActivity(deps: AnalyseDeps) {
  const { db } = deps;
  return {
    async analyseEvidence(req: AnalyseRequest): Promise<IngestEvidenceResult> {
      const recorded = await recordedResult(db, req.evidenceId);
      if (recorded) return recorded;
      const item = await claim(db, req.evidenceId);
      const meter = meterAttempt(db, item.userId);
      try {
        return await keepAlive(async () => {
          const vector = await stage('embedding', () => vectorOf(deps, item, meter));
          const found = await stage('retrieval', () => findCandidates(db, deps.embedder, { id: item.id, caseId: item.caseId, text: item.text, vector }, retrievalSettings(deps.config?.search)));
          const { scores, links, conflicts, relationOf } = await decide(deps, item, found, meter);
          const retrieval = {
            query: found.query,
            signals: found.signals.map((s) => ({ ...candidateRecord(s), relation: relationOf.get(s.signalId) ?? null })),
            related: found.related.map(candidateRecord),
          };
          const payload = { provider: deps.llm.provider, rationale: scores.rationale, retrieval };
          const outcome = { evidenceId: item.id, relevance: scores.relevance, credibility: scores.credibility, links, contradictions: conflicts, payload, correlationId: req.correlationId };
          return await stage('recording', () => recordOutcome(outcome, meter));
        });
      } catch (err) {
        // The calls this attempt paid for, whatever stage failed (best effort: the failure is what matters).
        await meter.writeAlone();
        throw err;
      }
    },
  };
}
