/** Activity log lines carry the ids of the activity's input (workers/activity-log-context.ts). */
import { describe, expect, it } from 'vitest';
import { activityLogContext } from '../../workers/activity-log-context.js';

describe('activityLogContext', () => {
  it('adds the input\'s case, thread, document, user and correlation ids to every log line, and nothing else', async () => {
    const interceptors = activityLogContext({} as never);
    const input = { threadId: 't-1', caseId: 'c-1', documentId: 'd-1', userId: 'u-1', correlationId: 'k-1', content: 'secret', turn: 3 };
    await interceptors.inbound!.execute!({ args: [input], headers: {} }, async () => 'done');
    const attributes = interceptors.outbound!.getLogAttributes!({ workflowId: 'chat-t-1', activityType: 'generateReply' }, (a) => a);
    expect(attributes).toEqual({
      workflowId: 'chat-t-1', activityType: 'generateReply', threadId: 't-1', caseId: 'c-1', documentId: 'd-1', userId: 'u-1', correlationId: 'k-1',
    });
  });

  it('an input without ids adds none', async () => {
    const interceptors = activityLogContext({} as never);
    await interceptors.inbound!.execute!({ args: ['not an object'], headers: {} }, async () => undefined);
    expect(interceptors.outbound!.getLogAttributes!({ activityType: 'x' }, (a) => a)).toEqual({ activityType: 'x' });
  });
});
