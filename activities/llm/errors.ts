/**
 * Translates failures of an OpenAI-compatible API into Temporal's terms where they happen,
 * so the retry policy heals what can heal and fails fast on what cannot (reliability A5):
 * connection trouble, timeouts, 408/409/429/5xx → retryable `LlmTransient` (honouring
 * `Retry-After`); 401/403 → `LlmAuthError`; other 4xx → `LlmBadRequest`; all non-retryable.
 */
import { ApplicationFailure } from '@temporalio/common';
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ErrorType } from '../../workflows/types.js';

/** A server asking for a longer pause than this gets it capped: the retry policy and the
 * activity's schedule-to-close budget stay in charge of how long a workflow waits. */
export const MAX_RETRY_DELAY_MS = 5 * 60_000;

/** Error bodies can be whole HTML pages; a failure message only needs the gist. */
const MAX_MESSAGE_CHARS = 500;

const TRANSIENT_STATUSES = new Set([408, 409, 429]);

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

interface FailureOptions {
  nextRetryDelay?: number;
  cause?: Error;
}

/** An `ApplicationFailure` of one of casework's types; only `LlmTransient` is retryable. */
export function llmFailure(type: ErrorType, message: string, options: FailureOptions = {}): ApplicationFailure {
  return ApplicationFailure.create({
    message: redactSecrets(message),
    type,
    nonRetryable: type !== 'LlmTransient',
    nextRetryDelay: options.nextRetryDelay,
    cause: options.cause,
  });
}

/** The model answered, but not with something we may use (never return partial output). */
export function outputInvalid(message: string): ApplicationFailure {
  return llmFailure('LlmOutputInvalid', message);
}

export function toTemporalFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  // Callers that know their AbortSignal use rethrowAsTemporalFailure, which rethrows the
  // abort itself; here we only make sure a cancellation is never retried.
  if (err instanceof APIUserAbortError || isNamed(err, 'AbortError')) {
    return llmFailure('Cancelled', 'the LLM request was aborted by its caller');
  }
  if (err instanceof APIConnectionError || isNamed(err, 'TimeoutError') || isNetworkError(err)) {
    return llmFailure('LlmTransient', `LLM API unreachable: ${connectionDetail(err)}`, { cause: asError(err) });
  }
  if (err instanceof APIError && typeof err.status === 'number') return fromHttpError(err);
  if (err instanceof SyntaxError) {
    return outputInvalid(`the LLM API sent a body that is not valid JSON: ${err.message}`);
  }
  // Unknown errors keep Temporal's default (retryable); the retry policy bounds the attempts.
  // No cause: its message would reach the history unredacted.
  return llmFailure('LlmTransient', `LLM call failed: ${describe(err)}`);
}

/**
 * Throws what a failed LLM call should surface as. When the caller's own signal fired (activity
 * cancellation) we rethrow its reason, or the original error, untouched: Temporal passes a
 * `CancelledFailure` as the reason and reports the activity cancelled only when that (or an
 * `AbortError`) comes back; a translated failure would be reported as failed and retried.
 * A signal that fired because of a deadline (`AbortSignal.timeout`) is a timeout, so transient.
 */
export function rethrowAsTemporalFailure(err: unknown, signal?: AbortSignal | null): never {
  if (signal?.aborted && !isNamed(signal.reason, 'TimeoutError')) {
    throw signal.reason instanceof Error ? signal.reason : err;
  }
  throw toTemporalFailure(err);
}

function fromHttpError(err: APIError): ApplicationFailure {
  const status = err.status as number;
  const requestId = err.requestID ? ` (request id ${err.requestID})` : '';
  const message = `LLM API answered ${truncate(err.message)}${requestId}`;
  if (status === 401 || status === 403) return llmFailure('LlmAuthError', message);
  if (TRANSIENT_STATUSES.has(status) || status >= 500) {
    return llmFailure('LlmTransient', message, { nextRetryDelay: retryAfterMs(err.headers) });
  }
  return llmFailure('LlmBadRequest', message);
}

/** The pause the server asked for: `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const millis = headers?.get('retry-after-ms');
  if (millis) return capDelay(Number(millis));
  const retryAfter = headers?.get('retry-after')?.trim();
  if (!retryAfter) return undefined;
  const seconds = Number(retryAfter);
  if (!Number.isNaN(seconds)) return capDelay(seconds * 1000);
  return capDelay(Date.parse(retryAfter) - now);
}

/** Undefined for nonsense or a moment already past: the retry policy's own backoff applies. */
function capDelay(ms: number): number | undefined {
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  return Math.min(Math.ceil(ms), MAX_RETRY_DELAY_MS);
}

function isNetworkError(err: unknown): boolean {
  for (const e of causeChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
    if (/socket hang up|other side closed|terminated/i.test(e.message)) return true;
  }
  return false;
}

/** The innermost message explains most ("connect ECONNREFUSED 127.0.0.1:1"), the SDK's the least. */
function connectionDetail(err: unknown): string {
  const chain = causeChain(err);
  const innermost = chain[chain.length - 1];
  return truncate(innermost ? innermost.message || innermost.name : String(err));
}

function causeChain(err: unknown): Error[] {
  const chain: Error[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e);
  return chain;
}

function isNamed(err: unknown, name: string): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === name;
}

function asError(err: unknown): Error | undefined {
  return err instanceof Error ? err : undefined;
}

function describe(err: unknown): string {
  return truncate(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

/** Providers echo (partly masked) keys in 401 bodies; failures end up in workflow histories. */
export function redactSecrets(text: string): string {
  return text
    .replace(/\bsk-[A-Za-z0-9_*.-]{4,}/g, 'sk-***')
    .replace(/\bBearer\s+\S+/gi, 'Bearer ***');
}
