// Lint rules: typescript-eslint's recommended set, Prettier for layout, and the layer boundaries the
// README promises, enforced on resolved import paths (eslint-plugin-import-x, no-restricted-paths).
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import prettier from 'eslint-config-prettier';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TESTS = ['**/*.test.ts', '**/test-helpers.ts', 'test/**', 'bench/**'];
const LAYER_2_AND_3 = ['./translation', './orchestration', './subgraphs', './gateway', './policies', './runtime'];

/** Folders a folder never imports from, each with the reason shown to whoever breaks the rule. */
const boundaries = [
  { target: './protocol', from: [...LAYER_2_AND_3, './simulators'], message: 'layer 1 (protocol) never imports layers 2 and 3' },
  {
    target: './translation',
    from: ['./orchestration', './subgraphs', './gateway', './policies', './runtime', './simulators'],
    message: 'layer 2 (translation) never imports layer 3 or the API',
  },
  {
    target: './orchestration',
    from: ['./subgraphs', './gateway', './policies', './runtime', './simulators'],
    message: 'layer 3 never imports the API layer',
  },
  {
    target: './platform',
    from: ['./protocol', './translation', './orchestration', './subgraphs', './gateway', './policies', './runtime', './simulators'],
    message: 'platform is plumbing every layer uses; it imports none of them',
  },
  {
    target: './security',
    from: ['./protocol', './translation', './orchestration', './subgraphs', './gateway', './policies', './runtime', './simulators'],
    message: 'security primitives import no product layer',
  },
  {
    target: './gateway',
    from: ['./subgraphs', './orchestration', './translation', './protocol', './policies', './simulators'],
    message: 'the gateway never imports subgraph code or the layers behind it',
  },
  {
    target: './subgraphs/mpi',
    from: ['./subgraphs/vendor-adapter', './subgraphs/audit', './subgraphs/clinical'],
    message: 'subgraphs never import each other (shared plumbing lives in subgraphs/shared)',
  },
  {
    target: './subgraphs/vendor-adapter',
    from: ['./subgraphs/mpi', './subgraphs/audit', './subgraphs/clinical'],
    message: 'subgraphs never import each other (shared plumbing lives in subgraphs/shared)',
  },
  {
    target: './subgraphs/audit',
    from: ['./subgraphs/mpi', './subgraphs/vendor-adapter', './subgraphs/clinical'],
    message: 'subgraphs never import each other (shared plumbing lives in subgraphs/shared)',
  },
  {
    target: './subgraphs/clinical',
    from: ['./subgraphs/mpi', './subgraphs/vendor-adapter', './subgraphs/audit'],
    message: 'subgraphs never import each other (shared plumbing lives in subgraphs/shared)',
  },
  {
    target: './subgraphs/integration',
    from: ['./subgraphs/mpi', './subgraphs/vendor-adapter', './subgraphs/audit'],
    message: 'subgraphs never import each other (shared plumbing lives in subgraphs/shared)',
  },
  {
    target: './subgraphs',
    from: ['./protocol', './simulators', './runtime', './gateway'],
    message: 'subgraphs only resolve: they do not fetch (layer 1) nor start the product',
  },
  {
    target: './simulators',
    from: ['./protocol', './translation', './orchestration', './subgraphs', './gateway', './policies', './runtime'],
    message: 'the simulators stand in for EHRs and share no product code',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '**/__generated__/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    plugins: { 'import-x': importX, '@stylistic': stylistic },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-control-regex': 'off',
      // Prettier wraps code at 140; this catches comments and code it cannot wrap (strings and templates are exempt).
      '@stylistic/max-len': [
        'error',
        { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...boundaries.map((b) => ({ ...b, except: [] })),
            {
              target: './!(test|bench)/**/!(*.test|test-helpers).ts',
              from: ['./test', './bench'],
              message: 'product code never imports tests or benchmarks',
            },
          ],
        },
      ],
    },
  },
  { files: TESTS, rules: { 'import-x/no-restricted-paths': 'off' } },
  // The console's client runs in the browser (bundled by gateway/console.ts).
  { files: ['console/client/**'], languageOptions: { globals: globals.browser } },
  prettier,
  // After eslint-config-prettier, which turns max-len off.
  {
    rules: {
      '@stylistic/max-len': [
        'error',
        { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
    },
  },
);
