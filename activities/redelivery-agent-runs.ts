/**
 * The redelivery job's agent runs (Decisions 29, 31): an agent's or a case draft's start left
 * `pending` past the grace time was committed by a gateway, chat's step 1 or a draft whose
 * hand-over may never have landed. A unit is one row. One whose run is open is left to it (the
 * run takes its row at its first step; a backlog of its queue holds it); otherwise it is handed
 * over again through the agent runs' hand-off, from what the row holds (workflow type, queue
 * kind, input): an agent's start joins or follows as the first did, a draft's
 * signal-with-start starts a new run, which drafts nothing twice.
 */
import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { Db } from './db/client.js';
import { agentRuns } from './db/schema/index.js';
import { agentRunHandOff } from './agents/start.js';
import { redeliver, runIsOpen } from './handoff.js';
import type { PendingKind } from './redelivery.js';
import { pendingRowsPage } from './redelivery-rows.js';
import type { QueueNames } from '../workflows/types.js';

/** How long the look at the row's run may take. */
const DESCRIBE_TIMEOUT_MS = 8_000;

const pending = eq(agentRuns.status, 'pending');

export function pendingAgentRuns(db: Db, temporal: Client, queues: QueueNames): PendingKind {
  return {
    page: (after, olderThan, size) => pendingRowsPage(db, { table: agentRuns, id: agentRuns.id, createdAt: agentRuns.createdAt, pending }, after, olderThan, size),
    async resend(id, _olderThan, { signal }) {
      const [row] = await db.select().from(agentRuns).where(and(eq(agentRuns.id, id), pending));
      // Taken by its run, or failed, since the page was read.
      if (!row) return { examined: 0, resent: 0 };
      const open = await temporal.withAbortSignal(signal, () => temporal.withDeadline(Date.now() + DESCRIBE_TIMEOUT_MS, () => runIsOpen(temporal, row.workflowId)));
      if (open) {
        log.info('redelivery: agent run pending, its run is open: left to it', { workflowId: row.workflowId });
        return { examined: 1, resent: 0 };
      }
      const kind = agentRunHandOff(temporal, queues);
      await redeliver((deadline) => temporal.withAbortSignal(signal, () => kind.call(row, deadline)), signal);
      log.info('redelivery: agent run handed over again', { workflowId: row.workflowId, type: row.type });
      return { examined: 1, resent: 1 };
    },
  };
}
