/**
 * `npm run keys -- create --user NAME [--admin]`: a new API key for NAME (created if new),
 * printed once; only its hash is stored.
 * `npm run keys -- ensure-dev`: the dev user (admin) owns CASEWORK_DEV_API_KEY; idempotent,
 * and it never prints the key.
 */
import { parseArgs } from 'node:util';
import { createUserWithKey, ensureDevKey } from '../api/auth.js';
import { createDb, type DbHandle } from '../activities/db/client.js';
import { assertSchemaCurrent } from '../activities/db/migrate.js';
import { databaseUrl, loadConfig, type Config } from './config.js';

const USAGE = `usage:
  npm run keys -- create --user NAME [--admin]   print a new API key for NAME (shown once)
  npm run keys -- ensure-dev                     make sure the dev user owns CASEWORK_DEV_API_KEY`;

/** Letters, digits and . _ - : a name that reads well in logs and a shell. */
const USER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

type Command = { kind: 'create'; user: string; admin: boolean } | { kind: 'ensure-dev' };

class UsageError extends Error {}

function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { user: { type: 'string' }, admin: { type: 'boolean', default: false } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1) throw new UsageError('expected exactly one command: create or ensure-dev');
  if (positionals[0] === 'ensure-dev') {
    if (values.user !== undefined || values.admin) throw new UsageError('ensure-dev takes no options');
    return { kind: 'ensure-dev' };
  }
  if (positionals[0] !== 'create') throw new UsageError(`unknown command "${positionals[0]}"`);
  if (!values.user) throw new UsageError('create needs --user NAME');
  if (!USER_NAME.test(values.user)) throw new UsageError('--user: 1-64 letters, digits, dots, underscores or dashes');
  return { kind: 'create', user: values.user, admin: values.admin ?? false };
}

async function run(command: Command, config: Config, handle: DbHandle): Promise<void> {
  await assertSchemaCurrent(handle.sql);
  if (command.kind === 'ensure-dev') {
    await ensureDevKey(handle.db, config.devApiKey);
    console.log('dev key ready for user dev');
    return;
  }
  const { key } = await createUserWithKey(handle.db, { name: command.user, admin: command.admin });
  console.log(`API key for ${command.user}${command.admin ? ' (admin)' : ''}, shown once; store it now:`);
  console.log(key);
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const handle = createDb(databaseUrl(config), { poolMax: 1, connectTimeoutS: config.database.connectTimeoutS });
  try {
    await run(command, config, handle);
    return 0;
  } catch (err) {
    console.error(`keys: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await handle.close();
  }
}

process.exitCode = await main();
