/**
 * An inquiry's run (Phase 2B): the version it writes, reserved first so the run's sources and
 * findings are scoped to it (research's search and extraction, `scope`); the document written
 * from its grounded findings (research's synthesis purpose in the kind's form) and stored as a
 * case document of source `inquiry` with `RESEARCH_COMPLETED`, in one transaction keyed by the
 * version's row; once `processDocument` made it searchable, `DOCUMENT_ADDED` and
 * `WORKFLOW_COMPLETED`. Every event is keyed by (inquiry, kind, version): a retry emits nothing twice.
 */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { documents, events, inquiries, inquiryDocuments, type InquiryKind } from '../db/schema/index.js';
import { failure, notFound } from '../errors.js';
import { currentRun, emitEvent, type Queryable } from '../events.js';
import type { Llm } from '../llm/llm.js';
import type { SynthesisForm } from '../llm/purposes/research-synthesize.js';
import { storable } from '../parse/text.js';
import { contentHash } from '../documents/store.js';
import { runPhase, type PhaseReport, type PhaseRequest } from '../research/phase.js';
import { checkCitations, numberedFindings } from '../research/artifact.js';

/** The version a run writes, and what its phases need. */
export interface InquiryVersion {
  version: number;
  question: string;
  /** The key its sources and findings are stored under: `<workflowId>:v<version>`. */
  scope: string;
}

export interface WriteInquiryRequest extends PhaseRequest {
  inquiryId: string;
  kind: InquiryKind;
  version: number;
  question: string;
  notes: string[];
}

export interface WrittenInquiryDocument {
  documentId: string;
  findings: number;
  citations: number;
}

export interface InquiryVersionRef {
  inquiryId: string;
  kind: InquiryKind;
  version: number;
}

const FORMS: Record<InquiryKind, SynthesisForm> = { research: 'report', debate: 'debate', critique: 'critique' };
const TITLES: Record<InquiryKind, string> = { research: 'Research', debate: 'Debate', critique: 'Critique' };
const TITLE_MAX_CHARS = 300;
const REASON_MAX_CHARS = 1_000;

/** The business key of an inquiry version's event (Decision 20). */
const eventKey = (name: string, ref: InquiryVersionRef) => `inquiry-${name}:${ref.inquiryId}:${ref.kind}:${ref.version}`;

function versionRow(db: Queryable, ref: InquiryVersionRef) {
  return db.select().from(inquiryDocuments)
    .where(and(eq(inquiryDocuments.inquiryId, ref.inquiryId), eq(inquiryDocuments.kind, ref.kind), eq(inquiryDocuments.version, ref.version)));
}

/** The cited passages, under the markdown, so the stored document carries its quotes (a model's report may cite by number only). */
function withCitedPassages(markdown: string, cited: { n: number; quote: string; title: string | null }[]): string {
  if (cited.length === 0 || markdown.includes('## Sources')) return markdown;
  return [markdown, '', '## Sources', ...cited.map((c) => `[${c.n}] ${c.title ?? 'untitled'}: "${c.quote}"`)].join('\n');
}

export function createInquiryActivities({ db, llm }: { db: Db; llm: Pick<Llm, 'synthesizeResearch'> }) {
  return {
    /** The version this run writes: its own row when a retry finds one, else the kind's next. */
    async claimInquiryVersion(req: { inquiryId: string; kind: InquiryKind }): Promise<InquiryVersion> {
      const { workflowId, runId } = currentRun();
      if (!workflowId || !runId) throw failure('ValidationError', 'claimInquiryVersion runs inside a workflow');
      return db.transaction(async (tx) => {
        const [inquiry] = await tx.select().from(inquiries).where(eq(inquiries.id, req.inquiryId)).for('update');
        if (!inquiry) throw notFound(`inquiry ${req.inquiryId}`);
        const mine = and(eq(inquiryDocuments.inquiryId, req.inquiryId), eq(inquiryDocuments.kind, req.kind));
        const [own] = await tx.select({ version: inquiryDocuments.version }).from(inquiryDocuments).where(and(mine, eq(inquiryDocuments.runId, runId)));
        let version = own?.version;
        if (version === undefined) {
          const [last] = await tx.select({ version: inquiryDocuments.version }).from(inquiryDocuments).where(mine).orderBy(desc(inquiryDocuments.version)).limit(1);
          version = (last?.version ?? 0) + 1;
          await tx.insert(inquiryDocuments).values({ inquiryId: req.inquiryId, kind: req.kind, version, workflowId, runId });
        }
        return { version, question: inquiry.question, scope: `${workflowId}:v${version}` };
      });
    },

    /** Writes the version's document from its grounded findings and stores it (once: the version's row holds it). */
    async writeInquiryDocument(req: WriteInquiryRequest): Promise<WrittenInquiryDocument & PhaseReport> {
      const scope = req.scope ?? req.workflowId;
      return runPhase(
        db,
        req,
        async (meter) => {
          const [row] = await versionRow(db, req);
          if (row?.documentId) return { stored: row.documentId, numbered: [], synthesis: undefined };
          const numbered = await numberedFindings(db, scope);
          const synthesis = await meter.call((call) => llm.synthesizeResearch({
            topic: req.question, questions: [req.question], notes: req.notes, findings: numbered.map(({ n, claim, quote, sourceTitle, relevance }) => ({ n, claim, quote, sourceTitle, relevance })), form: FORMS[req.kind],
          }, call));
          return { stored: undefined, numbered, synthesis };
        },
        async (tx, { numbered, synthesis }) => {
          const [row] = await versionRow(tx, req).for('update');
          if (!row) throw notFound(`inquiry ${req.inquiryId} ${req.kind} version ${req.version}`);
          let result: WrittenInquiryDocument;
          if (row.documentId) {
            // Stored by an earlier attempt: its event says what it counted.
            const [stored] = await tx.select({ payload: events.payload }).from(events).where(eq(events.idempotencyKey, eventKey('research-completed', req)));
            const counts = (stored?.payload ?? {}) as { findings?: number; citations?: number };
            result = { documentId: row.documentId, findings: counts.findings ?? 0, citations: counts.citations ?? 0 };
          } else {
            const checked = checkCitations(synthesis!.markdown, new Set(numbered.map((f) => f.n)));
            const cited = checked.cited.map((n) => ({ n, quote: numbered[n - 1]!.quote, title: numbered[n - 1]!.sourceTitle }));
            const content = storable(withCitedPassages(checked.markdown, cited));
            const title = storable(`${TITLES[req.kind]} v${req.version}: ${synthesis!.title}`.slice(0, TITLE_MAX_CHARS));
            const [doc] = await tx.insert(documents).values({
              caseId: req.caseId, userId: req.userId, source: 'inquiry', title, contentType: 'text/markdown', contentHash: contentHash(content), content,
            }).returning({ id: documents.id });
            await tx.update(inquiryDocuments).set({ documentId: doc!.id, updatedAt: sql`now()` })
              .where(and(eq(inquiryDocuments.inquiryId, req.inquiryId), eq(inquiryDocuments.kind, req.kind), eq(inquiryDocuments.version, req.version)));
            result = { documentId: doc!.id, findings: numbered.length, citations: cited.length };
            await emitEvent(tx, {
              type: 'RESEARCH_COMPLETED', userId: req.userId, caseId: req.caseId, documentId: doc!.id,
              payload: { inquiryId: req.inquiryId, kind: req.kind, version: req.version, documentId: doc!.id, findings: numbered.length, citations: cited.length, invalidCitations: checked.invalid },
              idempotencyKey: eventKey('research-completed', req),
            });
          }
          return {
            result,
            record: {
              step: 'write',
              content: `Writing the ${req.kind} from ${result.findings} finding(s)`,
              counts: { findings: result.findings, citations: result.citations, documentId: result.documentId, version: req.version },
            },
          };
        },
      );
    },

    /** The document is searchable: the version completes, with `DOCUMENT_ADDED` and `WORKFLOW_COMPLETED` (each once). */
    async finishInquiryDocument(req: InquiryVersionRef & { documentId: string }): Promise<void> {
      await db.transaction(async (tx) => {
        const [row] = await versionRow(tx, req).for('update');
        if (!row) throw notFound(`inquiry ${req.inquiryId} ${req.kind} version ${req.version}`);
        const [doc] = await tx.select({ status: documents.processingStatus, caseId: documents.caseId, userId: documents.userId, chunks: documents.chunkCount })
          .from(documents).where(eq(documents.id, req.documentId));
        if (!doc) throw notFound(`document ${req.documentId}`);
        if (doc.status !== 'completed') throw failure('ValidationError', `the inquiry's document is ${doc.status}, not searchable`);
        await tx.update(inquiryDocuments).set({ status: 'completed', error: null, updatedAt: sql`now()` })
          .where(and(eq(inquiryDocuments.inquiryId, req.inquiryId), eq(inquiryDocuments.kind, req.kind), eq(inquiryDocuments.version, req.version)));
        const about = { userId: doc.userId, caseId: doc.caseId, documentId: req.documentId };
        const payload = { inquiryId: req.inquiryId, kind: req.kind, version: req.version, documentId: req.documentId };
        await emitEvent(tx, { ...about, type: 'DOCUMENT_ADDED', payload: { ...payload, source: 'inquiry', chunks: doc.chunks }, idempotencyKey: eventKey('document-added', req) });
        await emitEvent(tx, { ...about, type: 'WORKFLOW_COMPLETED', payload, idempotencyKey: eventKey('completed', req) });
      });
    },

    /** The document's processing status and error (the workflow waits on a run it did not start). */
    async inquiryDocumentStatus(req: { documentId: string }): Promise<{ status: string; error: string | null }> {
      const [doc] = await db.select({ status: documents.processingStatus, error: documents.error }).from(documents).where(eq(documents.id, req.documentId));
      if (!doc) throw notFound(`document ${req.documentId}`);
      return doc;
    },

    /** Every way out but success: this run's version `failed` with the reason (none claimed: nothing to mark). */
    async markInquiryFailed(req: { inquiryId: string; kind: InquiryKind; reason: string }): Promise<void> {
      const { runId } = currentRun();
      await db.update(inquiryDocuments).set({ status: 'failed', error: req.reason.slice(0, REASON_MAX_CHARS), updatedAt: sql`now()` })
        .where(and(eq(inquiryDocuments.inquiryId, req.inquiryId), eq(inquiryDocuments.kind, req.kind), eq(inquiryDocuments.runId, runId ?? ''),
          eq(inquiryDocuments.status, 'running')));
    },
  };
}
