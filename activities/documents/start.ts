/**
 * Handing a stored document to `processDocument` (`document-<documentId>`, queue `ingest`,
 * CaseId and UserId): the gateway and the redelivery job (through the shared hand-off,
 * `documentHandOff`), the URL pipeline (for a failed document found again) and the tests use
 * this one call. It is a signal-with-start of `documentRequested`: an open run
 * is told, so one that was closing looks again (a reprocess that met it is not lost); else a
 * new run starts, after a closed one too (ALLOW_DUPLICATE).
 *
 * Repeating it is safe: a run takes the document only while it waits (`pending`), so a start
 * repeated after the run it repeats has ended finds the document taken and does nothing.
 * Processing a document again is a decision of its own: it is moved back to `pending`
 * (`transitionDocument`, guarded in SQL) before the start, by one caller only.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';
import type { HandOffKind } from '../handoff.js';
import { documentRequestedSignal } from '../../workflows/messages.js';
import { DOCUMENT_EXECUTION_TIMEOUT } from '../../workflows/policies.js';
import { searchAttributes } from '../../workflows/search-attributes.js';
import { workflowIds, type ProcessDocumentInput, type QueueNames } from '../../workflows/types.js';
import { findDocumentStatus, findOwnDocument, transitionDocument, type DocumentSummary } from './store.js';

export interface StartOptions {
  /** Absolute deadline (ms since epoch) of the call. */
  deadline: number;
  /** Test-only knobs of the input (a short time limit or outage hold). */
  overrides?: Pick<ProcessDocumentInput, 'timeLimitMs' | 'outageHoldMs'>;
}

/** How long the URL pipeline's restart waits for the workflow service, per attempt. */
const RESTART_DEADLINE_MS = 10_000;

/** Starts (or tells) the document's run; resolves with its workflow id. */
export async function startProcessDocument(temporal: Client, input: ProcessDocumentInput, options: StartOptions): Promise<string> {
  const workflowId = workflowIds.document(input.documentId);
  await temporal.withDeadline(options.deadline, () =>
    temporal.workflow.signalWithStart('processDocument', {
      workflowId,
      taskQueue: input.queues.ingest,
      args: [{ ...input, ...options.overrides }],
      signal: documentRequestedSignal,
      signalArgs: [],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowExecutionTimeout: DOCUMENT_EXECUTION_TIMEOUT,
      typedSearchAttributes: searchAttributes({ caseId: input.caseId, userId: input.userId, correlationId: input.correlationId }),
      staticSummary: `Process document ${input.documentId} of case ${input.caseId}`,
    }),
  );
  return workflowId;
}

/** What a document whose start certainly failed says; uploading or reprocessing it starts it. */
export const DOCUMENT_START_FAILED = 'the document could not be handed to its workflow: upload it again or reprocess it';

/**
 * The documents' kind of the shared hand-off (activities/handoff.ts): the gateway's upload and
 * reprocess, and the redelivery job. One correlation id per hand-off, whatever its attempts.
 */
export function documentHandOff(temporal: Client, queues: QueueNames, correlationId: string = randomUUID()): HandOffKind<DocumentSummary> {
  return {
    name: 'document',
    call: (doc, deadline) =>
      startProcessDocument(temporal, { documentId: doc.id, caseId: doc.caseId, userId: doc.userId, correlationId, queues }, { deadline }),
    failedReason: () => DOCUMENT_START_FAILED,
    fail: (tx, doc, reason) => transitionDocument(tx, doc.id, ['pending'], { processingStatus: 'failed', error: reason }),
    reload: (db, doc) => findOwnDocument(db, doc.userId, doc.id),
  };
}

export function createDocumentStartActivities({ db, temporal }: { db: Db; temporal: Client }) {
  return {
    /**
     * fetchUrlAndIngest found its page's document `failed`: back to `pending`, then handed
     * over. A retried attempt finds it pending (its own earlier move, or a concurrent
     * reprocess) and hands it over again, which is harmless; taken or ended meanwhile, it is
     * another run's, and nothing is started.
     */
    async reopenFailedDocument(input: ProcessDocumentInput): Promise<{ started: boolean }> {
      await transitionDocument(db, input.documentId, ['failed'], { processingStatus: 'pending', error: null });
      if ((await findDocumentStatus(db, input.documentId)) !== 'pending') return { started: false };
      await startProcessDocument(temporal, input, { deadline: Date.now() + RESTART_DEADLINE_MS });
      return { started: true };
    },
  };
}
