import { describe, expect, it } from 'vitest';

import { parseSignalRConnectionString } from '../../../local/signalR/connectionString';

describe('parseSignalRConnectionString', () => {
    it('parses the emulator-style string, applying Port to the endpoint but not to the audience', () => {
        expect(
            parseSignalRConnectionString('Endpoint=http://localhost;Port=8888;AccessKey=ABC/def+123=;Version=1.0;'),
        ).toEqual({
            endpoint: 'http://localhost:8888',
            audienceEndpoint: 'http://localhost',
            accessKey: 'ABC/def+123=',
            version: '1.0',
        });
    });

    it('accepts keys in any case and order, and a service URL without Port', () => {
        expect(parseSignalRConnectionString('accesskey=k;ENDPOINT=https://x.service.signalr.net/')).toEqual({
            endpoint: 'https://x.service.signalr.net',
            audienceEndpoint: 'https://x.service.signalr.net',
            accessKey: 'k',
            version: '1.0',
        });
    });

    it('refuses a missing AccessKey', () => {
        expect(() => parseSignalRConnectionString('Endpoint=http://localhost;Port=8888;Version=1.0;')).toThrow(
            'Invalid SignalR connection string: AccessKey is missing (got "Endpoint=http://localhost;Port=8888;Version=1.0;")',
        );
    });

    it('refuses a bad Port and masks the key in the message', () => {
        expect(() => parseSignalRConnectionString('Endpoint=http://localhost;Port=88x;AccessKey=secret;')).toThrow(
            'Invalid SignalR connection string: Port "88x" is not a port number (got "Endpoint=http://localhost;Port=88x;AccessKey=***;")',
        );
    });

    it('refuses identity-based strings, which need Azure', () => {
        expect(() =>
            parseSignalRConnectionString('Endpoint=https://x.service.signalr.net;AuthType=azure.msi;Version=1.0;'),
        ).toThrow(
            'Invalid SignalR connection string: AuthType "azure.msi" is not supported locally; use an AccessKey (got "Endpoint=https://x.service.signalr.net;AuthType=azure.msi;Version=1.0;")',
        );
    });

    it('refuses text that is not key=value', () => {
        expect(() => parseSignalRConnectionString('http://localhost:8888')).toThrow(
            'Invalid SignalR connection string: segment "http://localhost:8888" is not key=value (got "http://localhost:8888")',
        );
    });
});
