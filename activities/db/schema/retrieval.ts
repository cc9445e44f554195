import { bigint, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';

/**
 * What a process's cache of a case's vectors (activities/retrieval/vector-cache.ts) checks
 * before each search: one row per (case, kind: chunk, evidence, signal), bumped by triggers
 * (the hand-written block at the end of the migration) in the transaction of every write that
 * changes which rows that kind searches by vector, whoever writes (a worker, a gateway, psql).
 * No foreign key: deleting a case deletes its chunks, whose trigger bumps this row within the
 * case's own delete.
 */
export const retrievalVersions = pgTable(
  'retrieval_versions',
  {
    caseId: uuid('case_id').notNull(),
    kind: text('kind').$type<'chunk' | 'evidence' | 'signal'>().notNull(),
    /** Any change of the kind's searchable rows: rows added, removed, embedded, or in or out of scope. */
    version: bigint('version', { mode: 'number' }).notNull().default(1),
    /** A change a diff of ids cannot see (a stored vector or text rewritten in place): a cache reloads the whole kind. */
    rewrites: bigint('rewrites', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.caseId, t.kind] })],
);

export type RetrievalVersionRow = typeof retrievalVersions.$inferSelect;
