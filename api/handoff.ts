/**
 * The gateway's side of the shared hand-off (activities/handoff.ts, DESIGN.md Decision 31),
 * for every route that commits a row and then starts or signals its workflow (messages,
 * documents, evidence). The route commits the row and its `Idempotency-Key` answer in one
 * transaction, then calls `deliver`: a call that may have landed answers as committed (202,
 * the row pending: the redelivery job re-hands it over if it never arrived); only one that
 * certainly did not land fails the row, while it is still pending, and frees the key in that
 * same transaction (`withdrawAnswer`), so the client's retry starts afresh: 503 for a closed
 * client, 500 for a request the server refused.
 */
import type { FastifyRequest } from 'fastify';
import { handOver, type HandOffKind, type HandOffKindName, type HandOver } from '../activities/handoff.js';
import type { RouteDeps } from './app.js';
import { unavailable } from './errors.js';
import { withdrawAnswer } from './idempotency.js';

export interface Delivered<R> {
  /** The row as the answer shows it (as committed, or as it is now if it moved on meanwhile). */
  row: R;
  /** The workflow acknowledged the call (else it may or may not have it). */
  confirmed: boolean;
}

/** Hands the committed row over; throws, after failing the row, only when the call certainly did not land. */
export async function deliver<R>(deps: Pick<RouteDeps, 'db' | 'config'>, request: FastifyRequest, kind: HandOffKind<R>, row: R): Promise<Delivered<R>> {
  const handed = await handOver(kind, row, { db: deps.db, hooks: deps.config.handOff, onFailed: (tx) => withdrawAnswer(tx, request) });
  return answerHandOver(request, kind.name, handed);
}

/** What the route answers for a hand-over (its own, or one a shared start made with `withdrawAnswer` on failure). */
export function answerHandOver<R>(request: FastifyRequest, kindName: HandOffKindName, handed: HandOver<R>): Delivered<R> {
  const log = request.log.child({ handOff: kindName, attempts: handed.attempts });
  switch (handed.outcome) {
    case 'delivered':
      return { row: handed.row, confirmed: true };
    case 'unconfirmed':
      log.warn({ err: handed.error }, `${kindName} hand-off unconfirmed: it stays pending for the redelivery job (a repeat is safe)`);
      return { row: handed.row, confirmed: false };
    case 'moved-on':
      log.warn({ err: handed.error }, `${kindName} hand-off certainly not delivered, but it left pending meanwhile: not failed`);
      return { row: handed.row, confirmed: false };
    case 'failed':
      log.error({ err: handed.error }, `${kindName} hand-off certainly not delivered: marked failed`);
      throw handed.failure === 'not-sent' ? unavailable(handed.reason) : handed.error;
  }
}
