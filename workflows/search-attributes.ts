/** casework's custom search attributes (Keyword), registered on the server by `./temporal-dev.sh`. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const caseIdKey = defineSearchAttributeKey('CaseId', SearchAttributeType.KEYWORD);
export const threadIdKey = defineSearchAttributeKey('ThreadId', SearchAttributeType.KEYWORD);
export const userIdKey = defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD);
export const correlationIdKey = defineSearchAttributeKey('CorrelationId', SearchAttributeType.KEYWORD);
export const agentTypeKey = defineSearchAttributeKey('AgentType', SearchAttributeType.KEYWORD);

/** The attribute pairs for whatever ids a run has. */
export function searchAttributes(ids: {
  caseId?: string | null;
  threadId?: string | null;
  userId?: string | null;
  correlationId?: string | null;
  agentType?: string | null;
}) {
  const pairs = [
    { key: caseIdKey, value: ids.caseId },
    { key: threadIdKey, value: ids.threadId },
    { key: userIdKey, value: ids.userId },
    { key: correlationIdKey, value: ids.correlationId },
    { key: agentTypeKey, value: ids.agentType },
  ];
  return pairs.filter((p): p is { key: typeof caseIdKey; value: string } => typeof p.value === 'string' && p.value !== '');
}
