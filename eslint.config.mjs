// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const nodeBuiltins = ['node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net', 'url', 'util', 'stream', 'zlib', 'events', 'process'];
const sdks = ['@aws-sdk/*', '@octokit/*', '@slack/*', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'build/**', 'dist/**', 'test/fixtures/**', 'bin/**', 'scripts/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      // import-x parses the modules an import points at; without this it reads .ts as JS and sees no imports.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts'] },
      'import-x/extensions': ['.ts', '.mts', '.js'],
    },
    rules: {
      // Layers depend one way: an import cycle is a design error, not a style issue.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Use z.enum([...]) instead of a TypeScript enum.' }],
    },
  },
  {
    // domain/ is pure: no I/O, no Node built-ins, no SDKs, no Temporal runtime.
    files: ['domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'domain/ is pure: no Node built-ins.' },
          { group: [...sdks, '@temporalio/workflow'], message: 'domain/ is pure: no SDKs and no Temporal runtime.' },
          { group: ['../activities/*', '../workflows/*', '../cli/*', '../workers/*'], message: 'domain/ depends on nothing but itself.' },
        ],
      }],
    },
  },
  {
    // workflows/ is deterministic: only domain/, workflows/, @temporalio/workflow and `import type` from activities/.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: nodeBuiltins, message: 'workflows/ must be deterministic: no Node built-ins.' },
          { group: sdks, message: 'workflows/ must not import SDKs; call an activity.' },
          { group: ['../activities/*', '../activities'], message: 'Use `import type` from activities/.', allowTypeImports: true },
        ],
      }],
    },
  },
  {
    // cli/ talks to Temporal through the client only: never activities/.
    files: ['cli/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: ['../activities/*', '../../activities/*'], message: 'cli/ never imports activities/.', allowTypeImports: true }],
      }],
    },
  },
);
