/**
 * Every scenario `npm run bench` knows, in the order a full run goes through them. To add
 * one (ingest, evidence, consolidation, research): write bench/scenarios/<name>.ts exporting
 * a `Scenario` (see bench/scenario.ts; `needs: ['bare']` to compare against bare Temporal),
 * and add it here.
 */
import type { Scenario } from '../scenario.js';
import { bare } from './bare.js';
import { chat } from './chat.js';
import { consolidation } from './consolidation.js';
import { evidenceBench } from './evidence.js';
import { extract } from './extract.js';
import { ingest } from './ingest.js';
import { research } from './research.js';
import { search } from './search.js';

export const SCENARIOS: readonly Scenario[] = [bare, chat, ingest, extract, search, evidenceBench, consolidation, research];

/** The scenarios asked for plus the ones they need, in list order; all of them when none is named. */
export function selectScenarios(names: readonly string[]): Scenario[] {
  const byName = new Map(SCENARIOS.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  if (names.length === 0) return [...SCENARIOS];
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const need of byName.get(name)?.needs ?? []) add(need);
  };
  names.forEach(add);
  return SCENARIOS.filter((s) => wanted.has(s.name));
}

// A scenario reads what it needs from results of earlier ones: list order must respect `needs`.
for (const [i, s] of SCENARIOS.entries()) {
  for (const need of s.needs ?? []) {
    if (SCENARIOS.findIndex((o) => o.name === need) >= i) throw new Error(`scenario ${s.name} needs ${need}, which must come earlier in SCENARIOS`);
  }
}
