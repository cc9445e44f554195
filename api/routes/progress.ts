/**
 * `GET /v1/workflows/:workflowId/progress` (Decision 19): a workflow id's `run_progress`
 * log as server-sent events. It streams the latest run of the id (or, with `Last-Event-ID`,
 * the run that id names, from just after it), follows continue-as-new run by run, and
 * ends with `event: end` when the run it is on closes any other way. It polls the table
 * (no LISTEN/NOTIFY), so it works on the embedded database too.
 *
 * What a stream costs: one row query per poll, and a Temporal describe only when the run may
 * have closed unseen: at the first poll that finds no new row, then at growing intervals
 * (up to `statusIntervalMs`) while the run stays quiet; never while rows keep coming. A user
 * holds at most `streamsPerUser` streams open on one gateway (429 past it). A reconnect to a
 * closed run whose every event it already has is a 204, which stops an EventSource for good.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { and, asc, eq, gt } from 'drizzle-orm';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { runProgress } from '../../activities/db/schema/index.js';
import type { RouteDeps } from '../app.js';
import type { AuthUser } from '../auth.js';
import { badRequest, HttpError, temporalCall, tooManyRequests } from '../errors.js';
import { decodeEventId, encodeEventId, type ProgressPosition } from '../progress-cursor.js';
import { describeVisibleRun, isClosed, type VisibleRun } from '../runs.js';
import { openSse, type SseChannel } from '../sse.js';
import { withErrors } from './chat-schemas.js';
import { workflowParams } from './workflows.js';

export interface ProgressStreamConfig {
  /** How often an open stream reads new rows. */
  pollIntervalMs: number;
  /** A `: ping` comment after this long with nothing sent. */
  heartbeatMs: number;
  /** The longest a quiet run goes without a describe (how late a stream may notice that it closed). */
  statusIntervalMs: number;
  /** Streams one user may hold open on this gateway (PROGRESS_STREAMS_PER_USER). */
  streamsPerUser: number;
}

export const DEFAULT_PROGRESS_STREAM: ProgressStreamConfig = { pollIntervalMs: 500, heartbeatMs: 15_000, statusIntervalMs: 5_000, streamsPerUser: 10 };
/** Rows per read: a long log is sent in pages without holding it all in memory. */
const PAGE_ROWS = 100;
/** How long an EventSource waits before it reconnects (it then sends Last-Event-ID). */
const RETRY_MS = 1_000;
/** A refused stream may try again once others had time to end. */
const FULL_RETRY_AFTER_S = 10;
/** temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT (@temporalio/proto is not a direct dependency). */
const CLOSE_EVENT_ONLY = 2;

interface Follower {
  deps: RouteDeps;
  user: AuthUser;
  workflowId: string;
  channel: SseChannel;
  config: ProgressStreamConfig;
}

const rowsAfter = (workflowId: string, position: ProgressPosition) =>
  and(eq(runProgress.runId, position.runId), eq(runProgress.workflowId, workflowId), gt(runProgress.seq, position.afterSeq));

/** Sends the run's rows after the position, page by page; answers the new position. */
async function sendRows(f: Follower, position: ProgressPosition): Promise<ProgressPosition> {
  let afterSeq = position.afterSeq;
  for (;;) {
    const rows = await f.deps.db
      .select({ seq: runProgress.seq, payload: runProgress.payload })
      .from(runProgress)
      .where(rowsAfter(f.workflowId, { runId: position.runId, afterSeq }))
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

/**
 * When to describe the run. A run that writes rows is alive; once the rows stop, it may
 * have closed, so the first quiet poll describes it, then the gap doubles while it stays
 * quiet, up to `statusIntervalMs`. New rows start over.
 */
function statusPacer(config: ProgressStreamConfig) {
  let gap = config.pollIntervalMs;
  let dueAt = 0;
  return {
    due: () => Date.now() >= dueAt,
    /** The run was described running. */
    described() {
      dueAt = Date.now() + gap;
      gap = Math.min(gap * 2, config.statusIntervalMs);
    },
    /** New rows came (or a new run began): describe at the first poll that brings none. */
    progressed() {
      gap = config.pollIntervalMs;
      dueAt = 0;
    },
  };
}

/** Streams the rows run by run until the run closes or the client leaves. */
async function follow(f: Follower, start: StreamStart): Promise<void> {
  let position = start.position;
  // Described when the stream opened, before the first read.
  let run: VisibleRun | undefined = start.run;
  const pacer = statusPacer(f.config);
  while (!f.channel.signal.aborted) {
    const before = position.afterSeq;
    position = await sendRows(f, position);
    if (!run && position.afterSeq === before && pacer.due()) {
      // Quiet: the run may have closed. Its status first, then the rows once more: a run
      // that was closed then has all its rows committed.
      run = await describeVisibleRun(f.deps.temporal, f.user, f.workflowId, position.runId);
      position = await sendRows(f, position);
    }
    if (run) {
      const status = run.description.status.name;
      run = undefined;
      if (status === 'CONTINUED_AS_NEW') {
        position = { runId: await nextRunId(f.deps.temporal, f.workflowId, position.runId), afterSeq: -1 };
        pacer.progressed();
        continue;
      }
      // The id lets a client that reconnects anyway be told with a 204 that nothing is left.
      if (isClosed(status)) return f.channel.send({ id: encodeEventId(position), event: 'end', data: { status, runId: position.runId } });
      pacer.described();
    } else if (position.afterSeq !== before) {
      pacer.progressed();
    }
    await f.channel.heartbeat(f.config.heartbeatMs);
    await sleep(f.config.pollIntervalMs, undefined, { signal: f.channel.signal }).catch(() => {});
  }
}

interface StreamStart {
  position: ProgressPosition;
  /** The run at `position`, described just now. */
  run: VisibleRun;
  /** The client named its last event (a reconnect). */
  resumed: boolean;
}

/** Where a stream starts: just after the client's last event, or at the start of the latest run. */
async function startPosition(deps: RouteDeps, user: AuthUser, workflowId: string, lastEventId: string | undefined): Promise<StreamStart> {
  const latest = await describeVisibleRun(deps.temporal, user, workflowId);
  if (lastEventId === undefined) return { position: { runId: latest.description.runId, afterSeq: -1 }, run: latest, resumed: false };
  const cursor = decodeEventId(lastEventId);
  if (!cursor) throw badRequest('last-event-id', 'is not an event id of this stream');
  try {
    return { position: cursor, run: await describeVisibleRun(deps.temporal, user, workflowId, cursor.runId), resumed: true };
  } catch (err) {
    if (err instanceof HttpError && err.statusCode === 404) throw badRequest('last-event-id', 'names no run of this workflow');
    throw err;
  }
}

/** A reconnect after the last event of a run that closed (other than by continuing as new): nothing is left to send. */
async function nothingLeft(deps: RouteDeps, workflowId: string, start: StreamStart): Promise<boolean> {
  const status = start.run.description.status.name;
  if (!start.resumed || !isClosed(status) || status === 'CONTINUED_AS_NEW') return false;
  const [row] = await deps.db.select({ seq: runProgress.seq }).from(runProgress).where(rowsAfter(workflowId, start.position)).limit(1);
  return row === undefined;
}

/** Open streams per user in this process: like the rate limiter, N gateways allow N times the cap. */
function streamSlots(perUser: number) {
  const open = new Map<string, number>();
  return {
    /** Takes a slot (429 when the user holds them all); the function gives it back, once. */
    take(userId: string): () => void {
      const held = open.get(userId) ?? 0;
      if (held >= perUser) {
        throw tooManyRequests(`at most ${perUser} progress streams may be open at once: close one first`, 'TOO_MANY_STREAMS', FULL_RETRY_AFTER_S);
      }
      open.set(userId, held + 1);
      let given = false;
      return () => {
        if (given) return;
        given = true;
        const left = (open.get(userId) ?? 1) - 1;
        if (left > 0) open.set(userId, left);
        else open.delete(userId);
      };
    },
  };
}

function logEnd(log: FastifyBaseLogger, err: unknown): void {
  // The client reconnects with Last-Event-ID and resumes; nothing is lost by ending here.
  log.warn({ err }, 'progress stream ended early');
}

export async function progressRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const config = { ...DEFAULT_PROGRESS_STREAM, ...deps.config.progress };
  const slots = streamSlots(config.streamsPerUser);
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
          'Server-sent events: `event: progress` per run_progress row (`id:` resumes with Last-Event-ID), `: ping` while idle, `event: end` with the status when the run closes (close the EventSource then; a reconnect with its id is a 204). Follows continue-as-new. At most PROGRESS_STREAMS_PER_USER streams per user are open at once (429 with Retry-After past it).',
        params: workflowParams,
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'string', minLength: 1, maxLength: 200, description: 'the id of the last event received: the stream resumes after it' } },
        },
        response: withErrors({
          200: { description: 'the progress stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          204: { description: 'the run closed and the client has every event: stop reconnecting', type: 'null' },
        }),
      },
    },
    async (request, reply) => {
      const { workflowId } = request.params;
      const release = slots.take(request.user.id);
      try {
        const start = await startPosition(deps, request.user, workflowId, request.headers['last-event-id']);
        if (await nothingLeft(deps, workflowId, start)) {
          release();
          return reply.code(204).send();
        }
        const channel = openSse(reply, { retryMs: RETRY_MS });
        open.add(channel);
        void follow({ deps, user: request.user, workflowId, channel, config }, start)
          .catch((err: unknown) => logEnd(request.log, err))
          .finally(() => {
            open.delete(channel);
            channel.end();
            release();
          });
        return reply.send(channel.stream);
      } catch (err) {
        release();
        throw err;
      }
    },
  );
}
