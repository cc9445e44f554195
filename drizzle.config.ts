import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './activities/db/schema/index.ts',
  out: './activities/db/migrations',
});
