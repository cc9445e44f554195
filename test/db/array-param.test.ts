/**
 * `arrayParam` (activities/db/array-param.ts): a column of values as one array literal. Ids,
 * numbers and times go bare (the consolidation's writes send thousands a night); anything
 * else is quoted, so every value comes back from PostgreSQL as it was sent, NULL as NULL and
 * the text "NULL" as text.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayParam } from '../../activities/db/array-param.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const HOSTILE = ['NULL', 'null', '', ' ', 'a,b', '{x}', 'say "hi"', 'back\\slash', ' padded ', 'two words', '-', 'é', 'Null'];
const BARE = ['3f2504e0-4f89-11d3-9a0c-0305e82c3301', '2026-12-07T03:00:00.000Z', '12345', '0.25', '-1e-7', 'abc'];

describe('arrayParam', () => {
  it('sends ids, numbers and ISO times bare, and quotes the rest', () => {
    expect(arrayParam(['3f2504e0-4f89-11d3-9a0c-0305e82c3301', 0.5, true, null])).toBe('{3f2504e0-4f89-11d3-9a0c-0305e82c3301,0.5,true,NULL}');
    expect(arrayParam(['NULL', 'a,b', 'say "hi"'])).toBe('{"NULL","a,b","say \\"hi\\""}');
  });

  it('round-trips every value through PostgreSQL, NULL and the text "NULL" apart', async () => {
    const values = [...HOSTILE, ...BARE, null];
    // As JSON, so the driver's own array parsing plays no part.
    const [row] = await database.db.execute<{ back: string }>(sql`select array_to_json(${arrayParam(values)}::text[])::text as back`);
    expect(JSON.parse(row!.back)).toEqual(values);
  });
});
