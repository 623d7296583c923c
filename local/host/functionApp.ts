import { readFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';

import { globSync } from 'tinyglobby';

import type {
    FunctionCallback,
    FunctionMetadata,
    ProgrammingModel,
    RpcBindingInfo,
    RpcLogLevel,
} from './functionsCoreTypes';

/** A binding as the function declared it: `%SETTING%` and `{expression}` placeholders are left unresolved. */
export interface BindingDefinition extends RpcBindingInfo {
    name: string;
    type: string;
    direction: 'in' | 'out';
}

/** One registered function: the contract the Bicep, the local runtime and the tests all read. */
export interface FunctionDefinition {
    name: string;
    trigger: BindingDefinition;
    inputs: BindingDefinition[];
    outputs: BindingDefinition[];
    retry?: Record<string, unknown>;
}

export interface LoadedFunction {
    definition: FunctionDefinition;
    metadata: FunctionMetadata;
    callback: FunctionCallback;
}

export interface FunctionApp {
    programmingModel: ProgrammingModel;
    functions: Map<string, LoadedFunction>;
    /** The files the app's package.json `main` matched, in load order. */
    files: string[];
    /** Messages the library logged through the core API outside any invocation (for example at registration). */
    systemLog: Array<{ level: RpcLogLevel; message: string }>;
}

const CORE_MODULE = '@azure/functions-core';
const FAKE_CORE_PATH = path.join(__dirname, '__azure-functions-core__.js');

let current: { app: FunctionApp; appRoot: string } | undefined;

/**
 * Loads a Functions app the way the Azure Functions Node worker does: provides the `@azure/functions-core` module
 * the library looks for, requires every file that package.json `main` matches, and records each `app.*`
 * registration (its binding metadata and handler) and the programming model the library sets. Nothing here
 * knows the project's functions: a new function file is discovered like any other.
 *
 * A process hosts one app, as a worker does; loading the same root again returns the same registrations.
 */
export function loadFunctionApp(appRoot: string): FunctionApp {
    const root = path.resolve(appRoot);
    if (current) {
        if (current.appRoot !== root) {
            throw new Error(`This process already hosts the app at "${current.appRoot}" (asked for "${root}")`);
        }
        return current.app;
    }
    const files = resolveMainFiles(root);
    const registry: Omit<FunctionApp, 'programmingModel'> & { programmingModel?: ProgrammingModel } = {
        functions: new Map(),
        files,
        systemLog: [],
    };
    installCoreModule({
        registerFunction(metadata: FunctionMetadata, callback: FunctionCallback) {
            if (registry.functions.has(metadata.name)) {
                throw new Error(`A function named "${metadata.name}" is already registered`);
            }
            registry.functions.set(metadata.name, { metadata, callback, definition: toDefinition(metadata) });
            return { dispose: () => registry.functions.delete(metadata.name) };
        },
        setProgrammingModel(model: ProgrammingModel) {
            registry.programmingModel = model;
        },
        getProgrammingModel() {
            return registry.programmingModel;
        },
        registerHook() {
            return { dispose: () => undefined };
        },
        log(level: RpcLogLevel, _category: string, message: string) {
            registry.systemLog.push({ level, message });
        },
    });
    // A copy of the library loaded before the core module existed has cached "test mode"; load it afresh.
    const appRequire = Module.createRequire(path.join(root, 'package.json'));
    forgetCachedModule(appRequire, '@azure/functions');
    for (const file of files) {
        appRequire(file);
    }
    if (!registry.programmingModel) {
        throw new Error(`No function registered: none of ${JSON.stringify(files)} called app.* from @azure/functions`);
    }
    const app = registry as FunctionApp;
    current = { app, appRoot: root };
    return app;
}

/** Expands package.json `main` (a file or a glob, as the worker accepts) relative to the app root. */
export function resolveMainFiles(appRoot: string): string[] {
    const packageJson = JSON.parse(readFileSync(path.join(appRoot, 'package.json'), 'utf8')) as { main?: unknown };
    if (typeof packageJson.main !== 'string' || packageJson.main === '') {
        throw new Error(`package.json in "${appRoot}" has no "main": the host would find no functions`);
    }
    const files = globSync(packageJson.main, { cwd: appRoot, absolute: true }).sort();
    if (files.length === 0) {
        throw new Error(
            `package.json "main" ("${packageJson.main}") matches no file in "${appRoot}": run the build first`,
        );
    }
    return files;
}

/** Lists the app's functions in their declared form: the binding contract, without handlers. */
export function describeFunctionApp(app: FunctionApp): FunctionDefinition[] {
    return [...app.functions.values()].map((f) => f.definition).sort((a, b) => a.name.localeCompare(b.name));
}

function toDefinition(metadata: FunctionMetadata): FunctionDefinition {
    const bindings = Object.entries(metadata.bindings).map(([name, binding]) => {
        // The library adds worker-protocol flags; they are not part of the function's declared contract.
        const { properties: _properties, ...declared } = binding;
        return { ...declared, name } as BindingDefinition;
    });
    const trigger = bindings.find((b) => b.direction === 'in' && b.type.toLowerCase().endsWith('trigger'));
    if (!trigger) {
        throw new Error(`Function "${metadata.name}" has no trigger binding`);
    }
    return {
        name: metadata.name,
        trigger,
        inputs: bindings.filter((b) => b.direction === 'in' && b !== trigger),
        outputs: bindings.filter((b) => b.direction === 'out'),
        ...(metadata.retryOptions ? { retry: metadata.retryOptions } : {}),
    };
}

type ModuleInternals = typeof Module & {
    _resolveFilename(request: string, parent: unknown, ...rest: unknown[]): string;
    _cache: Record<string, unknown>;
};

function installCoreModule(coreApi: object): void {
    const internals = Module as ModuleInternals;
    const coreModule = new Module(FAKE_CORE_PATH);
    coreModule.filename = FAKE_CORE_PATH;
    coreModule.loaded = true;
    coreModule.exports = coreApi;
    internals._cache[FAKE_CORE_PATH] = coreModule;
    const resolveFilename = internals._resolveFilename.bind(Module);
    internals._resolveFilename = (request, parent, ...rest) =>
        request === CORE_MODULE ? FAKE_CORE_PATH : resolveFilename(request, parent, ...rest);
}

function forgetCachedModule(appRequire: NodeJS.Require, request: string): void {
    try {
        const resolved = appRequire.resolve(request);
        const directory = path.dirname(resolved);
        for (const key of Object.keys(appRequire.cache)) {
            if (key.startsWith(directory)) {
                delete appRequire.cache[key];
            }
        }
    } catch {
        // Not installed: the app's own require will report it.
    }
}
