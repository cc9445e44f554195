/**
 * Who may see what beyond their own (DESIGN.md Decision 18). Admin routes answer 403 to
 * other keys: their existence is no secret, so there is nothing to hide behind a 404.
 * What belongs to no user (schedules, maintenance runs, their events) is an admin's to
 * read; what belongs to a user is that user's alone, admins included, and anything else
 * stays the 404 of API.md, so user routes never tell an admin that an id exists.
 */
import type { FastifyRequest } from 'fastify';
import type { AuthUser } from './auth.js';
import { HttpError } from './errors.js';

export const forbidden = (what: string): HttpError => new HttpError(403, `${what} needs an admin key`, 'FORBIDDEN');

export function assertAdmin(user: AuthUser, what: string): void {
  if (!user.isAdmin) throw forbidden(what);
}

/**
 * An onRequest hook; route hooks run after the app's auth hook, so `request.user` is set.
 * Added with `app.addHook` in a plugin, every route of that plugin is admin-only.
 */
export async function requireAdmin(request: FastifyRequest): Promise<void> {
  assertAdmin(request.user, `${request.method} ${request.routeOptions.url}`);
}

/** Spread into one route's options to make that route admin-only: `{ schema, ...adminOnly }`. */
export const adminOnly = { onRequest: requireAdmin } as const;

/** Whether `user` may see a thing owned by `ownerId` (null or undefined: it belongs to no user). */
export function mayView(user: AuthUser, ownerId: string | null | undefined): boolean {
  return ownerId ? ownerId === user.id : user.isAdmin;
}
