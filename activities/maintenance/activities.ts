/**
 * Signal maintenance's activities (issue 18; Decision 34): the fan-out's scope list, one
 * scope's consolidation, the temperatures, and the job's `MAINTENANCE_REPORT`.
 */
import { and, asc, gt, gte, sql } from 'drizzle-orm';
import type { PoolDb } from '../db/client.js';
import { cases, signals, threads } from '../db/schema/index.js';
import { recordMaintenanceReport } from './report.js';
import { consolidateScope, type ConsolidateScopeRequest, type ConsolidateScopeResult } from './consolidation.js';
import { DAY_MS } from './signal-maths.js';
import { retierSignals, type RetierRequest, type RetierResult } from './temperatures.js';
import { SIGNAL_MAINTENANCE_DEFAULTS, type SignalMaintenanceConfig } from '../../workers/config.js';
import type { MaintenanceReport, ScopeCursor, SignalScope } from '../../workflows/types.js';

export interface MaintenanceDeps {
  db: PoolDb;
  config: { signalMaintenance?: SignalMaintenanceConfig };
  clock: () => Date;
}

export interface ScopePageRequest {
  nominalMs: number;
  after: ScopeCursor;
  limit: number;
  minActiveSignals?: number;
  recentDays?: number;
}

export interface ScopePage {
  scopes: SignalScope[];
  /** Where the next page starts; null when the list is done. */
  next: ScopeCursor | null;
}

/** At least `min` active signals, counted no further than `min` (bounded per scope). */
const hasActive = (scopeRows: ReturnType<typeof sql>, min: number) =>
  sql`(select count(*) from (select 1 from ${signals} where ${scopeRows} and ${signals.status} = 'active' limit ${min}) as enough) >= ${min}`;

export function createMaintenanceActivities({ db, config, clock }: MaintenanceDeps) {
  const policy = config.signalMaintenance ?? SIGNAL_MAINTENANCE_DEFAULTS;

  /**
   * One page of the scopes to consolidate, threads first, then cases, each by id: threads
   * updated within `recentDays` of the nominal date with at least `minActiveSignals` active
   * signals; cases with that many active signals of their own (no thread).
   */
  async function scopePage(req: ScopePageRequest): Promise<ScopePage> {
    const min = req.minActiveSignals ?? policy.minActiveSignals;
    const since = new Date(req.nominalMs - (req.recentDays ?? policy.recentDays) * DAY_MS);
    if (req.after.kind === 'thread') {
      const rows = await db
        .select({ id: threads.id })
        .from(threads)
        .where(
          and(
            gte(threads.updatedAt, since),
            req.after.afterId === null ? undefined : gt(threads.id, req.after.afterId),
            hasActive(sql`${signals.threadId} = ${threads.id}`, min),
          ),
        )
        .orderBy(asc(threads.id))
        .limit(req.limit);
      const scopes = rows.map((r) => ({ kind: 'thread' as const, id: r.id }));
      const next: ScopeCursor = rows.length === req.limit ? { kind: 'thread', afterId: rows[rows.length - 1]!.id } : { kind: 'case', afterId: null };
      return { scopes, next };
    }
    const rows = await db
      .select({ id: cases.id })
      .from(cases)
      .where(
        and(
          req.after.afterId === null ? undefined : gt(cases.id, req.after.afterId),
          hasActive(sql`${signals.caseId} = ${cases.id} and ${signals.threadId} is null`, min),
        ),
      )
      .orderBy(asc(cases.id))
      .limit(req.limit);
    const scopes = rows.map((r) => ({ kind: 'case' as const, id: r.id }));
    return { scopes, next: rows.length === req.limit ? { kind: 'case', afterId: rows[rows.length - 1]!.id } : null };
  }

  return {
    selectConsolidationScopes: scopePage,

    async consolidateSignalScope(req: ConsolidateScopeRequest): Promise<ConsolidateScopeResult> {
      return consolidateScope(db, policy, req);
    },

    async updateTemperatures(req: RetierRequest): Promise<RetierResult> {
      return retierSignals(db, policy, req, () => clock().getTime());
    },

    /** The job's report (./report.ts). */
    async recordMaintenanceReport(req: { workflowId: string; report: MaintenanceReport }): Promise<void> {
      await recordMaintenanceReport(db, { job: req.report.job, workflowId: req.workflowId, report: { ...req.report } });
    },
  };
}
