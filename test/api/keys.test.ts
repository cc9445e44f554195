/** API keys: stored hashed, shown once, the dev key idempotent, and the CLI's answers. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, users } from '../../activities/db/schema/index.js';
import { createUserWithKey, DEV_USER_NAME, ensureDevKey, generateApiKey, hashApiKey, isPublicRoute } from '../../api/auth.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const run = promisify(execFile);
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe('keys', () => {
  it('generates distinct cw_ keys and stores only their hash', async () => {
    const key = generateApiKey();
    expect(key).toMatch(/^cw_[A-Za-z0-9_-]{43}$/);
    expect(generateApiKey()).not.toBe(key);
    const { userId, key: created } = await createUserWithKey(database.db, { name: 'carol', admin: false });
    const rows = await database.db.select().from(apiKeys).where(eq(apiKeys.userId, userId));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.keyHash).toBe(hashApiKey(created));
    expect(rows[0]!.keyHash).not.toContain(created);
    expect(rows[0]!.prefix).toBe(created.slice(0, 8));
  });

  it('a second key for the same user reuses the user and never demotes an admin', async () => {
    const first = await createUserWithKey(database.db, { name: 'dana', admin: true });
    const second = await createUserWithKey(database.db, { name: 'dana', admin: false });
    expect(second.userId).toBe(first.userId);
    const [user] = await database.db.select().from(users).where(eq(users.id, first.userId));
    expect(user!.isAdmin).toBe(true);
  });

  it('ensureDevKey is idempotent: one admin dev user, one key row', async () => {
    const devKey = 'cw_dev_test_key_0123456789';
    const first = await ensureDevKey(database.db, devKey);
    const second = await ensureDevKey(database.db, devKey);
    expect(first.created).toBe(true);
    expect(second).toEqual({ userId: first.userId, created: false });
    const devUsers = await database.db.select().from(users).where(eq(users.name, DEV_USER_NAME));
    expect(devUsers).toEqual([expect.objectContaining({ isAdmin: true })]);
    expect(await database.db.select().from(apiKeys).where(eq(apiKeys.keyHash, hashApiKey(devKey)))).toHaveLength(1);
  });

  it('knows which routes need no key', () => {
    for (const route of ['/healthz', '/readyz', '/openapi.json', '/docs', '/docs/', '/docs/static/*', '/docs/json']) expect(isPublicRoute(route), route).toBe(true);
    for (const route of ['/v1/events', '/docsx', '/v1/healthz', undefined]) expect(isPublicRoute(route), String(route)).toBe(false);
  });
});

describe('npm run keys', () => {
  const cli = (args: string[]) =>
    run('npx', ['tsx', 'workers/keys.ts', ...args], { env: { ...process.env, DATABASE_URL: database.url }, cwd: process.cwd() });

  it('create prints a working key once; ensure-dev prints no secret', async () => {
    const created = await cli(['create', '--user', 'erin', '--admin']);
    const key = created.stdout.match(/cw_[A-Za-z0-9_-]{43}/)?.[0];
    expect(key).toBeDefined();
    const [row] = await database.db.select().from(apiKeys).where(eq(apiKeys.keyHash, hashApiKey(key!)));
    expect(row).toBeDefined();
    const ensured = await cli(['ensure-dev']);
    expect(ensured.stdout.trim()).toBe('dev key ready for user dev');
  }, 60_000);

  it('answers a usage error for bad arguments', async () => {
    for (const args of [[], ['create'], ['frobnicate'], ['create', '--user', 'a b'], ['ensure-dev', '--admin']]) {
      const failure = await cli(args).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failure?.code, args.join(' ')).toBe(2);
      expect(failure?.stderr, args.join(' ')).toContain('usage:');
    }
  }, 60_000);
});
