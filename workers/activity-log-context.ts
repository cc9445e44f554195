/**
 * Every activity's log lines carry the business ids its input names (Decision 11, the
 * seed's structured logging): case, thread, document, user and correlation id, beside the
 * workflow id, run id and activity the SDK adds. Activities take one input object, so its
 * top-level id fields are read once, when the activity starts.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

const LOGGED_IDS = ['caseId', 'threadId', 'documentId', 'userId', 'correlationId', 'replyId'] as const;

function idsOf(input: unknown): Record<string, string> {
  if (!input || typeof input !== 'object') return {};
  const fields: Record<string, string> = {};
  for (const name of LOGGED_IDS) {
    const value = (input as Record<string, unknown>)[name];
    if (typeof value === 'string' && value !== '') fields[name] = value;
  }
  return fields;
}

export const activityLogContext: ActivityInterceptorsFactory = () => {
  let ids: Record<string, string> = {};
  return {
    inbound: {
      async execute(input, next) {
        ids = idsOf(input.args[0]);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes: (attributes, next) => next({ ...attributes, ...ids }),
    },
  };
};
