import { describe, expect, it } from 'vitest';

import { partitionIndexForKey } from '../../../local/eventHubs/partitionKeyHash';

describe('partitionIndexForKey', () => {
    // Vectors produced by the service's C# lookup3 implementation, published with the @azure/event-hubs tests.
    it('maps keys to the partitions the Event Hubs service picks', () => {
        expect([
            partitionIndexForKey('alphabet', 3),
            partitionIndexForKey('alphabet', 11),
            partitionIndexForKey('TheBestParitionEver', 4),
            partitionIndexForKey('TheWorstParitionEver', 15),
        ]).toEqual([0, 4, 2, 1]);
    });

    // Cross-checked against @azure/event-hubs 6.0.4's internal mapper (keys of 0, 1-4, 12, 13 and >24 bytes).
    it('handles every tail length and multi-byte characters', () => {
        const keys = ['', 'a', 'ab', 'abc', 'abcd', 'héllo wörld', '0123456789ab', '0123456789abc'];
        keys.push('the quick brown fox jumps over 24 lazy dogs!!');
        expect(keys.map((key) => partitionIndexForKey(key, 32))).toEqual([0, 28, 13, 17, 6, 17, 30, 7, 22]);
    });
});
