/**
 * When a maintenance job runs "for" (issue 18; Decision 22): the schedule's time, not the
 * wall clock, so a run that started late (a catch-up, a worker that was down) decays to the
 * same date; a manual run is for its start. The date is taken in SCHEDULES_TIME_ZONE.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { workflowInfo } from '@temporalio/workflow';
import { nominalDateOf } from './nominal-date.js';

/** Set by the server on every run a schedule starts. */
const scheduledStartKey = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

function scheduledStart(): number | undefined {
  try {
    return workflowInfo().typedSearchAttributes.get(scheduledStartKey)?.getTime();
  } catch {
    return undefined;
  }
}

export function jobDate(input: { nominalTime?: number; timeZone?: string }): { date: string; nominalMs: number } {
  const instant = input.nominalTime ?? scheduledStart() ?? workflowInfo().startTime.getTime();
  return nominalDateOf(instant, input.timeZone ?? 'UTC');
}

export function emptyReport(job: 'signal-consolidation' | 'signal-temperatures', date: string, dryRun: boolean) {
  return {
    job,
    date,
    dryRun,
    scopesExamined: 0,
    signalsExamined: 0,
    merged: 0,
    decayed: 0,
    archived: 0,
    retiered: 0,
    embedded: 0,
    started: 0,
    alreadyRunning: 0,
    failed: 0,
    complete: true,
    durationMs: 0,
  };
}
