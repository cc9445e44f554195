/** casework's custom search attributes (Keyword), registered on the server by `./temporal-dev.sh`. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CaseIdKey = defineSearchAttributeKey('CaseId', SearchAttributeType.KEYWORD);
export const ThreadIdKey = defineSearchAttributeKey('ThreadId', SearchAttributeType.KEYWORD);
export const UserIdKey = defineSearchAttributeKey('UserId', SearchAttributeType.KEYWORD);
export const CorrelationIdKey = defineSearchAttributeKey('CorrelationId', SearchAttributeType.KEYWORD);
export const AgentTypeKey = defineSearchAttributeKey('AgentType', SearchAttributeType.KEYWORD);

/** The attribute pairs for whatever ids a run has. */
export function searchAttributes(ids: {
  caseId?: string | null;
  threadId?: string | null;
  userId?: string | null;
  correlationId?: string | null;
  agentType?: string | null;
}) {
  const pairs = [
    { key: CaseIdKey, value: ids.caseId },
    { key: ThreadIdKey, value: ids.threadId },
    { key: UserIdKey, value: ids.userId },
    { key: CorrelationIdKey, value: ids.correlationId },
    { key: AgentTypeKey, value: ids.agentType },
  ];
  return pairs.filter((p): p is { key: typeof CaseIdKey; value: string } => typeof p.value === 'string' && p.value !== '');
}
