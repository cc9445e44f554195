/**
 * What a failed signal-with-start says about whether the signal reached the conversation
 * (issue 11). It decides between failing the message (only when it certainly was not
 * delivered) and leaving it pending for a retry and the redelivery job.
 *
 * The status a call ends with describes its last attempt only: the SDK's connection itself
 * resends the same request on UNKNOWN, UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED, DATA_LOSS,
 * OUT_OF_RANGE (and some INTERNAL) until the deadline, so a final "no connection" does not
 * prove that an earlier attempt was not written to a connection that then dropped. Hence
 * only two outcomes are certain:
 * - `not-sent`: the client's channel was shut down (a closed client). grpc-js refuses to
 *   create the call, synchronously and before any attempt, with "Channel has been shut
 *   down"; the SDK wraps that error, which carries no gRPC status, in a `ServiceError`.
 * - `rejected`: the server refused the request as such (INVALID_ARGUMENT, PERMISSION_DENIED,
 *   UNAUTHENTICATED, UNIMPLEMENTED, an unknown namespace). None is retried, and each would
 *   have refused every earlier attempt of the same request alike.
 * Everything else is `ambiguous`: DEADLINE_EXCEEDED and CANCELLED (the server may have
 * applied the request before the client stopped waiting), UNAVAILABLE and the other
 * retried codes, FAILED_PRECONDITION, INTERNAL, and any error without a gRPC status.
 */
import { NamespaceNotFoundError, ServiceError } from '@temporalio/client';

export type SignalFailure = 'not-sent' | 'rejected' | 'ambiguous';

/** gRPC status codes by name (the values are fixed by the gRPC spec). */
const GRPC = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, UNIMPLEMENTED: 12, UNAUTHENTICATED: 16 } as const;
const REJECTED_CODES = new Set<number>(Object.values(GRPC));

/** grpc-js's error when a call is made on a closed channel (`InternalChannel.createCall`). */
const CHANNEL_SHUT_DOWN = 'Channel has been shut down';

interface GrpcStatusLike {
  code?: unknown;
  message?: unknown;
}

export function classifySignalFailure(err: unknown): SignalFailure {
  if (err instanceof NamespaceNotFoundError) return 'rejected';
  if (!(err instanceof ServiceError)) return 'ambiguous';
  const cause = (err.cause ?? {}) as GrpcStatusLike;
  if (typeof cause.code === 'number') return REJECTED_CODES.has(cause.code) ? 'rejected' : 'ambiguous';
  return cause.message === CHANNEL_SHUT_DOWN ? 'not-sent' : 'ambiguous';
}
