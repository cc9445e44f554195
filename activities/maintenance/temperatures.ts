/**
 * `updateSignalTemperatures`' one activity (issue 18): every active signal's tier from its
 * recency and references (./signal-maths.ts `temperatureOf`), paged by id, one transaction a
 * page, a heartbeat after each with where it is, so a retried attempt goes on from there. The
 * tier is computed at the run's nominal date, so a second run for that date changes nothing.
 */
import { beat, lastBeat } from '../heartbeat.js';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { signals, type SignalTemperature } from '../db/schema/index.js';
import { temperatureOf, type MathsPolicy } from './signal-maths.js';

export interface RetierRequest {
  nominalMs: number;
  dryRun?: boolean;
  /** Epoch ms past which no page starts (the job's deadline); the report then says `complete: false`. */
  stopBy?: number;
}

export interface RetierResult {
  examined: number;
  retiered: number;
  complete: boolean;
}

interface Progress extends RetierResult {
  after: string | null;
}



export async function retierSignals(db: Db, policy: MathsPolicy & { batchSize: number }, req: RetierRequest, now: () => number): Promise<RetierResult> {
  const progress: Progress = lastBeat<Progress>() ?? { after: null, examined: 0, retiered: 0, complete: false };
  for (;;) {
    if (req.stopBy !== undefined && now() >= req.stopBy) return { examined: progress.examined, retiered: progress.retiered, complete: false };
    const page = await db
      .select({
        id: signals.id,
        temperature: signals.temperature,
        lastSeenAt: signals.lastSeenAt,
        lastReferencedAt: signals.lastReferencedAt,
        referenceCount: signals.referenceCount,
      })
      .from(signals)
      .where(and(eq(signals.status, 'active'), progress.after === null ? undefined : gt(signals.id, progress.after)))
      .orderBy(asc(signals.id))
      .limit(policy.batchSize);
    if (page.length === 0) return { examined: progress.examined, retiered: progress.retiered, complete: true };
    const changed: { id: string; temperature: SignalTemperature }[] = [];
    for (const row of page) {
      const tier = temperatureOf(
        { lastSeenAt: row.lastSeenAt.getTime(), lastReferencedAt: row.lastReferencedAt?.getTime() ?? null, referenceCount: row.referenceCount },
        req.nominalMs,
        policy,
      );
      if (tier !== row.temperature) changed.push({ id: row.id, temperature: tier });
    }
    if (!req.dryRun && changed.length > 0) {
      const values = sql.join(changed.map((c) => sql`(${c.id}::uuid, ${c.temperature})`), sql`, `);
      await db.execute(sql`
        update signals set temperature = v.temperature from (values ${values}) as v(id, temperature)
        where signals.id = v.id and signals.status = 'active'`);
    }
    progress.examined += page.length;
    progress.retiered += changed.length;
    progress.after = page[page.length - 1]!.id;
    beat(progress);
  }
}
