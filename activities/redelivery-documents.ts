/**
 * The redelivery job's documents (Decision 31): a document left `pending` past the grace time
 * was committed by a gateway (an upload, a reprocess) or the URL pipeline whose start may never
 * have landed. A unit is one document. One whose `document-<id>` run is open is left to it (the
 * run takes it at its first step, or a backlog of the `ingest` queue holds it): a signal there
 * would only cost an empty continuation. Otherwise it is handed over again through the
 * documents' hand-off (signal-with-start of `documentRequested`): a run takes a document only
 * while it waits, so a repeat is harmless.
 */
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { documents } from './db/schema/index.js';
import { documentHandOff } from './documents/start.js';
import { documentSummaryColumns } from './documents/store.js';
import { redeliver, runIsOpen } from './handoff.js';
import type { PendingKind } from './redelivery.js';
import { pendingRowsPage } from './redelivery-rows.js';
import { workflowIds, type QueueNames } from '../workflows/types.js';

/** How long the look at the document's run may take. */
const DESCRIBE_TIMEOUT_MS = 8_000;

const pending = eq(documents.processingStatus, 'pending');

export function pendingDocuments(db: Db, temporal: Client, queues: QueueNames): PendingKind {
  return {
    page: (after, olderThan, size) => pendingRowsPage(db, { table: documents, id: documents.id, createdAt: documents.createdAt, pending }, after, olderThan, size),
    async resend(documentId, _olderThan, { signal }) {
      const [doc] = await db.select(documentSummaryColumns).from(documents).where(and(eq(documents.id, documentId), pending));
      // Taken by a run, or failed, since the page was read.
      if (!doc) return { examined: 0, resent: 0 };
      const workflowId = workflowIds.document(doc.id);
      const open = await temporal.withAbortSignal(signal, () => temporal.withDeadline(Date.now() + DESCRIBE_TIMEOUT_MS, () => runIsOpen(temporal, workflowId)));
      if (open) {
        log.info('redelivery: document pending, its run is open: left to it', { documentId, workflowId });
        return { examined: 1, resent: 0 };
      }
      const kind = documentHandOff(temporal, queues);
      await redeliver((deadline) => temporal.withAbortSignal(signal, () => kind.call(doc, deadline)), signal);
      log.info('redelivery: document handed over again', { documentId, workflowId });
      return { examined: 1, resent: 1 };
    },
  };
}
