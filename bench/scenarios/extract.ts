/**
 * Issue 16: what hostile input costs the readers (bench/extract-shapes.ts: runs of spaces and
 * tabs, `<a` repeated, an unclosed `<script>`, deep nesting, `<br>` repeated, a PDF whose text
 * is one run of spaces, chunking a run of spaces or one long word). Each shape is read at 1, 2,
 * 4 and 8 MiB by today's readers, in this process (after a warm-up at 64 KiB; the fastest of 3
 * runs), and the time per size and the 8/1 ratio are reported: linear is 8×, quadratic 64×. Beside them, the readers of
 * the commit before the one extractor (`BENCH_EXTRACT_BEFORE`, default e5e0d4c) read the same
 * shapes at 64-512 KiB, each in a thread terminated past BEFORE_CAP_MS, larger sizes skipped
 * once a size passes it. Needs no dev server or database (the harness starts them anyway).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chunkText } from '../../activities/documents/chunk.js';
import { extractDocument } from '../../activities/documents/extract.js';
import { extractPage } from '../../activities/parse/html.js';
import { startThread } from '../../activities/parse/pool.js';
import type { BeforeJob } from '../extract-before.js';
import { read, SHAPES, type Readers } from '../extract-shapes.js';
import { emptyResult, ratio, type Scenario } from '../scenario.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const BEFORE_REF = process.env.BENCH_EXTRACT_BEFORE || 'e5e0d4c1f993d1df04e87434feb8fb6f5a75d1cc';
const BEFORE_CAP_MS = 20_000;
/** Linear within noise: 8× for 8 times the input, with room for the garbage collector and a busy machine. */
const LINEAR_GOAL = 12;

const today: Readers = { extractDocument, extractPage, chunkText };
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const size = (bytes: number) => (bytes >= MIB ? `${bytes / MIB} MiB` : `${bytes / KIB} KiB`);

/** Runs per size: the fastest is reported (the others met the garbage collector or a busy core). */
const RUNS = 3;

async function timeToday(shapeIndex: number, bytes: number): Promise<number> {
  const shape = SHAPES[shapeIndex]!;
  const input = await shape.make(bytes);
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    await read(today, shape, input);
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** The older commit's files, extracted once under bench/results/ (gitignored); undefined if the ref is unknown here. */
function beforeCheckout(): string | undefined {
  const root = fileURLToPath(new URL(`../results/extract-before-${BEFORE_REF.slice(0, 12)}`, import.meta.url));
  if (existsSync(`${root}/activities`)) return root;
  try {
    mkdirSync(root, { recursive: true });
    execFileSync('sh', ['-c', `git archive "${BEFORE_REF}" activities workflows workers package.json | tar -x -C "${root}"`], { stdio: 'pipe' });
    return root;
  } catch {
    return undefined;
  }
}

/** Milliseconds, or undefined past the cap (the thread is terminated). */
function timeBefore(root: string, shape: number, bytes: number): Promise<number | undefined> {
  const thread = startThread(new URL('../extract-before.ts', import.meta.url), { workerData: { root, shape, bytes } satisfies BeforeJob });
  return new Promise((resolve, reject) => {
    const cap = setTimeout(() => void thread.terminate().then(() => resolve(undefined)), BEFORE_CAP_MS);
    thread.once('message', (ms: number) => {
      clearTimeout(cap);
      void thread.terminate().then(() => resolve(ms));
    });
    thread.once('error', (err) => {
      clearTimeout(cap);
      reject(err);
    });
  });
}

export const extract: Scenario = {
  name: 'extract',
  description: 'hostile inputs through the readers at 1-8 MiB (linear: 8/1 ≈ 8×), and through the readers before issue 16 at 64-512 KiB',
  async run(ctx) {
    const result = emptyResult();
    const sizes = ctx.options.quick ? [MIB, 2 * MIB] : [MIB, 2 * MIB, 4 * MIB, 8 * MIB];
    const beforeSizes = ctx.options.quick ? [64 * KIB, 128 * KIB] : [64 * KIB, 128 * KIB, 256 * KIB, 512 * KIB];
    for (let s = 0; s < SHAPES.length; s++) await timeToday(s, 64 * KIB);
    const root = beforeCheckout();
    if (!root) result.notes.push({ label: 'before', value: `${BEFORE_REF} is not in this repository: no "before" figures` });
    for (const [s, shape] of SHAPES.entries()) {
      const times: number[] = [];
      for (const bytes of sizes) times.push(await timeToday(s, bytes));
      const first = times[0]!;
      const last = times.at(-1)!;
      const growth = last / Math.max(first, 1);
      const now = sizes.map((b, i) => `${size(b)} ${fmt(times[i]!)}`).join(', ');
      let before = '';
      if (root) {
        const figures: string[] = [];
        for (const bytes of beforeSizes) {
          const ms = await timeBefore(root, s, bytes);
          figures.push(`${size(bytes)} ${ms === undefined ? `> ${fmt(BEFORE_CAP_MS)}` : fmt(ms)}`);
          if (ms === undefined) break;
        }
        before = `; before: ${figures.join(', ')}`;
      }
      console.log(`  ${shape.name}: ${now} (${growth.toFixed(1)}×)${before}`);
      result.notes.push({ label: shape.name, value: `${now}${before}` });
      result.ratios.push(ratio(`${shape.name}: ${size(sizes.at(-1)!)} / ${size(sizes[0]!)}`, growth, { atMost: LINEAR_GOAL * (sizes.length === 2 ? 2 / 8 : 1) }));
    }
    return result;
  },
};
