/**
 * `GET /v1/workflows/:workflowId/progress` (Decision 19): a workflow id's `run_progress`
 * log as server-sent events. It streams the latest run of the id (or, with `Last-Event-ID`,
 * the run that id names, from just after it), follows continue-as-new run by run, and
 * ends with `event: end` when the run it is on closes any other way. It polls the table
 * (no LISTEN/NOTIFY), so it works on the embedded database too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { and, asc, eq, gt } from 'drizzle-orm';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { runProgress } from '../../activities/db/schema/index.js';
import type { RouteDeps } from '../app.js';
import type { AuthUser } from '../auth.js';
import { badRequest, HttpError, temporalCall } from '../errors.js';
import { decodeEventId, encodeEventId, type ProgressPosition } from '../progress-cursor.js';
import { describeVisibleRun, isClosed } from '../runs.js';
import { openSse, type SseChannel } from '../sse.js';
import { withErrors } from './chat-schemas.js';
import { workflowParams } from './workflows.js';

export interface ProgressStreamConfig {
  /** How often an open stream reads new rows and checks whether its run closed. */
  pollIntervalMs: number;
  /** A `: ping` comment after this long with nothing sent. */
  heartbeatMs: number;
}

export const DEFAULT_PROGRESS_STREAM: ProgressStreamConfig = { pollIntervalMs: 500, heartbeatMs: 15_000 };
/** Rows per read: a long log is sent in pages without holding it all in memory. */
const PAGE_ROWS = 100;
/** How long an EventSource waits before it reconnects (it then sends Last-Event-ID). */
const RETRY_MS = 1_000;
/** temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT (@temporalio/proto is not a direct dependency). */
const CLOSE_EVENT_ONLY = 2;

interface Follower {
  deps: RouteDeps;
  user: AuthUser;
  workflowId: string;
  channel: SseChannel;
  config: ProgressStreamConfig;
}

/** Sends the run's rows after the position, page by page; answers the new position. */
async function sendRows(f: Follower, position: ProgressPosition): Promise<ProgressPosition> {
  let afterSeq = position.afterSeq;
  for (;;) {
    const rows = await f.deps.db
      .select({ seq: runProgress.seq, payload: runProgress.payload })
      .from(runProgress)
      .where(and(eq(runProgress.runId, position.runId), eq(runProgress.workflowId, f.workflowId), gt(runProgress.seq, afterSeq)))
      .orderBy(asc(runProgress.seq))
      .limit(PAGE_ROWS);
    for (const row of rows) {
      if (f.channel.signal.aborted) return { runId: position.runId, afterSeq };
      await f.channel.send({ id: encodeEventId({ runId: position.runId, afterSeq: row.seq }), event: 'progress', data: row.payload });
      afterSeq = row.seq;
    }
    if (rows.length < PAGE_ROWS) return { runId: position.runId, afterSeq };
  }
}

/**
 * The run a continued-as-new run handed over to, from its close event: not the latest run
 * of the id, since several runs may have passed while the client was away.
 */
async function nextRunId(temporal: Client, workflowId: string, runId: string): Promise<string> {
  const { history } = await temporalCall(temporal, () =>
    temporal.workflowService.getWorkflowExecutionHistory({
      namespace: temporal.options.namespace,
      execution: { workflowId, runId },
      historyEventFilterType: CLOSE_EVENT_ONLY,
    }),
  );
  const next = history?.events?.[0]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  if (!next) throw new Error(`run ${runId} of ${workflowId} continued as new, but its close event names no next run`);
  return next;
}

async function follow(f: Follower, start: ProgressPosition): Promise<void> {
  let position = start;
  while (!f.channel.signal.aborted) {
    // The status is read before the rows: a run that was closed then has all its rows committed.
    const run = await describeVisibleRun(f.deps.temporal, f.user, f.workflowId, position.runId);
    position = await sendRows(f, position);
    const status = run.description.status.name;
    if (status === 'CONTINUED_AS_NEW') {
      position = { runId: await nextRunId(f.deps.temporal, f.workflowId, position.runId), afterSeq: -1 };
      continue;
    }
    if (isClosed(status)) return f.channel.send({ event: 'end', data: { status, runId: position.runId } });
    await f.channel.heartbeat(f.config.heartbeatMs);
    await sleep(f.config.pollIntervalMs, undefined, { signal: f.channel.signal }).catch(() => {});
  }
}

/** Where a stream starts: just after the client's last event, or at the start of the latest run. */
async function startPosition(deps: RouteDeps, user: AuthUser, workflowId: string, lastEventId: string | undefined): Promise<ProgressPosition> {
  const latest = await describeVisibleRun(deps.temporal, user, workflowId);
  if (lastEventId === undefined) return { runId: latest.description.runId, afterSeq: -1 };
  const cursor = decodeEventId(lastEventId);
  if (!cursor) throw badRequest('last-event-id', 'is not an event id of this stream');
  try {
    await describeVisibleRun(deps.temporal, user, workflowId, cursor.runId);
  } catch (err) {
    if (err instanceof HttpError && err.statusCode === 404) throw badRequest('last-event-id', 'names no run of this workflow');
    throw err;
  }
  return cursor;
}

function logEnd(log: FastifyBaseLogger, err: unknown): void {
  // The client reconnects with Last-Event-ID and resumes; nothing is lost by ending here.
  log.warn({ err }, 'progress stream ended early');
}

export async function progressRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const config = deps.config.progress ?? DEFAULT_PROGRESS_STREAM;
  const open = new Set<SseChannel>();
  // Streams would otherwise hold a closing gateway open until their clients leave.
  app.addHook('preClose', async () => {
    for (const channel of open) channel.end();
  });

  app.get<{ Params: { workflowId: string }; Headers: { 'last-event-id'?: string } }>(
    '/v1/workflows/:workflowId/progress',
    {
      // A HEAD would open a stream whose body Fastify drains to nowhere.
      exposeHeadRoute: false,
      schema: {
        tags: ['runs'],
        description:
          'Server-sent events: `event: progress` per run_progress row (`id:` resumes with Last-Event-ID), `: ping` while idle, `event: end` with the status when the run closes (close the EventSource then). Follows continue-as-new.',
        params: workflowParams,
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'string', minLength: 1, maxLength: 200, description: 'the id of the last event received: the stream resumes after it' } },
        },
        response: withErrors({
          200: { description: 'the progress stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        }),
      },
    },
    async (request, reply) => {
      const { workflowId } = request.params;
      const start = await startPosition(deps, request.user, workflowId, request.headers['last-event-id']);
      const channel = openSse(reply, { retryMs: RETRY_MS });
      open.add(channel);
      void follow({ deps, user: request.user, workflowId, channel, config }, start)
        .catch((err: unknown) => logEnd(request.log, err))
        .finally(() => {
          open.delete(channel);
          channel.end();
        });
      return reply.send(channel.stream);
    },
  );
}
