import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import {
    bindingDataFromPayload,
    BindingResolutionError,
    loadLocalSettings,
    parameterizeSqlQuery,
    parseConnectionString,
    readConnection,
    resolveAppSettingExpressions,
    resolveBindingExpressions,
} from '../../../local/host/appSettings';

const builtIns = {
    randomGuid: () => '00000000-0000-4000-8000-000000000001',
    now: () => new Date('2025-03-04T05:06:07.089Z'),
};

describe('resolveAppSettingExpressions', () => {
    it('replaces every %NAME% with its app setting', () => {
        expect(resolveAppSettingExpressions('%DB%/%CONTAINER%-%DB%', { DB: 'names', CONTAINER: 'letters' })).toBe(
            'names/letters-names',
        );
    });

    it('leaves text without %NAME% as it is', () => {
        expect(resolveAppSettingExpressions('raw-names/{id}.json', {})).toBe('raw-names/{id}.json');
    });

    it('names the setting when it is missing', () => {
        expect(() => resolveAppSettingExpressions('%NAMES_QUEUE%', {})).toThrow(
            new BindingResolutionError(
                `'%NAMES_QUEUE%' does not resolve to a value: app setting "NAMES_QUEUE" is not set`,
            ),
        );
    });

    it('treats an empty setting as missing', () => {
        expect(() => resolveAppSettingExpressions('%EMPTY%', { EMPTY: '' })).toThrow(
            `'%EMPTY%' does not resolve to a value: app setting "EMPTY" is not set`,
        );
    });

    it('throws a BindingResolutionError', () => {
        expect(() => resolveAppSettingExpressions('%X%', {})).toThrow(BindingResolutionError);
    });
});

describe('resolveBindingExpressions', () => {
    it('takes values from the binding data, matching names case-insensitively', () => {
        expect(
            resolveBindingExpressions(
                'raw/{ID}/{Name}-{count}-{ok}.json',
                { id: 'a1', NAME: 'Ada', count: 3, ok: true },
                builtIns,
            ),
        ).toBe('raw/a1/Ada-3-true.json');
    });

    it('offers {rand-guid} and {DateTime} (and their sys. forms) from the built-ins', () => {
        expect(resolveBindingExpressions('{rand-guid} {DateTime} {sys.randguid} {sys.utcnow}', {}, builtIns)).toBe(
            '00000000-0000-4000-8000-000000000001 2025-03-04T05:06:07.089Z 00000000-0000-4000-8000-000000000001 2025-03-04T05:06:07.089Z',
        );
    });

    it('reports a missing value as the host does', () => {
        expect(() => resolveBindingExpressions('raw/{id}.json', { name: 'Ada' }, builtIns)).toThrow(
            new BindingResolutionError("No value for named parameter 'id'."),
        );
    });

    it('does not turn an object or null into text', () => {
        expect(() => resolveBindingExpressions('{nested}', { nested: { a: 1 } }, builtIns)).toThrow(
            "No value for named parameter 'nested'.",
        );
        expect(() => resolveBindingExpressions('{gone}', { gone: null }, builtIns)).toThrow(
            "No value for named parameter 'gone'.",
        );
    });
});

describe('bindingDataFromPayload', () => {
    it('reads a JSON object, as text or as an object', () => {
        expect(bindingDataFromPayload('{"id":"a1","n":2}')).toEqual({ id: 'a1', n: 2 });
        expect(bindingDataFromPayload({ id: 'a1' })).toEqual({ id: 'a1' });
    });

    it('contributes nothing for text that is not JSON, arrays, buffers and scalars', () => {
        expect(bindingDataFromPayload('not json')).toEqual({});
        expect(bindingDataFromPayload('[1,2]')).toEqual({});
        expect(bindingDataFromPayload(Buffer.from('{"id":"a1"}'))).toEqual({});
        expect(bindingDataFromPayload(42)).toEqual({});
        expect(bindingDataFromPayload(undefined)).toEqual({});
    });
});

describe('readConnection', () => {
    it('reads a plain connection string setting', () => {
        expect(readConnection('ServiceBusConnection', { ServiceBusConnection: 'Endpoint=sb://x/;' })).toEqual({
            value: 'Endpoint=sb://x/;',
            section: {},
        });
    });

    it('reads the prefix__property section of identity-based settings, and only that prefix', () => {
        expect(
            readConnection('EventGridConnection', {
                EventGridConnection__topicEndpointUri: 'http://127.0.0.1:7072/api/events',
                EventGridConnection__credential: 'managedidentity',
                EventGridConnectionOther__x: 'not mine',
                EventGridConnectionX: 'not mine either',
            }),
        ).toEqual({
            section: { topicEndpointUri: 'http://127.0.0.1:7072/api/events', credential: 'managedidentity' },
        });
    });

    it('names the connection when neither form is set', () => {
        expect(() => readConnection('CosmosDBConnection', { CosmosDBConnection: '' })).toThrow(
            new BindingResolutionError(
                'Connection "CosmosDBConnection" is not configured: set app setting "CosmosDBConnection" or "CosmosDBConnection__<property>" settings',
            ),
        );
    });
});

describe('parseConnectionString', () => {
    it('splits Key=Value pairs with lower-cased keys, keeping "=" inside values', () => {
        expect(
            parseConnectionString('Endpoint=sb://localhost;SharedAccessKey=abc==; UseDevelopmentEmulator=true;;junk'),
        ).toEqual(
            new Map([
                ['endpoint', 'sb://localhost'],
                ['sharedaccesskey', 'abc=='],
                ['usedevelopmentemulator', 'true'],
            ]),
        );
    });

    it('gives an empty map for empty text', () => {
        expect(parseConnectionString('')).toEqual(new Map());
    });
});

describe('loadLocalSettings', () => {
    const directories: string[] = [];
    const tempApp = () => {
        const directory = mkdtempSync(path.join(tmpdir(), 'namestream-settings-'));
        directories.push(directory);
        return directory;
    };
    afterEach(() => {
        for (const directory of directories.splice(0)) {
            rmSync(directory, { recursive: true, force: true });
        }
    });

    it('prefers local.settings.json over the sample, and turns values into text', () => {
        const root = tempApp();
        writeFileSync(path.join(root, 'local.settings.sample.json'), JSON.stringify({ Values: { FROM: 'sample' } }));
        writeFileSync(
            path.join(root, 'local.settings.json'),
            JSON.stringify({
                IsEncrypted: false,
                Values: { FROM: 'local', WINDOW: 30, ENABLED: true },
                Host: { LocalHttpPort: 7075, CORS: 'http://a,http://b', CORSCredentials: true },
            }),
        );
        expect(loadLocalSettings(root)).toEqual({
            values: { FROM: 'local', WINDOW: '30', ENABLED: 'true' },
            host: { LocalHttpPort: 7075, CORS: 'http://a,http://b', CORSCredentials: true },
            source: path.join(root, 'local.settings.json'),
        });
    });

    it('falls back to the sample, with no Host section', () => {
        const root = tempApp();
        writeFileSync(path.join(root, 'local.settings.sample.json'), JSON.stringify({ Values: { FROM: 'sample' } }));
        expect(loadLocalSettings(root)).toEqual({
            values: { FROM: 'sample' },
            host: {},
            source: path.join(root, 'local.settings.sample.json'),
        });
    });

    it('names both files when neither exists', () => {
        const root = tempApp();
        expect(() => loadLocalSettings(root)).toThrow(
            `No settings: neither ${path.join(root, 'local.settings.json')} nor ${path.join(root, 'local.settings.sample.json')} exists`,
        );
    });
});

describe('parameterizeSqlQuery', () => {
    const values: Record<string, string> = { 'a.b': 'dotted', a_b: 'underscored', id: "O'Brien", a_b_2: 'literal' };

    it('gives each distinct expression one parameter, and two expressions that sanitize alike different names', () => {
        expect(
            parameterizeSqlQuery(
                'SELECT * FROM c WHERE c.x = {a.b} AND c.y = {a_b} AND c.z = {a.b} AND c.id = {id} AND c.w = {a_b_2}',
                (expression) => values[expression]!,
            ),
        ).toEqual({
            sqlQuery:
                'SELECT * FROM c WHERE c.x = @a_b AND c.y = @a_b_2 AND c.z = @a_b AND c.id = @id AND c.w = @a_b_2_2',
            parameters: [
                { name: '@a_b', value: 'dotted' },
                { name: '@a_b_2', value: 'underscored' },
                { name: '@id', value: "O'Brien" },
                { name: '@a_b_2_2', value: 'literal' },
            ],
        });
    });

    it('leaves a query without expressions as it is', () => {
        expect(parameterizeSqlQuery('SELECT * FROM c', () => 'unused')).toEqual({
            sqlQuery: 'SELECT * FROM c',
            parameters: [],
        });
    });
});
