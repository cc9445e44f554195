/** `npm run migrate`: applies pending migrations once, before the worker and gateway start. */
import { databaseUrl, loadConfig } from './config.js';
import { runMigrations } from '../activities/db/migrate.js';

const config = loadConfig();
const url = databaseUrl(config);
try {
  const version = await runMigrations(url);
  console.log(`database schema at version ${version} (${config.database.url ? 'DATABASE_URL' : 'embedded database'})`);
} catch (err) {
  const where = config.database.url ? 'the server in DATABASE_URL' : `the embedded database on port ${config.database.embeddedPort}`;
  console.error(`migration failed against ${where}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
