import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
    formatDotnetDouble,
    isDotnetWhiteSpace,
    toLowerInvariant,
    toUpperInvariant,
} from '../../../local/streamAnalytics/dotnetText';

/**
 * The outside reference: what .NET itself returns, recorded by `dotnet run --project scripts/dotnet-string-reference`
 * (see that Program.cs for how to regenerate). Every code point is compared, not a sample.
 */
interface DotnetReference {
    dotnet: string;
    upperInvariant: number[][];
    lowerInvariant: number[][];
    whiteSpace: number[];
    samples: { input: string; upper: string; lower: string; length: number }[];
    doubleToString: [number, string][];
}

const reference = JSON.parse(
    readFileSync(path.join(__dirname, 'dotnet-string-reference.json'), 'utf8'),
) as DotnetReference;

function differences(table: number[][], map: (text: string) => string): string[] {
    const expected = new Map(table.map(([cp, ...units]) => [cp!, String.fromCharCode(...units)]));
    const found: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) {
            continue;
        }
        const text = String.fromCodePoint(cp);
        const want = expected.get(cp) ?? text;
        if (map(text) !== want) {
            found.push(`U+${cp.toString(16).toUpperCase()}`);
        }
    }
    return found;
}

describe(`.NET string semantics (reference recorded from .NET ${reference.dotnet})`, () => {
    it('UPPER maps every code point as ToUpperInvariant does', () => {
        expect(differences(reference.upperInvariant, toUpperInvariant)).toEqual([]);
    });

    it('LOWER maps every code point as ToLowerInvariant does', () => {
        expect(differences(reference.lowerInvariant, toLowerInvariant)).toEqual([]);
    });

    it('whole strings, including the issue examples straße, ﬁ and İ, keep their UTF-16 length', () => {
        expect(
            reference.samples.map((sample) => ({
                input: sample.input,
                upper: toUpperInvariant(sample.input),
                lower: toLowerInvariant(sample.input),
                length: sample.input.length,
            })),
        ).toEqual(reference.samples);
        expect(reference.samples[0]).toEqual({ input: 'straße', upper: 'STRAßE', lower: 'straße', length: 6 });
    });

    it('white space is char.IsWhiteSpace for every UTF-16 code unit', () => {
        const ours: number[] = [];
        for (let code = 0; code <= 0xffff; code++) {
            if (isDotnetWhiteSpace(code)) {
                ours.push(code);
            }
        }
        expect(ours).toEqual(reference.whiteSpace);
    });

    it('floats print as double.ToString(CultureInfo.InvariantCulture)', () => {
        expect(reference.doubleToString.map(([value]) => [value, formatDotnetDouble(value)])).toEqual(
            reference.doubleToString.map(([value, text]) => [value, text]),
        );
    });
});
