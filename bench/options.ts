/** What a bench run measures and how hard: CLI flags first, then env, then defaults. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Scenario names asked for; empty: all of them. */
  scenarios: string[];
  samples: number;
  warmup: number;
  /** Length of each sustained-rate phase. */
  rateSeconds: number;
  /** Operations in flight during a sustained phase (threads for chat, workflows for bare). */
  concurrency: number;
  quick: boolean;
  /** How long each faked model call and search phase takes (the research scenario's fakes). */
  callMs: number;
  /** The command line, for the report. */
  command: string;
}

export const USAGE = `usage: npm run bench -- [scenario ...] [--quick] [--samples N] [--warmup N] [--rate-seconds N] [--concurrency N] [--call-ms N]
  env: BENCH_SAMPLES, BENCH_WARMUP, BENCH_RATE_SECONDS, BENCH_CONCURRENCY, BENCH_CALL_MS
  --call-ms: how long research's faked model calls and search phases take (default 50, the issue's)
  --quick: 30 samples after 5 warm-up, 10 s sustained phases (a smoke run; figures are not comparable)`;

function count(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"\n${USAGE}`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions & { help: boolean } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      samples: { type: 'string' },
      warmup: { type: 'string' },
      'rate-seconds': { type: 'string' },
      concurrency: { type: 'string' },
      'call-ms': { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  return {
    help: values.help ?? false,
    scenarios: positionals,
    quick,
    samples: count('--samples', values.samples ?? env.BENCH_SAMPLES, quick ? 30 : 200),
    warmup: count('--warmup', values.warmup ?? env.BENCH_WARMUP, quick ? 5 : 20, 0),
    rateSeconds: count('--rate-seconds', values['rate-seconds'] ?? env.BENCH_RATE_SECONDS, quick ? 10 : 15),
    concurrency: count('--concurrency', values.concurrency ?? env.BENCH_CONCURRENCY, 50),
    callMs: count('--call-ms', values['call-ms'] ?? env.BENCH_CALL_MS, 50),
    command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
  };
}
