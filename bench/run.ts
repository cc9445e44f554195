/**
 * `npm run bench [-- scenario ...] [--quick]`: the scenarios asked for (all by default, plus
 * what they compare against) on one tuned dev server, side by side in one run, printed as
 * markdown and stored under bench/results/. Scenarios live in bench/scenarios/.
 */
import { startHarness } from './harness.js';
import { parseOptions, USAGE } from './options.js';
import { describeMachine, renderMarkdown, saveReport, type BenchReport } from './report.js';
import type { ScenarioResult } from './scenario.js';
import { SCENARIOS, selectScenarios } from './scenarios/index.js';

const { help, command, ...options } = parseOptions(process.argv.slice(2), process.env);
if (help) {
  console.log(`${USAGE}\nscenarios:\n${SCENARIOS.map((s) => `  ${s.name}: ${s.description}`).join('\n')}`);
  process.exit(0);
}
const scenarios = selectScenarios(options.scenarios);
console.log(`casework bench: ${scenarios.map((s) => s.name).join(', ')}; ${options.samples} samples after ${options.warmup} warm-up, ` +
  `sustained ${options.rateSeconds} s with ${options.concurrency} in flight${options.quick ? ' (quick)' : ''}`);

const harness = await startHarness();
const results = new Map<string, ScenarioResult>();
try {
  for (const scenario of scenarios) {
    const started = performance.now();
    console.log(`- ${scenario.name}: ${scenario.description}`);
    results.set(scenario.name, await scenario.run({ harness, options: { ...options, command }, earlier: results }));
    console.log(`  done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
} finally {
  await harness.stop();
}

const report: BenchReport = { date: new Date().toISOString(), command, machine: describeMachine(), options, results: Object.fromEntries(results) };
const markdown = renderMarkdown(report);
console.log(`\n${markdown}`);
for (const path of await saveReport(report, markdown)) console.log(`written: ${path}`);
