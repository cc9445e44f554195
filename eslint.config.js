// ESLint flat config: typescript-eslint's recommended rules, no floating promises (a
// forgotten `await` on a Temporal or database call fails silently), and the workflow
// sandbox's import rules enforced before the bundler finds them.
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const sandboxMessage =
  'workflow code runs in the Temporal sandbox: no Node built-ins or I/O; do it in an activity';

/** Node built-ins by bare name (fs, fs/promises, path, ...); `node:*` is a pattern below. */
const nodeBuiltins = builtinModules
  .filter((name) => !name.startsWith('_'))
  .map((name) => ({ name, message: sandboxMessage }));

export default defineConfig(
  {
    ignores: ['node_modules/', '.temporal/', '.casework/', 'activities/db/migrations/', 'bench/results/'],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [
            { group: ['node:*'], message: sandboxMessage },
            {
              group: [
                '@temporalio/activity',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/testing',
                '@temporalio/common/lib/internal-non-workflow*',
              ],
              message: 'the workflow sandbox rejects @temporalio/activity, client, worker and testing: use @temporalio/workflow',
            },
            {
              regex: '(^|/)activities(/|$)',
              allowTypeImports: true,
              message: 'workflows import activities as types only (`import type`), through proxyActivities',
            },
          ],
        },
      ],
    },
  },
  {
    // Fakes and benchmarks handle arbitrary JSON from the wire.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
