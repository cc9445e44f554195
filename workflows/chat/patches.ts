/**
 * `patched()` ids of the conversation: each names a change of the commands a running
 * conversation issues, so runs recorded before it replay as they ran (Decision 15). When
 * no run older than a patch can exist (conversations close after an idle hour, and every
 * run continues as new), it moves to `deprecatePatch` and then goes.
 */
export const CHAT_PATCHES = {
  /** Continue-as-new in a task of its own, after a timer, never beside local activities. */
  continueAsNewInOwnTask: 'chat-continue-as-new-in-own-task',
  /** Step 1 runs only while a suggestion may be waiting for a "yes". */
  confirmOnlyWhenSuggested: 'chat-confirm-only-when-suggested',
  /** Step 3 runs only while its rules may find something: a new signal, or one more to post. */
  interveneOnlyOnNewSignals: 'chat-intervene-only-on-new-signals',
  /** Step 6 suggests a case draft: the catalog's `structure` entry exists (Decision 30). */
  suggestStructure: 'chat-suggest-structure',
  /** New evidence in the case (`evidenceAdded`) wakes step 3, whose rules read evidence links (Decision 30). */
  evidenceReachesInterventions: 'chat-evidence-reaches-interventions',
  /** Step 2 suggests agents: the static catalog holds its first agent, `research` (Decision 30). */
  suggestResearch: 'chat-suggest-research',
} as const;
