import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/**', '.tools/**', 'data/**', 'coverage/**', 'dist/**', 'test-output/**', 'jest.config.js'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflows are deterministic: no Node built-ins.' },
            {
              group: ['openai', '@e2b/*', 'express', 'fs', 'fs/*', 'child_process', 'http', 'https', 'net', 'crypto'],
              message: 'Workflows do no I/O: use an activity.',
            },
            {
              group: ['../activities', '../activities/*', '../sandbox/*', '../storage/*', '../llm/*', '../api/*'],
              allowTypeImports: true,
              message: 'Workflows import only types from I/O modules.',
            },
          ],
        },
      ],
    },
  },
);
