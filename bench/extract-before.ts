/**
 * The `extract` scenario's "before": one shape at one size through the readers of an older
 * commit (extracted under bench/results/), in a thread the scenario terminates past its cap,
 * since a quadratic regex cannot be interrupted any other way. Posts the milliseconds taken.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { read, SHAPES, type Readers } from './extract-shapes.js';

export interface BeforeJob {
  /** The older commit's checkout (its activities/ folder). */
  root: string;
  shape: number;
  bytes: number;
}

const { root, shape, bytes } = workerData as BeforeJob;
const load = (path: string) => import(pathToFileURL(`${root}/${path}`).href);
const [documents, web, chunk] = await Promise.all([
  load('activities/documents/extract.ts'), load('activities/web/extract.ts'), load('activities/documents/chunk.ts'),
]);
const readers: Readers = { extractDocument: documents.extractDocument, extractPage: web.extractPage, chunkText: chunk.chunkText };
const input = await SHAPES[shape]!.make(bytes);
const started = performance.now();
await read(readers, SHAPES[shape]!, input);
parentPort!.postMessage(performance.now() - started);
