import { readFileSync } from 'node:fs';
import path from 'node:path';

import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';

import { findSyntaxProblems, parseBicep } from './bicepModel';

const repoRoot = path.resolve(__dirname, '../..');
const bicepFiles = globSync('infra/**/*.bicep', { cwd: repoRoot }).sort();

describe('infra/**/*.bicep', () => {
    it('finds the template and its modules', () => {
        expect(bicepFiles).toContain('infra/main.bicep');
        expect(bicepFiles.length).toBeGreaterThan(5);
    });

    it.each(bicepFiles)('%s parses with tree-sitter-bicep without ERROR or MISSING nodes', (file) => {
        const tree = parseBicep(readFileSync(path.join(repoRoot, file), 'utf8'));
        expect(findSyntaxProblems(tree)).toEqual([]);
    });

    it.each(bicepFiles)('%s describes every param (Required./Optional.) and every output, AVM style', (file) => {
        const tree = parseBicep(readFileSync(path.join(repoRoot, file), 'utf8'));
        const undocumented: string[] = [];
        let decorators = '';
        for (const node of tree.rootNode.namedChildren) {
            if (node.type === 'decorators') {
                decorators = node.text;
                continue;
            }
            const name = node.namedChildren.find((c) => c.type === 'identifier')?.text ?? '';
            if (node.type === 'parameter_declaration' && !/@description\('(Required|Optional)\. /.test(decorators)) {
                undocumented.push(`param ${name}`);
            }
            if (node.type === 'output_declaration' && !decorators.includes('@description(')) {
                undocumented.push(`output ${name}`);
            }
            decorators = '';
        }
        expect(undocumented).toEqual([]);
    });
});
