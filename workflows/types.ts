/**
 * Inputs, outputs and error type names shared by workflows, activities and the gateway.
 * Pure TypeScript: no imports, so both the workflow sandbox and Node can load it.
 */

/** Every `ApplicationFailure.type` casework throws. */
export type ErrorType =
  | 'ValidationError'
  | 'NotFound'
  | 'LlmBadRequest'
  | 'LlmAuthError'
  | 'LlmOutputInvalid'
  | 'LlmTransient'
  /** The database refused the statement for good (integrity, data, syntax): never retried. */
  | 'DatabaseError'
  /** The database could not be reached (refused, reset, restarting, too many connections): retried. */
  | 'DatabaseUnavailable'
  /** Any other database failure (serialization, deadlock, a timeout): retried. */
  | 'DatabaseTransient'
  | 'Cancelled'
  | 'UnknownWorkflow';

export interface QueueNames {
  chat: string;
  ingest: string;
  research: string;
  maintenance: string;
}

/** What the gateway signals for each user message. */
export interface NewMessage {
  messageId: string;
  /** The thread's user turn number this message is (1-based). */
  turn: number;
  /** Characters in the message: drives batched signal extraction. */
  chars: number;
}

/** Counters a conversation carries across replies and continue-as-new. */
export interface ConversationState {
  /** Highest user turn answered so far. */
  answeredTurn: number;
  turnsSinceExtraction: number;
  charsSinceExtraction: number;
  hasTitle: boolean;
  /** Recently seen message ids, so a re-sent signal is not answered twice. */
  recentMessageIds: string[];
}

export interface ConversationInput {
  threadId: string;
  userId: string;
  caseId?: string;
  queues: QueueNames;
  /** Messages signalled but not yet answered (continue-as-new carries them). */
  pending?: NewMessage[];
  state?: ConversationState;
  /** Close the run after this long with nothing to answer; the next message starts a new one. */
  idleTimeoutMs?: number;
  /** Continue as new after this many replies (the server may suggest it sooner). */
  maxTurnsPerRun?: number;
}

export interface Degradation {
  step: string;
  error: string;
}

export interface ReplyResult {
  replyId: string;
  status: 'complete' | 'failed';
  hasTitle: boolean;
}

/** The input of any workflow the agent registry dispatches. */
export interface AgentDispatchInput {
  userId: string;
  threadId?: string;
  caseId?: string;
  suggestionId?: string;
  agentType: string;
  correlationId: string;
  queues: QueueNames;
  params?: Record<string, unknown>;
}

export interface GenerateSignalEmbeddingsInput {
  signalIds: string[];
  threadId?: string;
}

export interface ChatTitleInput {
  threadId: string;
}

/** Workflow ids people can read in the Web UI. */
export const workflowIds = {
  conversation: (threadId: string) => `chat-${threadId}`,
  chatTitle: (threadId: string) => `chat-title-${threadId}`,
  signalEmbeddings: (threadId: string, key: string) => `signal-embeddings-${threadId}-${key}`,
  agent: (agentType: string, key: string) => `agent-${agentType}-${key}`,
};

export const CONVERSATION_WORKFLOW_PREFIX = 'chat-';
