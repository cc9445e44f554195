/**
 * Chunk and embed, one activity: the chunks are cut in memory (deterministic, so every
 * attempt cuts the same ones) and stored batch by batch with their vectors in
 * `chunk_drafts`, so a chunk is written once, with its vector. After each stored batch the
 * activity heartbeats its index; a retry after a worker crash resumes after the batch its
 * heartbeat names, and skips any later batch that was stored before the heartbeat got out.
 */
import { Context } from '@temporalio/activity';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { chunkDrafts, documents } from '../db/schema/index.js';
import { failure, notFound } from '../errors.js';
import type { Embedder } from '../llm/types.js';
import { recordProgress } from '../progress.js';
import { meterAttempt, type AttemptMeter } from '../usage.js';
import type { Chunk } from './chunk.js';
import type { DocumentSettings } from './settings.js';
import { keepAlive } from '../heartbeat.js';
import type { ParsePool } from '../parse/pool.js';

/** What the embedding heartbeats: the last batch stored, under the plan that cut the batches. */
export interface EmbedCheckpoint {
  /** Chunks, sizes and batch size: a retry under another plan cannot trust the batches. */
  plan: string;
  lastBatch: number;
}

export interface EmbedRequest {
  documentId: string;
  /** The seq of the `chunked` progress row; batch b reports at firstSeq + 1 + b. */
  firstSeq: number;
}

export interface EmbedResult {
  chunks: number;
  batches: number;
  /** The seq after the last `embedded` row: the next step's. */
  nextSeq: number;
}

/** The run id of the activity running now: drafts, events and progress are keyed by it. */
export function currentRunId(): string {
  const run = Context.current().info.workflowExecution;
  if (!run) throw failure('ValidationError', 'document activities run inside processDocument only');
  return run.runId;
}


async function storedOrdinals(db: Db, documentId: string, runId: string): Promise<Set<number>> {
  const rows = await db
    .select({ ordinal: chunkDrafts.ordinal })
    .from(chunkDrafts)
    .where(and(eq(chunkDrafts.documentId, documentId), eq(chunkDrafts.runId, runId)));
  return new Set(rows.map((r) => r.ordinal));
}

export function createEmbedActivities({ db, embedder, parsePool }: { db: Db; embedder: Embedder; parsePool: ParsePool }, settings: DocumentSettings) {
  const sizes = { chunkTokens: settings.chunkTokens, overlapTokens: settings.chunkOverlapTokens };
  const batchSize = settings.embedBatchSize;

  return {
    async embedDocumentChunks({ documentId, firstSeq }: EmbedRequest): Promise<EmbedResult> {
      const ctx = Context.current();
      const runId = currentRunId();
      const [doc] = await db
        .select({ text: documents.extractedText, userId: documents.userId })
        .from(documents)
        .where(eq(documents.id, documentId));
      if (!doc) throw notFound(`document ${documentId}`);
      const { text } = doc;
      if (text === null) throw failure('ValidationError', 'the document has no extracted text to chunk');
      // Chunking counts tokens over the whole text: off the event loop, beating the last
      // checkpoint (a beat without it would lose the resume point of a retry).
      const pieces = await keepAlive(
        () => parsePool.run({ kind: 'chunks', text, sizes }, { signal: ctx.cancellationSignal }),
        () => ctx.info.heartbeatDetails as unknown,
      );
      const batches = Math.ceil(pieces.length / batchSize);
      const plan = `${pieces.length} chunks of ${sizes.chunkTokens}/${sizes.overlapTokens} tokens, ${batchSize} per batch`;

      let checkpoint = ctx.info.heartbeatDetails as EmbedCheckpoint | undefined;
      if (checkpoint && checkpoint.plan !== plan) {
        // Cut differently than the attempt before (the config changed): start over.
        await db.delete(chunkDrafts).where(and(eq(chunkDrafts.documentId, documentId), eq(chunkDrafts.runId, runId)));
        checkpoint = undefined;
      }
      await recordProgress(db, { seq: firstSeq, payload: { step: 'chunked', chunks: pieces.length } });
      ctx.heartbeat(checkpoint);
      const stored = await storedOrdinals(db, documentId, runId);
      const meter = meterAttempt(db, doc.userId);

      for (let b = (checkpoint?.lastBatch ?? -1) + 1; b < batches; b++) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        const first = b * batchSize;
        const batch = pieces.slice(first, first + batchSize);
        if (!batch.every((_, i) => stored.has(first + i))) {
          const vectors = await keepAlive(() => meter.call((call) => embedder.embed(batch.map((c) => c.text), call)), () => checkpoint);
          await storeBatch(meter, { documentId, runId, first, batch, vectors }, async (tx) => {
            const done = first + batch.length;
            await recordProgress(tx, { seq: firstSeq + 1 + b, payload: { step: 'embedded', embedded: done, of: pieces.length } });
          });
        }
        checkpoint = { plan, lastBatch: b };
        ctx.heartbeat(checkpoint);
      }
      return { chunks: pieces.length, batches, nextSeq: firstSeq + 1 + batches };
    },
  };
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

interface Batch {
  documentId: string;
  runId: string;
  first: number;
  batch: Chunk[];
  vectors: number[][];
}

/**
 * One batch's drafts, its calls' ledger rows and what reports them, in one transaction; a
 * batch stored before is a no-op. An answer refused here was paid for all the same: the meter
 * writes its rows when the transaction fails.
 */
async function storeBatch(meter: AttemptMeter, b: Batch, alsoWrite: (tx: Tx) => Promise<void>): Promise<void> {
  await meter.inTransaction(async (tx) => {
    if (b.vectors.length !== b.batch.length) {
      throw failure('LlmOutputInvalid', `the embedder returned ${b.vectors.length} vectors for ${b.batch.length} chunks`);
    }
    await tx
      .insert(chunkDrafts)
      .values(b.batch.map((c, i) => ({
        documentId: b.documentId,
        runId: b.runId,
        ordinal: b.first + i,
        text: c.text,
        tokenCount: c.tokens,
        embedding: b.vectors[i]!,
      })))
      .onConflictDoNothing();
    await alsoWrite(tx);
  });
}
