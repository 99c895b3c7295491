import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of the code, lowest first. A module may import from layers below its own, and from
 * its own folder; an import that points up, or across to a neighbour on the same level, fails
 * `npm test`. docs/design.md says what each layer holds.
 */
const LAYERS = [
  ['base'],
  ['config'],
  ['resolver'],
  ['store'],
  ['planner'],
  ['adapters'],
  ['report', 'sync', 'rules', 'scheduling'],
  ['notify', 'forward'],
  ['serve'],
  ['demo'],
  ['cli'],
];
const FOLDERS = LAYERS.flat().filter((f) => f !== 'base');
const filesOf = (folder) =>
  folder === 'base'
    ? ['src/*.ts', 'src/model/**/*.ts', 'src/process/**/*.ts']
    : folder === 'adapters'
      ? ['adapters/**/*.ts']
      : [`src/${folder}/**/*.ts`];
/** An import specifier that reaches into `folder`, written from anywhere in the tree. */
const into = (folder) =>
  folder === 'adapters' ? '(^|/)adapters/' : `(^|/)src/${folder}/|^(\\./|(\\.\\./)+)${folder}/`;

const layerRules = LAYERS.flatMap((level, i) =>
  level.map((folder) => ({
    files: filesOf(folder),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: FOLDERS.filter(
            (other) => other !== folder && LAYERS.findIndex((l) => l.includes(other)) >= i,
          ).map((other) => ({
            regex: into(other),
            message: `${folder} must not import from ${other}: layers only point down (docs/design.md)`,
          })),
        },
      ],
    },
  })),
);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  ...layerRules,
  {
    // The CLI's entry point is CommonJS on purpose (bin/dnsfence.cjs says why).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
