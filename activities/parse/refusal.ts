/**
 * Why an input cannot be read. The readers throw it wherever they run (inline or in a parse
 * thread, which cannot load the Temporal SDK cheaply); the parse pool turns it into a
 * non-retryable `ApplicationFailure` of its type, with its message as the readable reason.
 */
import type { ErrorType } from '../../workflows/types.js';

export class ParseRefusal extends Error {
  override name = 'ParseRefusal';

  constructor(readonly type: Extract<ErrorType, 'DocumentUnreadable' | 'ValidationError'>, message: string) {
    super(message);
  }
}
