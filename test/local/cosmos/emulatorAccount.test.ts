import { describe, expect, it } from 'vitest';

import { EMULATOR_ACCOUNT_KEY, parseConnectionString, toConnectionString } from '../../../local/cosmos/emulatorAccount';

describe('emulatorAccount', () => {
    it('round-trips a connection string whose key ends in = padding', () => {
        const connectionString = toConnectionString({ endpoint: 'https://127.0.0.1:8081/', key: EMULATOR_ACCOUNT_KEY });
        expect(connectionString).toBe(`AccountEndpoint=https://127.0.0.1:8081/;AccountKey=${EMULATOR_ACCOUNT_KEY};`);
        expect(parseConnectionString(connectionString)).toEqual({
            endpoint: 'https://127.0.0.1:8081/',
            key: EMULATOR_ACCOUNT_KEY,
        });
    });

    it('accepts setting names in any case and without a trailing semicolon', () => {
        expect(parseConnectionString('accountkey=abc==;ACCOUNTENDPOINT=https://localhost:1/')).toEqual({
            endpoint: 'https://localhost:1/',
            key: 'abc==',
        });
    });

    it('rejects a connection string without a key', () => {
        expect(() => parseConnectionString('AccountEndpoint=https://127.0.0.1:8081/;')).toThrow(
            'Invalid Cosmos DB connection string: AccountEndpoint and AccountKey are both required (got "AccountEndpoint=https://127.0.0.1:8081/;")',
        );
    });

    it('rejects a segment that is not Name=Value', () => {
        expect(() => parseConnectionString('AccountEndpoint=https://a/;garbage')).toThrow(
            'Invalid Cosmos DB connection string: segment "garbage" is not Name=Value (got "AccountEndpoint=https://a/;garbage")',
        );
    });

    it('rejects an endpoint that is not an http(s) origin', () => {
        expect(() => parseConnectionString('AccountEndpoint=ftp://a/;AccountKey=k')).toThrow(
            'Invalid Cosmos DB connection string: AccountEndpoint "ftp://a/" is not an http(s) origin (got "AccountEndpoint=ftp://a/;AccountKey=k")',
        );
    });
});
