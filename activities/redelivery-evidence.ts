/**
 * The redelivery job's evidence (Decision 31): an item left `pending` past the grace time was
 * committed by a gateway (or a pipeline that produces evidence) whose start may never have
 * landed. A unit is one item, handed over again through evidence's hand-off: the start joins an
 * open run of its id (USE_EXISTING), follows a failed one, and never repeats a completed one,
 * so a repeat is harmless and needs no look at the run first.
 */
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { evidence } from './db/schema/index.js';
import { evidenceHandOff } from './evidence/start.js';
import { evidenceSummaryColumns } from './evidence/store.js';
import { redeliver } from './handoff.js';
import type { PendingKind } from './redelivery.js';
import { pendingRowsPage } from './redelivery-rows.js';
import type { QueueNames } from '../workflows/types.js';

const pending = eq(evidence.status, 'pending');

export function pendingEvidence(db: Db, temporal: Client, queues: QueueNames): PendingKind {
  return {
    page: (after, olderThan, size) => pendingRowsPage(db, { table: evidence, id: evidence.id, createdAt: evidence.createdAt, pending }, after, olderThan, size),
    async resend(evidenceId, _olderThan, { signal }) {
      const [item] = await db.select(evidenceSummaryColumns).from(evidence).where(and(eq(evidence.id, evidenceId), pending));
      // Taken by a run, or failed, since the page was read.
      if (!item) return { examined: 0, resent: 0 };
      const kind = evidenceHandOff(temporal, queues);
      const workflowId = await redeliver((deadline) => temporal.withAbortSignal(signal, () => kind.call(item, deadline)), signal);
      log.info('redelivery: evidence handed over again', { evidenceId, workflowId });
      return { examined: 1, resent: 1 };
    },
  };
}
