// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-results/**', '.local/**', '**/*.js', '**/*.cjs'] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
        languageOptions: {
            parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
        },
        plugins: { 'simple-import-sort': simpleImportSort },
        rules: {
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
            '@typescript-eslint/return-await': ['error', 'in-try-catch'],
            '@typescript-eslint/explicit-member-accessibility': ['error', { accessibility: 'no-public' }],
            '@typescript-eslint/no-floating-promises': 'error',
            eqeqeq: 'error',
            'no-console': 'error',
            'simple-import-sort/imports': 'error',
            'simple-import-sort/exports': 'error',
        },
    },
    {
        // Domain code is framework-free: the Functions SDK stays at the edge.
        files: ['domain/**/*.ts'],
        rules: {
            'no-restricted-imports': ['error', { patterns: ['@azure/functions', '@azure/functions/*'] }],
        },
    },
    {
        // The local runtime, scripts and benches are CLIs: printing is their job.
        files: ['local/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
        rules: { 'no-console': 'off' },
    },
    {
        files: ['test/**/*.ts'],
        rules: {
            '@typescript-eslint/no-unsafe-assignment': 'off',
            '@typescript-eslint/no-unsafe-member-access': 'off',
            '@typescript-eslint/no-unsafe-call': 'off',
            '@typescript-eslint/no-unsafe-argument': 'off',
            '@typescript-eslint/no-non-null-assertion': 'off',
            'no-console': 'off',
        },
    },
    { files: ['*.config.mjs', '*.config.mts'], ...tseslint.configs.disableTypeChecked },
    prettier,
);
