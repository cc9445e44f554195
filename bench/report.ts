/** One markdown report for every scenario that ran, printed and stored with the raw figures. */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './options.js';
import type { ScenarioResult } from './scenario.js';
import { ms } from './stats.js';
import { findTemporalCli } from '../test/helpers/temporal-server.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export interface BenchReport {
  date: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; os: string; node: string; temporalCli: string };
  options: Omit<BenchOptions, 'command'>;
  results: Record<string, ScenarioResult>;
}

export function describeMachine(): BenchReport['machine'] {
  let temporalCli = 'unknown';
  try {
    temporalCli = execFileSync(findTemporalCli(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // the report still stands without it
  }
  return {
    cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    os: `${osType()} ${release()}`, node: process.version, temporalCli,
  };
}

const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const counts = (c: Record<string, number>) => Object.entries(c).map(([k, n]) => `${k}: ${n}`).join('; ') || 'none';

export function renderMarkdown(report: BenchReport): string {
  const all = Object.values(report.results);
  const m = report.machine;
  const o = report.options;
  const out = [
    `# casework bench, ${report.date}`, '',
    `Command: \`${report.command}\`  `,
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.temporalCli.split('\n')[0]}  `,
    `Run: ${o.samples} samples after ${o.warmup} warm-up; sustained phases of ${o.rateSeconds} s with ${o.concurrency} in flight; one tuned dev server${o.quick ? ' (quick: a smoke run, not figures to quote)' : ''}`, '',
    '## Latency', '',
    table(['run', 'n', 'p50', 'p95', 'p99'], all.flatMap((r) => r.latency).map((l) => [l.label, String(l.summary.n), ms(l.summary.p50), ms(l.summary.p95), ms(l.summary.p99)])), '',
    '## Sustained rate', '',
    table(['run', 'in flight', 'per second', 'completed', 'p50', 'p95', 'p99'], all.flatMap((r) => r.rates).map(({ label, rate }) =>
      [label, String(rate.concurrency), rate.perSecond.toFixed(1), `${rate.completed} in ${rate.seconds} s`, ms(rate.latency.p50), ms(rate.latency.p95), ms(rate.latency.p99)])), '',
    '## Ratios', '',
    table(['ratio', 'value', 'goal', 'met'], all.flatMap((r) => r.ratios).map((r) => [r.label, `${r.value.toFixed(2)}×`, r.goal, r.met ? 'yes' : '**no**'])), '',
    '## Workflow tasks during the sustained phases', '',
    'Server: workflow-task failures and timeouts in the histories of the phase\'s workflows. Worker: its SDK log (core included), WARN and ERROR lines by message.', '',
    table(['phase', 'workflows read', 'tasks completed', 'server: failed / timed out', 'worker log'], all.flatMap((r) => r.workflowTasks).map((w) =>
      [w.label, String(w.audit.workflowsRead), String(w.audit.workflowTasksCompleted), counts(w.audit.problems), counts(w.sdkLog.counts)])), '',
  ];
  const watched = all.flatMap((r) => r.workflowTasks);
  const examples = watched.flatMap((w) => Object.entries(w.sdkLog.examples));
  if (examples.length > 0) out.push('Worker log, one example of each message:', '', ...[...new Map(examples)].map(([k, v]) => `- ${k}: \`${v}\``), '');
  const audited = watched.flatMap((w) => w.audit.examples.map((e) => `- ${w.label}: ${e}`));
  if (audited.length > 0) out.push('Server, the first few of each phase (times from the start of its window):', '', ...audited, '');
  const notes = all.flatMap((r) => r.notes);
  if (notes.length > 0) out.push('## Notes', '', ...notes.map((n) => `- ${n.label}: ${n.value}`), '');
  return out.join('\n');
}

/** Writes `<stamp>.json` and `<stamp>.md` under bench/results/ (gitignored); returns their paths. */
export async function saveReport(report: BenchReport, markdown: string): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamp = report.date.replace(/[:.]/g, '-');
  const paths = [`${RESULTS_DIR}${stamp}.json`, `${RESULTS_DIR}${stamp}.md`];
  await writeFile(paths[0]!, JSON.stringify(report, null, 2) + '\n');
  await writeFile(paths[1]!, markdown);
  return paths;
}
