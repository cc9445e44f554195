/**
 * Temporal clients that fail the way a real one does, for the hand-off tests: the errors
 * have the shape the SDK throws (a `ServiceError` whose cause is a gRPC status error), and
 * a signal can first land on the real server, then fail, as when a deadline runs out
 * after the server applied it.
 */
import { ServiceError, type Client } from '@temporalio/client';
import type { NewMessage } from '../../workflows/types.js';

/** What `@grpc/grpc-js` rejects a call with; `isGrpcServiceError` recognises it by details and metadata. */
export function grpcStatusError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

export const grpcFailure = (code: number, details: string): ServiceError =>
  new ServiceError('Failed to signalWithStart Workflow', { cause: grpcStatusError(code, details) });

export const deadlineExceeded = (): ServiceError => grpcFailure(4, 'Deadline exceeded after 5.000s');

/** What a closed client throws: grpc-js refuses to create the call, so no status and no attempt. */
export const channelShutDown = (): ServiceError =>
  new ServiceError('Unexpected error while making gRPC request', { cause: new Error('Channel has been shut down') });

type SignalWithStartArgs = Parameters<Client['workflow']['signalWithStart']>;

export interface FakeSignalOptions {
  /** Whether attempt n (1-based) reaches the real server before failing. */
  lands: (attempt: number) => boolean;
  /** The error attempt n fails with, or undefined for success. */
  failure: (attempt: number) => Error | undefined;
  /** Runs before attempt n fails, with the message it carries. */
  beforeFailing?: (message: NewMessage) => Promise<void>;
}

/** A client whose signal-with-start is the real one's, with failures injected per attempt. */
export function faultyClient(real: Client, options: FakeSignalOptions): { client: Client; attempts: () => number } {
  let attempts = 0;
  const signalWithStart = async (...args: SignalWithStartArgs) => {
    const attempt = ++attempts;
    const landed = options.lands(attempt) ? await real.workflow.signalWithStart(...args) : undefined;
    const failure = options.failure(attempt);
    if (!failure) return landed ?? (await real.workflow.signalWithStart(...args));
    await options.beforeFailing?.(args[1].signalArgs?.[0] as NewMessage);
    throw failure;
  };
  const fake = { withDeadline: real.withDeadline.bind(real), workflow: { signalWithStart } };
  return { client: fake as unknown as Client, attempts: () => attempts };
}
