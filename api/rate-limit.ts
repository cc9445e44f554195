/**
 * The per-user limit on starting POSTs (API.md: 429 with `Retry-After`). One budget per
 * user and minute is shared by every starting POST, so a user cannot multiply it by
 * spreading requests over routes. It is keyed by the authenticated user, not the IP: behind
 * a proxy many users share an IP, and one user can use many. The counters live in this
 * process, so N gateways allow a user up to N times the limit.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

export type StartingPostLimiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

const MINUTE_MS = 60_000;

/**
 * Registers the plugin (routes opt in: nothing is limited globally) and returns the one
 * `onRequest` hook of every starting POST. Route-level `onRequest` hooks run after the
 * app's, so the auth hook has set `request.user` (and answered 401 without a key) by then.
 */
export async function createStartingPostLimiter(app: FastifyInstance, perMinute: number): Promise<StartingPostLimiter> {
  await app.register(rateLimit, { global: false });
  const limit = app.rateLimit({
    max: perMinute,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => request.user.id,
    // Thrown by the plugin after it set `Retry-After`, so the one error handler shapes the body.
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, `more than ${context.max} starting requests per minute: retry in ${context.after}`, 'RATE_LIMITED'),
  });
  return async (request, reply) => {
    await limit.call(app, request, reply);
  };
}
