// ESLint flat config: typescript-eslint's recommended rules, the React hooks rules, and
// the JupyterLab naming conventions; formatting is left to Prettier.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['lib/', 'node_modules/', 'coverage/', '**/*.d.ts'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
    rules: {
      // JupyterLab's convention: interfaces start with I (IRun, IRunsModel.IOptions).
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      // Lumino's statics pattern (CommandIDs, RunsModel.IOptions) uses namespaces.
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      curly: ['error', 'all'],
      // Components and functions stay small enough to read at once; split larger ones.
      'max-lines-per-function': [
        'error',
        { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }
      ],
      eqeqeq: ['error', 'smart'],
      'no-console': ['error', { allow: ['debug', 'info', 'warn', 'error'] }],
      'prefer-const': 'error'
    }
  },
  {
    files: ['src/__tests__/**/*.{ts,tsx}'],
    rules: {
      // Tests reach into mocks and replies without spelling out every type.
      '@typescript-eslint/no-explicit-any': 'off',
      // A describe() block holds many tests.
      'max-lines-per-function': 'off'
    }
  },
  {
    files: ['*.config.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' }
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  prettier
);
