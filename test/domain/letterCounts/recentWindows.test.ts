import { describe, expect, it } from 'vitest';

import { parseRecentWindowsParameter, RECENT_LETTER_COUNTS_QUERY } from '../../../domain/letterCounts/recentWindows';

describe('parseRecentWindowsParameter', () => {
    it('defaults to 20 and accepts 1 to 60', () => {
        expect(parseRecentWindowsParameter([])).toBe(20);
        expect(parseRecentWindowsParameter(['1'])).toBe(1);
        expect(parseRecentWindowsParameter(['60'])).toBe(60);
    });

    it.each([
        [['0'], 'must be a whole number from 1 to 60 (got "0")'],
        [['61'], 'must be a whole number from 1 to 60 (got "61")'],
        [['abc'], 'must be a whole number from 1 to 60 (got "abc")'],
        [['2.5'], 'must be a whole number from 1 to 60 (got "2.5")'],
        [['-1'], 'must be a whole number from 1 to 60 (got "-1")'],
        [[''], 'must be a whole number from 1 to 60 (got "")'],
        [['1', '2'], 'must be given at most once (got ["1","2"])'],
    ])('rejects %j', (values, reason) => {
        expect(() => parseRecentWindowsParameter(values)).toThrow(`Invalid request: parameter "windows" ${reason}`);
    });

    it('queries enough documents for the largest request', () => {
        expect(RECENT_LETTER_COUNTS_QUERY).toBe('SELECT TOP 1620 * FROM c ORDER BY c.windowEnd DESC');
    });
});
