import { describe, expect, it } from 'vitest';

import { checkRetentionOverrides } from '../../../local/runtime/retentionOverrides';

describe('checkRetentionOverrides', () => {
    it('passes positive integers and absent fields through unchanged', () => {
        const overrides = {
            rawNamesBlobMs: 60_000,
            blobSweepIntervalMs: 15_000,
            eventHubMs: 60_000,
            letterCountsTtlSeconds: 60,
            cosmosTtlSweepIntervalMs: 15_000,
            azuriteExtentGc: { gcIntervalMs: 15_000, gcProtectMs: 15_000, maxExtentBytes: 1_048_576 },
        };
        expect(checkRetentionOverrides(overrides)).toEqual(overrides);
        expect(checkRetentionOverrides({ eventHubMs: undefined })).toEqual({ eventHubMs: undefined });
    });

    it.each([
        [{ eventHubMs: 0 }, 'retention.eventHubMs must be a positive integer (got 0)'],
        [{ letterCountsTtlSeconds: 1.5 }, 'retention.letterCountsTtlSeconds must be a positive integer (got 1.5)'],
        [{ rawNamesBlobMs: Number.NaN }, 'retention.rawNamesBlobMs must be a positive integer (got NaN)'],
        [
            { azuriteExtentGc: { gcIntervalMs: 1000, gcProtectMs: -1, maxExtentBytes: 4096 } },
            'retention.azuriteExtentGc.gcProtectMs must be a positive integer (got -1)',
        ],
    ])('refuses %j, quoting the field and value', (overrides, message) => {
        expect(() => checkRetentionOverrides(overrides)).toThrow(new RangeError(message));
    });
});
