/**
 * Which workflows still have an open run (Decision 33: the cleanup deletes nothing a running
 * workflow reads). One visibility query per chunk of ids, so a batch of rows costs a few
 * Temporal calls, never one per row. Visibility is eventually consistent: a run started a
 * moment ago may be missing, which does not matter for rows past a retention of days.
 */
import type { Client } from '@temporalio/client';

/** Ids per query: a visibility query's length stays well under the server's limit. */
const IDS_PER_QUERY = 50;

const quoted = (id: string) => `"${id.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export interface OpenRuns {
  workflowIds: Set<string>;
  runIds: Set<string>;
}

export async function openRuns(temporal: Client, workflowIds: Iterable<string>): Promise<OpenRuns> {
  const ids = [...new Set(workflowIds)];
  const open: OpenRuns = { workflowIds: new Set(), runIds: new Set() };
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const chunk = ids.slice(i, i + IDS_PER_QUERY);
    const query = `ExecutionStatus = "Running" AND WorkflowId IN (${chunk.map(quoted).join(', ')})`;
    for await (const run of temporal.workflow.list({ query })) {
      open.workflowIds.add(run.workflowId);
      open.runIds.add(run.runId);
    }
  }
  return open;
}
