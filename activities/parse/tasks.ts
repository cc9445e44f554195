/**
 * What the parse pool runs: every CPU-heavy pass over user input, by kind. The same functions
 * run inline (small inputs) and in a parse thread (thread.ts), and end the same way: a value,
 * a refusal or an error, as plain data that crosses between threads (structured clone).
 */
import { chunkText, type Chunk, type ChunkSizes } from '../documents/chunk.js';
import { extractDocument, type Extracted } from '../documents/extract.js';
import { extractPage, type ExtractedPage } from './html.js';
import { ParseRefusal } from './refusal.js';

export interface ParseTasks {
  /** An uploaded or fetched document's text (the extraction step). */
  document: { input: { contentType: string; text?: string | null; bytes?: Uint8Array | null }; output: Extracted };
  /** A fetched HTML page: title, main text, canonical URL. */
  page: { input: { html: string; url: string }; output: ExtractedPage };
  /** A document's chunks, tokens counted (the embedding step). */
  chunks: { input: { text: string; sizes: ChunkSizes }; output: Chunk[] };
}

export type ParseKind = keyof ParseTasks;
export type ParseTaskOf<K extends ParseKind> = { kind: K } & ParseTasks[K]['input'];
export type ParseTask = { [K in ParseKind]: ParseTaskOf<K> }[ParseKind];
export type ParseOutput<K extends ParseKind> = ParseTasks[K]['output'];

export type ParseOutcome =
  | { value: unknown }
  | { refusal: { type: ParseRefusal['type']; message: string } }
  | { error: { name: string; message: string; code?: string } };

async function run(task: ParseTask, onProgress: (n: number) => void): Promise<unknown> {
  switch (task.kind) {
    case 'document':
      return extractDocument(task.contentType, task, onProgress);
    case 'page':
      return extractPage(task.html, task.url);
    case 'chunks':
      return chunkText(task.text, task.sizes);
  }
}

/** Runs the task; never throws. `onProgress` hears a PDF's pages as they are read. */
export async function settle(task: ParseTask, onProgress: (n: number) => void = () => {}): Promise<ParseOutcome> {
  try {
    return { value: await run(task, onProgress) };
  } catch (err) {
    if (err instanceof ParseRefusal) return { refusal: { type: err.type, message: err.message } };
    const e = err instanceof Error ? err : new Error(String(err));
    return { error: { name: e.name, message: e.message } };
  }
}

/** What a task weighs, in characters: what decides whether it may run inline. */
export function taskSize(task: ParseTask): number {
  switch (task.kind) {
    case 'document':
      // A PDF's cost is not its size: a small file may inflate to any number of pages.
      return task.contentType === 'application/pdf' ? Number.POSITIVE_INFINITY : (task.text?.length ?? 0);
    case 'page':
      return task.html.length;
    case 'chunks':
      return task.text.length;
  }
}
