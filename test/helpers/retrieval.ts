/** Documents and chunks, evidence and signals written straight into the tables, as their pipelines leave them, for retrieval tests. */
import { createHash, randomUUID } from 'node:crypto';
import type { Db } from '../../activities/db/client.js';
import { cases, chunks, documents, evidence, signals, users, type DocumentStatus, type EvidenceStatus, type SignalStatus } from '../../activities/db/schema/index.js';
import { hashEmbedding } from '../../activities/llm/local-embedder.js';

/** The `local` embedder's default dimensions. */
export const TEST_DIMENSIONS = 256;

export async function seedUser(db: Db, label = 'reader'): Promise<string> {
  const [row] = await db.insert(users).values({ name: `${label}-${randomUUID()}` }).returning({ id: users.id });
  return row!.id;
}

export async function seedCaseOf(db: Db, userId: string): Promise<string> {
  const [row] = await db.insert(cases).values({ userId, title: 'a case' }).returning({ id: cases.id });
  return row!.id;
}

/** A new user and a case of theirs: what most retrieval tests search in. */
export async function seedUserCase(db: Db): Promise<{ userId: string; caseId: string }> {
  const userId = await seedUser(db);
  return { userId, caseId: await seedCaseOf(db, userId) };
}

export interface SeedChunk {
  text: string;
  /** Absent: the `local` embedding of the text. */
  embedding?: number[];
}

export interface SeededDocument {
  documentId: string;
  /** Chunk ids by ordinal. */
  chunkIds: string[];
}

/** A document of the case with its chunks (ordinals 0..n-1); `completed` unless told otherwise. */
export async function seedDocument(
  db: Db,
  o: { caseId: string; userId: string; title?: string; status?: DocumentStatus; createdAt?: Date },
  passages: (string | SeedChunk)[],
): Promise<SeededDocument> {
  const text = passages.map((p) => (typeof p === 'string' ? p : p.text)).join('\n\n');
  const [doc] = await db
    .insert(documents)
    .values({
      caseId: o.caseId,
      userId: o.userId,
      source: 'upload',
      title: o.title ?? `doc ${randomUUID().slice(0, 8)}`,
      contentType: 'text/plain',
      contentHash: createHash('sha256').update(`${randomUUID()}${text}`).digest('hex'),
      content: text,
      extractedText: text,
      processingStatus: o.status ?? 'completed',
      chunkCount: passages.length,
      ...(o.createdAt ? { createdAt: o.createdAt } : {}),
    })
    .returning({ id: documents.id });
  const rows = passages.map((p, ordinal) => {
    const chunk = typeof p === 'string' ? { text: p } : p;
    return {
      documentId: doc!.id,
      caseId: o.caseId,
      ordinal,
      text: chunk.text,
      tokenCount: chunk.text.split(/\s+/).length,
      embedding: chunk.embedding ?? hashEmbedding(chunk.text, TEST_DIMENSIONS),
    };
  });
  const inserted = rows.length > 0 ? await db.insert(chunks).values(rows).returning({ id: chunks.id, ordinal: chunks.ordinal }) : [];
  return { documentId: doc!.id, chunkIds: inserted.sort((a, b) => a.ordinal - b.ordinal).map((r) => r.id) };
}

/** A unit vector along one axis: scripted embeddings whose cosines are known exactly. */
export function axis(index: number, dimensions = TEST_DIMENSIONS, wobble?: { index: number; weight: number }): number[] {
  const v = new Array<number>(dimensions).fill(0);
  v[index] = 1;
  if (wobble) v[wobble.index] = wobble.weight;
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** A piece of evidence of the case, as ingestion leaves it; embedded (locally) unless `embedding: null`. */
export async function seedEvidence(
  db: Db,
  o: { caseId: string; userId: string; status?: EvidenceStatus; sourceUrl?: string },
  text: string,
  embedding: number[] | null = hashEmbedding(text, TEST_DIMENSIONS),
): Promise<string> {
  const [row] = await db
    .insert(evidence)
    .values({
      caseId: o.caseId,
      userId: o.userId,
      text,
      contentHash: createHash('sha256').update(`${randomUUID()}${text}`).digest('hex'),
      sourceUrl: o.sourceUrl ?? null,
      status: o.status ?? 'completed',
      embedding,
    })
    .returning({ id: evidence.id });
  return row!.id;
}

/** A signal of the case: a thread's (that joined it) when `threadId` is given, else the case's own. */
export async function seedSignal(
  db: Db,
  o: { caseId: string | null; threadId?: string; type?: string; status?: SignalStatus },
  text: string,
  embedding: number[] | null = hashEmbedding(text, TEST_DIMENSIONS),
): Promise<string> {
  const [row] = await db
    .insert(signals)
    .values({
      caseId: o.caseId,
      threadId: o.threadId ?? null,
      type: o.type ?? 'assumption',
      text,
      textHash: createHash('sha256').update(text).digest('hex'),
      confidence: 0.8,
      status: o.status ?? 'active',
      embedding,
    })
    .returning({ id: signals.id });
  return row!.id;
}
