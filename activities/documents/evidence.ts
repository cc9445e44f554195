/**
 * After processDocument completed a document: its most informative passages become evidence
 * of its case (the rule: ../evidence/passages.ts), stored by the one evidence store and
 * handed back to the workflow, which starts their `ingestEvidence` runs as children that
 * outlive it (Decision 31); and the case's brief is told (best effort, Decision 27). Only a
 * document a person uploaded or fetched gives evidence: one an agent or an inquiry generated
 * would be the case's own conclusions coming back as proof of themselves.
 */
import type { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import type { BriefConfig } from '../../workers/config.js';
import type { QueueNames } from '../../workflows/types.js';
import { tellBrief } from '../briefs/tell.js';
import type { Db } from '../db/client.js';
import { documents, type DocumentSource } from '../db/schema/index.js';
import { notFound } from '../errors.js';
import { scanPassages } from '../evidence/passages.js';
import { storeEvidence } from '../evidence/store.js';
import { recordProgress } from '../progress.js';
import { DEFAULT_DOCUMENT_SETTINGS, type DocumentSettings } from './settings.js';

export interface DocumentEvidenceDeps {
  db: Db;
  temporal: Client;
  config: { queues: QueueNames; documents?: DocumentSettings; brief?: BriefConfig };
}

export interface DocumentEvidenceRequest {
  documentId: string;
  /** The progress row that reports it: the one after `indexed`. */
  seq: number;
}

/** An item the passages became; ids only (the text stays in Postgres). */
export interface DocumentEvidenceItem {
  evidenceId: string;
  /** sha256 (hex) of its normalised text: it names the item's run. */
  contentHash: string;
  /** The item waits for a run (new, failed before, or left pending): start it. One processing or completed is not. */
  start: boolean;
}

export interface DocumentEvidenceResult {
  items: DocumentEvidenceItem[];
  /** False when the brief could not be told (logged; its next evolution reads the evidence anyway). */
  briefTold: boolean;
}

/** The sources whose passages become evidence. */
const EVIDENCE_SOURCES: ReadonlySet<DocumentSource> = new Set(['upload', 'url']);

/** Lets other work on the worker's event loop in between slices of a large document. */
const pause = () => new Promise<void>((resolve) => setImmediate(resolve));

async function passagesOf(text: string, max: number) {
  const scan = scanPassages(text, max);
  for (;;) {
    const step = scan.next();
    if (step.done) return step.value;
    await pause();
  }
}

export function createDocumentEvidenceActivities(deps: DocumentEvidenceDeps) {
  const { db, temporal, config } = deps;
  const max = config.documents?.evidenceMax ?? DEFAULT_DOCUMENT_SETTINGS.evidenceMax;

  return {
    /**
     * Stores the completed document's passages as `pending` evidence (keyed by (case, text
     * hash): a retry stores nothing twice, and finds what it stored), reports them in the
     * run's progress, and tells the brief. A document no longer `completed` (processed again
     * meanwhile) gives nothing now: the run that completes it again will.
     */
    async deriveDocumentEvidence(req: DocumentEvidenceRequest): Promise<DocumentEvidenceResult> {
      const [doc] = await db
        .select({
          caseId: documents.caseId, userId: documents.userId, source: documents.source, title: documents.title, url: documents.url,
          status: documents.processingStatus, text: documents.extractedText,
        })
        .from(documents)
        .where(eq(documents.id, req.documentId));
      if (!doc) throw notFound(`document ${req.documentId}`);
      if (doc.status !== 'completed') return { items: [], briefTold: false };
      const passages = EVIDENCE_SOURCES.has(doc.source) && doc.text ? await passagesOf(doc.text, max) : [];
      const items = await db.transaction(async (tx) => {
        const stored: DocumentEvidenceItem[] = [];
        for (const passage of passages) {
          const { evidence: item } = await storeEvidence(tx, {
            caseId: doc.caseId, userId: doc.userId, text: passage.text, source: 'document',
            sourceTitle: doc.title, sourceUrl: doc.url, documentId: req.documentId,
          });
          stored.push({ evidenceId: item.id, contentHash: item.contentHash, start: item.status === 'pending' });
        }
        await recordProgress(tx, { seq: req.seq, payload: { step: 'evidence', items: stored.length } });
        return stored;
      });
      const briefTold = await tellBrief(temporal, { caseId: doc.caseId, userId: doc.userId }, { kind: 'document-completed', id: req.documentId }, {
        queues: config.queues, brief: config.brief,
      });
      return { items, briefTold };
    },
  };
}
