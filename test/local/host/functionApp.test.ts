import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { describeFunctionApp, loadFunctionApp, resolveMainFiles } from '../../../local/host/functionApp';

const fixture = (name: string) => path.join(__dirname, 'fixtures', name);

describe('resolveMainFiles', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'namestream-app-'));
    afterAll(() => rmSync(empty, { recursive: true, force: true }));

    it('expands the package.json main glob to sorted absolute paths', () => {
        expect(resolveMainFiles(fixture('app'))).toEqual([
            path.join(fixture('app'), 'functions/echo.js'),
            path.join(fixture('app'), 'functions/fail.js'),
        ]);
    });

    it('accepts a plain file as main', () => {
        expect(resolveMainFiles(fixture('unregistered'))).toEqual([path.join(fixture('unregistered'), 'lib/index.js')]);
    });

    it('names the app root when package.json has no main', () => {
        writeFileSync(path.join(empty, 'package.json'), JSON.stringify({ name: 'no-main' }));
        expect(() => resolveMainFiles(empty)).toThrow(
            `package.json in "${empty}" has no "main": the host would find no functions`,
        );
    });

    it('says to build when main matches nothing', () => {
        expect(() => resolveMainFiles(fixture('nomatch'))).toThrow(
            `package.json "main" ("dist/*.js") matches no file in "${fixture('nomatch')}": run the build first`,
        );
    });
});

// The library names an unnamed trigger binding `<type><10 random hex digits>`.
const unnamedTrigger = expect.stringMatching(/^serviceBusTrigger[0-9a-f]{10}$/);

// One process hosts one app: the failing loads come first, then the one that succeeds.
describe('loadFunctionApp', () => {
    it('refuses two functions with the same name', () => {
        expect(() => loadFunctionApp(fixture('duplicate'))).toThrow('A function named "same" is already registered');
    });

    it('refuses an app whose main files register nothing', () => {
        expect(() => loadFunctionApp(fixture('unregistered'))).toThrow(
            `No function registered: none of ${JSON.stringify([path.join(fixture('unregistered'), 'lib/index.js')])} called app.* from @azure/functions`,
        );
    });

    it('discovers every function the main files register, with their declared bindings', () => {
        const app = loadFunctionApp(fixture('app'));
        expect(app.programmingModel.name).toBe('@azure/functions');
        expect(app.files).toEqual(resolveMainFiles(fixture('app')));
        expect(describeFunctionApp(app)).toEqual([
            {
                name: 'echo',
                trigger: {
                    name: unnamedTrigger,
                    type: 'serviceBusTrigger',
                    direction: 'in',
                    connection: 'SB',
                    queueName: 'in-queue',
                },
                inputs: [],
                outputs: [
                    {
                        name: '$return',
                        type: 'blob',
                        direction: 'out',
                        path: 'raw/{id}.json',
                        connection: 'Storage',
                    },
                    {
                        name: 'forwarded',
                        type: 'serviceBus',
                        direction: 'out',
                        queueName: 'out-queue',
                        connection: 'SB',
                    },
                ],
            },
            {
                name: 'fail',
                trigger: {
                    name: unnamedTrigger,
                    type: 'serviceBusTrigger',
                    direction: 'in',
                    connection: 'SB',
                    queueName: 'in-queue',
                },
                inputs: [],
                outputs: [],
            },
        ]);
    });

    it('returns the same registrations when asked for the same root again', () => {
        expect(loadFunctionApp(fixture('app'))).toBe(loadFunctionApp(`${fixture('app')}/`));
    });

    it('refuses a second app in the same process', () => {
        expect(() => loadFunctionApp(fixture('duplicate'))).toThrow(
            `This process already hosts the app at "${fixture('app')}" (asked for "${fixture('duplicate')}")`,
        );
    });
});
