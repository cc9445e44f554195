/**
 * A statement run as a named prepared statement of its pooled connection. Drizzle prepares
 * nothing (`db.execute` and its builders send every statement unnamed), so PostgreSQL parses
 * and plans each one anew: for the consolidation's per-scope read and its many-CTE write, run
 * a thousand times a night, that was a large part of their cost (the bench's consolidation
 * scenario). Rows come back as the driver parses them, columns by their SQL names; drizzle
 * leaves timestamps as PostgreSQL's text.
 */
import { fillPlaceholders, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { PoolDb } from './client.js';

const dialect = new PgDialect();

/** A statement's text and parameters, rendered once; `sql.placeholder(name)`s are filled per run. */
export interface Statement {
  text: string;
  params: unknown[];
}

export function statement(query: SQL): Statement {
  const { sql: text, params } = dialect.sqlToQuery(query);
  return { text, params };
}

export async function runPrepared<Row>(db: PoolDb, prepared: Statement, values: Record<string, unknown> = {}): Promise<Row[]> {
  const params = fillPlaceholders(prepared.params, values);
  return (await db.$client.unsafe(prepared.text, params as never[], { prepare: true })) as unknown as Row[];
}
