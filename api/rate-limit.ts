/**
 * Per-user request budgets (API.md: 429 with `Retry-After`). Starting POSTs share one budget
 * per user and minute, so a user cannot multiply it by spreading requests over routes;
 * searches have their own (each embeds its query). Budgets are keyed by the authenticated
 * user, not the IP: behind a proxy many users share an IP, and one user can use many. The
 * counters live in this process, so N gateways allow a user up to N times a limit.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

export type UserRateLimiter = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
/** The one limiter every starting POST shares. */
export type StartingPostLimiter = UserRateLimiter;

const MINUTE_MS = 60_000;

/**
 * An `onRequest` hook allowing each user `perMinute` requests of what it guards (`what`
 * names them in the 429). Route-level `onRequest` hooks run after the app's, so the auth
 * hook has set `request.user` (and answered 401 without a key) by then. Each call makes a
 * budget of its own; the plugin must be registered (`createStartingPostLimiter` does).
 */
export function perUserRateLimit(app: FastifyInstance, perMinute: number, what: string): UserRateLimiter {
  const limit = app.rateLimit({
    max: perMinute,
    timeWindow: MINUTE_MS,
    keyGenerator: (request) => request.user.id,
    // Thrown by the plugin after it set `Retry-After`, so the one error handler shapes the body.
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, `more than ${context.max} ${what} per minute: retry in ${context.after}`, 'RATE_LIMITED'),
  });
  return async (request, reply) => {
    await limit.call(app, request, reply);
  };
}

/** Registers the plugin (routes opt in: nothing is limited globally) and returns the starting POSTs' hook. */
export async function createStartingPostLimiter(app: FastifyInstance, perMinute: number): Promise<StartingPostLimiter> {
  await app.register(rateLimit, { global: false });
  return perUserRateLimit(app, perMinute, 'starting requests');
}
