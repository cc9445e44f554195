/**
 * Extract: findings from this round's sources, through the grounding gate (./grounding.ts)
 * before anything is stored: a finding naming a source it was not shown (or any source not of
 * this run), or quoting words its source does not hold, is dropped and counted. Each kept
 * finding is stored with the span of its quote (`research_findings`, keyed by (run, source,
 * quote hash): a retry stores nothing twice). The source text reaches the model delimited and
 * labelled untrusted (the purpose's prompt).
 */
import { createHash } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { researchFindings, researchSources } from '../db/schema/index.js';
import type { Llm } from '../llm/llm.js';
import { storable } from '../parse/text.js';
import { groundFindings, normaliseWhitespace, type DropReason } from './grounding.js';
import { runPhase, scopeOf, type PhaseReport, type PhaseRequest } from './phase.js';

const CLAIM_MAX_CHARS = 1_000;
const QUOTE_MAX_CHARS = 2_000;

export interface ExtractRequest extends PhaseRequest {
  topic: string;
  questions: string[];
  /** This round's sources. */
  sourceIds: string[];
}

export interface ExtractResult {
  /** The round's findings as stored (a retry answers the same), in order. */
  findingIds: string[];
  /** Findings the grounding gate dropped, by reason. */
  dropped: Partial<Record<DropReason, number>>;
  /** Tokens of the kept findings (claims and quotes): the loop's context. */
  contextTokens: number;
}

export const quoteHash = (quote: string) => createHash('sha256').update(normaliseWhitespace(quote).text).digest('hex');

export function createExtractActivity({ db, llm }: { db: Db; llm: Pick<Llm, 'extractFindings'> }) {
  return {
    async researchExtract(req: ExtractRequest): Promise<ExtractResult & PhaseReport> {
      return runPhase(
        db,
        req,
        async (meter) => {
          const sources = req.sourceIds.length === 0 ? [] : await db
            .select({ id: researchSources.id, title: researchSources.title, text: researchSources.text })
            .from(researchSources)
            .where(and(eq(researchSources.workflowId, scopeOf(req)), inArray(researchSources.id, req.sourceIds)));
          const ordered = req.sourceIds.map((id) => sources.find((s) => s.id === id)).filter((s) => s !== undefined);
          const shown = ordered.map((s, i) => ({ index: i + 1, id: s.id, title: s.title ?? 'untitled', text: s.text }));
          const findings = await meter.call((call) =>
            llm.extractFindings({ topic: req.topic, questions: req.questions, sources: shown.map(({ index, title, text }) => ({ index, title, text })) }, call),
          );
          // Only a source shown in this call, of this run, can be cited; the quote must be in it.
          const byIndex = new Map(shown.map((s) => [s.index, { id: s.id, text: normaliseWhitespace(s.text) }]));
          return groundFindings(findings, (f) => byIndex.get(f.source));
        },
        async (tx, { grounded, dropped }) => {
          const candidates = grounded.map(({ finding, sourceId, span }) => ({
            workflowId: scopeOf(req), sourceId, claim: storable(finding.claim.slice(0, CLAIM_MAX_CHARS)), quote: storable(finding.quote.slice(0, QUOTE_MAX_CHARS)),
            quoteHash: quoteHash(finding.quote), spanStart: span.start, spanEnd: span.end, relevance: finding.relevance, iteration: req.iteration,
          }));
          // A quote the run already holds from another source is the same finding again: a
          // document's chunk and the evidence item cut from it (or made from an earlier round's
          // finding) carry the same words. Kept once, from the source that gave it first.
          const earlier = candidates.length === 0 ? [] : await tx
            .select({ sourceId: researchFindings.sourceId, quoteHash: researchFindings.quoteHash })
            .from(researchFindings)
            .where(and(eq(researchFindings.workflowId, scopeOf(req)), inArray(researchFindings.quoteHash, candidates.map((r) => r.quoteHash))));
          const firstSource = new Map<string, string>();
          for (const r of [...earlier, ...candidates]) if (!firstSource.has(r.quoteHash)) firstSource.set(r.quoteHash, r.sourceId);
          const rows = candidates.filter((r) => firstSource.get(r.quoteHash) === r.sourceId);
          if (rows.length > 0) await tx.insert(researchFindings).values(rows).onConflictDoNothing();
          const stored = rows.length === 0 ? [] : await tx
            .select({ id: researchFindings.id, sourceId: researchFindings.sourceId, quoteHash: researchFindings.quoteHash, claim: researchFindings.claim, quote: researchFindings.quote })
            .from(researchFindings)
            .where(and(eq(researchFindings.workflowId, scopeOf(req)), inArray(researchFindings.quoteHash, rows.map((r) => r.quoteHash))));
          const keyOf = (r: { sourceId: string; quoteHash: string }) => `${r.sourceId}:${r.quoteHash}`;
          const byKey = new Map(stored.map((s) => [keyOf(s), s]));
          const kept = [...new Set(rows.map(keyOf))].map((k) => byKey.get(k)!).filter(Boolean);
          const counts: Partial<Record<DropReason, number>> = {};
          for (const d of dropped) counts[d.reason] = (counts[d.reason] ?? 0) + 1;
          const contextTokens = kept.reduce((n, f) => n + Math.ceil((f.claim.length + f.quote.length) / 4), 0);
          return {
            result: { findingIds: kept.map((f) => f.id), dropped: counts, contextTokens },
            record: {
              step: 'extract',
              content: `Round ${req.iteration}: ${kept.length} finding(s) from ${req.sourceIds.length} source(s)${dropped.length ? `, ${dropped.length} dropped (not grounded)` : ''}`,
              counts: { findings: kept.length, dropped: dropped.length },
              trajectory: {
                input: { sources: req.sourceIds.length, questions: req.questions },
                output: { findings: kept.map((f) => f.claim.slice(0, 200)), dropped: dropped.map((d) => ({ reason: d.reason, quote: d.finding.quote.slice(0, 200) })) },
                sourceIds: req.sourceIds,
              },
            },
          };
        },
      );
    },
  };
}
