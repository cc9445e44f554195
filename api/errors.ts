/**
 * HTTP errors the routes throw, and the one place that turns any error into the answer a
 * client sees: `{ statusCode, error, message, code, field? }`. Validation errors name the
 * field; 5xx answers never carry internals (the log does).
 */
import { STATUS_CODES } from 'node:http';
import { ServiceError, type Client } from '@temporalio/client';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export class HttpError extends Error {
  override name = 'HttpError';
  /** Headers the answer carries (`Retry-After` of a 429). */
  headers: Record<string, string> = {};
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Unknown and foreign ids look the same, so ids do not leak (API.md). */
export const notFound = (what: string): HttpError => new HttpError(404, `${what} not found`, 'NOT_FOUND');
export const conflict = (message: string): HttpError => new HttpError(409, message, 'CONFLICT');
export const unavailable = (message: string): HttpError => new HttpError(503, message, 'SERVICE_UNAVAILABLE');
export const badRequest = (field: string, message: string): HttpError =>
  new HttpError(400, `${field} ${message}`, 'FST_ERR_VALIDATION', field);

/** A 429 that tells the client when trying again makes sense. */
export function tooManyRequests(message: string, code: string, retryAfterSeconds: number): HttpError {
  const error = new HttpError(429, message, code);
  error.headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  return error;
}

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  field?: string;
}

export const errorBodySchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
    code: { type: 'string' },
    field: { type: 'string' },
  },
  required: ['statusCode', 'error', 'message'],
} as const;

/** What each named pattern means, so a mismatch reads as a sentence rather than a regex. */
const patternMeanings = new Map<string, string>();

/** A JSON-schema `pattern` whose validation error says `meaning` instead of the regex. */
export function namedPattern(pattern: string, meaning: string): { pattern: string } {
  patternMeanings.set(pattern, meaning);
  return { pattern };
}

export const nonBlank = namedPattern('\\S', 'must not be empty or only whitespace');

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `body/content must NOT have more than 20000 characters`, `body/foo is not allowed`. */
export function describeValidation(context: string, issue: AjvIssue): { field: string; message: string } {
  const path = issue.instancePath.replace(/^\//, '');
  const child = (name: unknown): string => [path, String(name)].filter(Boolean).join('/');
  if (issue.keyword === 'additionalProperties') {
    const field = child(issue.params.additionalProperty);
    return { field, message: `${context}/${field} is not allowed (unknown field)` };
  }
  if (issue.keyword === 'required') {
    const field = child(issue.params.missingProperty);
    return { field, message: `${context}/${field} is required` };
  }
  const where = path ? `${context}/${path}` : context;
  const meaning = issue.keyword === 'pattern' ? patternMeanings.get(String(issue.params.pattern)) : undefined;
  return { field: path || context, message: `${where} ${meaning ?? issue.message ?? 'is invalid'}` };
}

function bodyFor(error: FastifyError | HttpError): ErrorBody {
  if ('validation' in error && error.validation && error.validation.length > 0) {
    const { field, message } = describeValidation(error.validationContext ?? 'request', error.validation[0] as AjvIssue);
    return { statusCode: 400, error: STATUS_CODES[400]!, message, code: 'FST_ERR_VALIDATION', field };
  }
  const statusCode = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  if (statusCode >= 500 && !(error instanceof HttpError)) {
    return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: 'internal error', code: 'INTERNAL' };
  }
  const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: error.message };
  if (error.code) body.code = error.code;
  if (error instanceof HttpError && error.field) body.field = error.field;
  return body;
}

export function handleError(error: FastifyError | HttpError, request: FastifyRequest, reply: FastifyReply): void {
  const body = bodyFor(error);
  if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  if (error instanceof HttpError) reply.headers(error.headers);
  void reply.code(body.statusCode).send(body);
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const body: ErrorBody = { statusCode: 404, error: 'Not Found', message: `route ${request.method} ${request.url.split('?')[0]} not found`, code: 'NOT_FOUND' };
  void reply.code(404).send(body);
}

/** gRPC codes that mean "the service is not there right now": CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE. */
const UNAVAILABLE_GRPC_CODES = new Set([1, 4, 8, 14]);
/** A healthy start or signal takes milliseconds; an unreachable server would otherwise hold the request ~20 s. */
export const TEMPORAL_CALL_DEADLINE_MS = 5_000;

/** True when a Temporal call failed because the service is down, unreachable or overloaded (a closed connection too). */
export function isTemporalUnavailable(err: unknown): boolean {
  if (!(err instanceof ServiceError)) return false;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code !== 'number' || UNAVAILABLE_GRPC_CODES.has(code);
}

/** Runs a Temporal call under a deadline; "service unavailable" becomes a 503, anything else is rethrown. */
export async function temporalCall<T>(client: Client, fn: () => Promise<T>, deadlineMs = TEMPORAL_CALL_DEADLINE_MS): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + deadlineMs, fn);
  } catch (err) {
    if (isTemporalUnavailable(err)) throw unavailable('the workflow service is unavailable: retry later');
    throw err;
  }
}
