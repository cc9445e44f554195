import { describe, expect, it } from 'vitest';
import {
  changesReal,
  combineSurvivor,
  cosine,
  DAY_MS,
  decayedConfidence,
  dedupGroups,
  shouldArchive,
  temperatureOf,
  type DedupCandidate,
} from '../../activities/maintenance/signal-maths.js';
import { timeSlices } from '../../activities/time-slices.js';
import { countLoopTurns, seededRandom } from '../helpers/cpu-passes.js';
import { nominalDateOf } from '../../workflows/maintenance/nominal-date.js';
import { SIGNAL_MAINTENANCE_DEFAULTS as POLICY } from '../../workers/config.js';

/** |[9,3,3,1]| = 10 exactly, so its cosine with the first axis is 9/10 = 0.9 exactly. */
const AXIS = [1, 0, 0, 0];
const AT_09 = [9, 3, 3, 1];
const ABOVE_09 = [9.001, 3, 3, 1];

const candidate = (id: string, confidence: number, embedding: number[] | null, firstSeenAt = 0): DedupCandidate => ({ id, confidence, embedding, firstSeenAt });

/** The greedy grouping, comparing every pair in full: what dedupGroups must equal. */
function fullGreedy(signals: DedupCandidate[], threshold: number) {
  const ordered = [...signals].sort((a, b) => b.confidence - a.confidence || a.firstSeenAt - b.firstSeenAt || (a.id < b.id ? -1 : 1));
  const taken = new Set<string>();
  const groups = [];
  for (const [i, s] of ordered.entries()) {
    if (taken.has(s.id)) continue;
    const mergedIds = ordered.slice(i + 1).filter((o) => !taken.has(o.id) && cosine(s.embedding!, o.embedding!) > threshold).map((o) => o.id);
    for (const id of mergedIds) taken.add(id);
    if (mergedIds.length > 0) groups.push({ survivorId: s.id, mergedIds });
  }
  return groups;
}

describe('dedup', async () => {
  it('exactly 0.9 does not merge; above 0.9 does', async () => {
    expect(cosine(AXIS, AT_09)).toBe(0.9);
    expect(await dedupGroups([candidate('a', 0.8, AXIS), candidate('b', 0.7, AT_09)], POLICY.mergeSimilarity)).toEqual([]);
    expect(cosine(AXIS, ABOVE_09)).toBeGreaterThan(0.9);
    expect(await dedupGroups([candidate('a', 0.8, AXIS), candidate('b', 0.7, ABOVE_09)], POLICY.mergeSimilarity)).toEqual([
      { survivorId: 'a', mergedIds: ['b'] },
    ]);
  });

  it('groups greedily into the highest-confidence signal, whatever the input order', async () => {
    const signals = [candidate('low', 0.4, [1, 0.01]), candidate('high', 0.9, [1, 0]), candidate('mid', 0.6, [1, 0.02]), candidate('apart', 0.99, [0, 1])];
    expect(await dedupGroups(signals, 0.9)).toEqual([{ survivorId: 'high', mergedIds: ['mid', 'low'] }]);
    expect(await dedupGroups([...signals].reverse(), 0.9)).toEqual([{ survivorId: 'high', mergedIds: ['mid', 'low'] }]);
  });

  it('a signal taken by one group is not taken again; ties go to the earliest first-seen', async () => {
    // b is near a and c; a survives first and takes b; c is left alone (not near a).
    const a = candidate('a', 0.9, [1, 0]);
    const b = candidate('b', 0.8, [Math.cos(0.3), Math.sin(0.3)]);
    const c = candidate('c', 0.7, [Math.cos(0.6), Math.sin(0.6)]);
    expect(await dedupGroups([a, b, c], 0.95)).toEqual([{ survivorId: 'a', mergedIds: ['b'] }]);
    const tie = await dedupGroups([candidate('later', 0.5, AXIS, 2), candidate('earlier', 0.5, AXIS, 1)], 0.9);
    expect(tie).toEqual([{ survivorId: 'earlier', mergedIds: ['later'] }]);
  });

  it('ruling pairs out on part of their dimensions finds exactly the groups of comparing every pair whole', async () => {
    const random = seededRandom(7);
    for (let round = 0; round < 50; round++) {
      const dims = [4, 16, 64, 100][round % 4]!;
      let last = Array.from({ length: dims }, random);
      const signals = Array.from({ length: 60 }, (_, i) => {
        // Every third a perturbation of the one before, at noise levels straddling the threshold.
        const embedding = i % 3 === 2 ? last.map((x) => x + random() * [0.05, 0.2, 0.4][round % 3]!) : Array.from({ length: dims }, random);
        last = embedding;
        return candidate(`s${i}`, (i * 37) % 11, embedding, i);
      });
      const expected = fullGreedy(signals, 0.9);
      expect(await dedupGroups(signals, 0.9)).toEqual(expected);
    }
  });

  it('gives the event loop turns while it works, and slicing changes no group', async () => {
    const random = seededRandom(11);
    let last = Array.from({ length: 64 }, random);
    const signals = Array.from({ length: 300 }, (_, i) => {
      const embedding = i % 10 === 9 ? last.map((x) => x + random() * 0.1) : Array.from({ length: 64 }, random);
      last = embedding;
      return candidate(`s${i}`, (i * 37) % 11, embedding, i);
    });
    const turns = countLoopTurns();
    // Slices of no time: a turn after every vector scaled and every row compared.
    const groups = await dedupGroups(signals, 0.9, timeSlices(0));
    expect(turns.stop()).toBeGreaterThanOrEqual(300);
    expect(groups.length).toBeGreaterThan(10);
    expect(groups).toEqual(fullGreedy(signals, 0.9));
    expect(await dedupGroups(signals, 0.9)).toEqual(groups);
  });

  it('signals with no embedding take no part', async () => {
    expect(await dedupGroups([candidate('a', 0.9, AXIS), candidate('b', 0.8, null)], 0.9)).toEqual([]);
  });

  it('the survivor keeps the higher confidence, the earliest first-seen and the summed references', () => {
    const survivor = { confidence: 0.8, baseConfidence: 0.8, firstSeenAt: 50, lastSeenAt: 100, lastReferencedAt: null, referenceCount: 2 };
    const merged = { confidence: 0.7, baseConfidence: 0.9, firstSeenAt: 10, lastSeenAt: 200, lastReferencedAt: 150, referenceCount: 3 };
    expect(combineSurvivor(survivor, [merged])).toEqual({
      confidence: 0.8,
      baseConfidence: 0.9,
      firstSeenAt: 10,
      lastSeenAt: 200,
      lastReferencedAt: 150,
      referenceCount: 5,
    });
  });
});

describe('decay and archive', () => {
  const nominal = Date.UTC(2026, 11, 7);

  it('30 days is half; 60 days a quarter; no age no decay; a future sighting does not grow it', () => {
    expect(decayedConfidence(0.8, nominal - 30 * DAY_MS, nominal, 30)).toBe(0.4);
    expect(decayedConfidence(0.8, nominal - 60 * DAY_MS, nominal, 30)).toBe(0.2);
    expect(decayedConfidence(0.8, nominal, nominal, 30)).toBe(0.8);
    expect(decayedConfidence(0.8, nominal + DAY_MS, nominal, 30)).toBe(0.8);
  });

  it('is computed from the base, so applying it twice changes nothing', () => {
    const once = decayedConfidence(0.9, nominal - 12 * DAY_MS, nominal, 30);
    const twice = decayedConfidence(0.9, nominal - 12 * DAY_MS, nominal, 30);
    expect(changesReal(Math.fround(once), twice)).toBe(false);
    expect(changesReal(0.9, once)).toBe(true);
  });

  it('exactly 0.3 is kept; below it is archived', () => {
    expect(shouldArchive(0.3, POLICY.archiveBelow)).toBe(false);
    expect(shouldArchive(0.29999, POLICY.archiveBelow)).toBe(true);
    // 0.6 seen 30 days ago is 0.3 exactly: kept; a day more archives it.
    expect(shouldArchive(decayedConfidence(0.6, nominal - 30 * DAY_MS, nominal, 30), 0.3)).toBe(false);
    expect(shouldArchive(decayedConfidence(0.6, nominal - 31 * DAY_MS, nominal, 30), 0.3)).toBe(true);
  });
});

describe('temperatures', () => {
  const now = Date.UTC(2026, 11, 7);
  const seen = (days: number, refs = 1, referencedDays?: number) => ({
    lastSeenAt: now - days * DAY_MS,
    lastReferencedAt: referencedDays === undefined ? null : now - referencedDays * DAY_MS,
    referenceCount: refs,
  });

  it('hot within 3 days (seen or referenced), warm within 14 or with 5 references, else cold', () => {
    expect(temperatureOf(seen(3), now, POLICY)).toBe('hot');
    expect(temperatureOf(seen(3.001), now, POLICY)).toBe('warm');
    expect(temperatureOf(seen(40, 1, 2), now, POLICY)).toBe('hot');
    expect(temperatureOf(seen(14), now, POLICY)).toBe('warm');
    expect(temperatureOf(seen(14.001), now, POLICY)).toBe('cold');
    expect(temperatureOf(seen(40, 5), now, POLICY)).toBe('warm');
    expect(temperatureOf(seen(40, 4), now, POLICY)).toBe('cold');
  });

  it('is configurable', () => {
    expect(temperatureOf(seen(5), now, { ...POLICY, hotDays: 7 })).toBe('hot');
  });
});

describe('nominal date', () => {
  it('is the date in the time zone, computed at that date’s midnight UTC', () => {
    const instant = Date.UTC(2026, 11, 6, 23, 30);
    expect(nominalDateOf(instant, 'UTC')).toEqual({ date: '20261206', nominalMs: Date.UTC(2026, 11, 6) });
    expect(nominalDateOf(instant, 'Europe/Berlin')).toEqual({ date: '20261207', nominalMs: Date.UTC(2026, 11, 7) });
  });
});
