/**
 * The brief's evolution (`evolveCaseBrief`, run by `evolveBrief`): read the case's rows,
 * compose the sections and annotations by rule, let the `brief` purpose word each section,
 * and write the next version (./write.ts). It recomputes everything from the database
 * (Decision 27); the window's changes are only its audit.
 *
 * Retries are narrowed on purpose (workflows/policies.ts `briefEvolution`): the database's
 * and the model's transient failures are retried as they come classified; a malformed
 * request, a missing case or any other error is not, since it would fail the same way again.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Db } from '../db/client.js';
import type { BriefSection } from '../db/schema/index.js';
import { databaseFailure, failure } from '../errors.js';
import { activitySignal } from '../events.js';
import { keepAlive } from '../heartbeat.js';
import type { BriefDraft, Llm } from '../llm/llm.js';
import { meterAttempt } from '../usage.js';
import { BRIEF_DEFAULTS, type BriefConfig } from '../../workers/config.js';
import type { EvolveCaseBriefRequest, EvolveCaseBriefResult } from '../../workflows/types.js';
import { annotationsOf } from './annotations.js';
import { composeBrief, type ComposedBrief } from './compose.js';
import { readBriefRows, type BriefRows } from './rows.js';
import { writeEvolution, writtenEvolution } from './write.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_KEY_CHARS = 400;
/** Of the case's description, what the model reads (the title and the items matter more). */
const DESCRIPTION_CHARS = 2_000;

export interface BriefDeps {
  db: Db;
  llm: Pick<Llm, 'writeBrief'>;
  config: { brief?: Pick<BriefConfig, 'staleEvidenceDays'> };
  clock: () => Date;
}

function checkRequest(req: EvolveCaseBriefRequest): void {
  const bad = (what: string) => failure('ValidationError', `evolveCaseBrief: ${what}`);
  if (typeof req?.caseId !== 'string' || !UUID.test(req.caseId)) throw bad('caseId must be a UUID');
  if (typeof req.evolutionKey !== 'string' || req.evolutionKey.length === 0 || req.evolutionKey.length > MAX_KEY_CHARS) {
    throw bad(`evolutionKey must be 1-${MAX_KEY_CHARS} characters`);
  }
  if (typeof req.changes?.total !== 'number' || !Array.isArray(req.changes.sample)) throw bad('changes must be a window of changes');
}

/** Transient failures arrive classified (database, model); anything else fails for good. */
function narrowed(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure || databaseFailure(err) || activitySignal()?.aborted) return err;
  const message = err instanceof Error ? err.message : String(err);
  return failure('BriefEvolutionFailed', `the brief could not be evolved: ${message}`, err);
}

function draftOf(rows: BriefRows, composed: ComposedBrief): BriefDraft {
  const description = rows.description && rows.description.length > DESCRIPTION_CHARS ? `${rows.description.slice(0, DESCRIPTION_CHARS)}…` : rows.description;
  return { title: rows.title, description, sections: composed.sections, grounding: composed.grounding };
}

export function createBriefActivities({ db, llm, config, clock }: BriefDeps) {
  const staleEvidenceDays = config.brief?.staleEvidenceDays ?? BRIEF_DEFAULTS.staleEvidenceDays;

  async function evolve(req: EvolveCaseBriefRequest): Promise<EvolveCaseBriefResult> {
    // A retry of an attempt that committed: its version, without asking the model again.
    const written = await writtenEvolution(db, req.evolutionKey);
    if (written) return written;
    const rows = await readBriefRows(db, req.caseId);
    const composed = composeBrief(rows);
    const meter = meterAttempt(db, rows.userId);
    const prose = await meter.call((call) => llm.writeBrief(draftOf(rows, composed), call));
    // Cancelled while the model wrote (a model that ignored the abort): write nothing.
    if (activitySignal()?.aborted) throw new CancelledFailure('the evolution was cancelled');
    const sections: BriefSection[] = composed.sections.map((s) => ({ key: s.key, title: s.title, text: prose[s.key], items: s.items, grounding: s.grounding }));
    const now = clock();
    return writeEvolution({
      caseId: req.caseId,
      userId: rows.userId,
      evolutionKey: req.evolutionKey,
      changes: req.changes,
      sections,
      grounding: composed.grounding,
      annotations: annotationsOf(composed, now, staleEvidenceDays),
      now,
      meter,
    });
  }

  return {
    async evolveCaseBrief(req: EvolveCaseBriefRequest): Promise<EvolveCaseBriefResult> {
      try {
        checkRequest(req);
        // Beats all along (reads, the model, a write waiting on the case's lock): a dead worker
        // is noticed in the policy's 10 s, and a cancel reaches the attempt at its next beat.
        return await keepAlive(() => evolve(req));
      } catch (err) {
        throw narrowed(err);
      }
    },
  };
}
