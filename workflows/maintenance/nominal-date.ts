/** The date a maintenance run is for: pure, shared by the workflows (ids) and tests. */

/**
 * The date a run is for, `yyyymmdd` in the schedules' time zone (workflow ids carry it), and
 * the instant decay and temperatures are computed at: that calendar date's midnight UTC, so
 * every run for one date computes the same values whenever in the day it starts.
 */
export function nominalDateOf(instantMs: number, timeZone: string): { date: string; nominalMs: number } {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instantMs);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const [y, m, d] = [get('year'), get('month'), get('day')];
  return { date: `${y}${m}${d}`, nominalMs: Date.UTC(Number(y), Number(m) - 1, Number(d)) };
}
