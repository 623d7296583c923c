import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface LocalSettings {
    /** App settings: what `process.env` holds in Azure. */
    values: Record<string, string>;
    /** The `Host` section: port and CORS, as `func start` reads it. */
    host: { LocalHttpPort?: number; CORS?: string; CORSCredentials?: boolean };
    /** The file the settings came from. */
    source: string;
}

/** A setting or binding expression that cannot be resolved; the message names it, as the Functions host does. */
export class BindingResolutionError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'BindingResolutionError';
    }
}

/**
 * Reads `local.settings.json` when present, else `local.settings.sample.json`, the same file `func start` uses, so
 * one settings file serves both runtimes.
 */
export function loadLocalSettings(appRoot: string): LocalSettings {
    const candidates = ['local.settings.json', 'local.settings.sample.json'].map((file) => path.join(appRoot, file));
    const source = candidates.find((file) => existsSync(file));
    if (!source) {
        throw new Error(`No settings: neither ${candidates.join(' nor ')} exists`);
    }
    const parsed = JSON.parse(readFileSync(source, 'utf8')) as {
        Values?: Record<string, unknown>;
        Host?: LocalSettings['host'];
    };
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed.Values ?? {})) {
        values[key] = String(value);
    }
    return { values, host: parsed.Host ?? {}, source };
}

/** Replaces every `%NAME%` with the app setting's value, as the host does for binding properties. */
export function resolveAppSettingExpressions(text: string, values: Record<string, string>): string {
    return text.replace(/%([^%]+)%/g, (_match, name: string) => {
        const value = values[name];
        if (value === undefined || value === '') {
            throw new BindingResolutionError(
                `'%${name}%' does not resolve to a value: app setting "${name}" is not set`,
            );
        }
        return value;
    });
}

/**
 * Replaces `{name}` binding expressions from the trigger's data (a JSON payload's top-level properties and the
 * trigger metadata, matched case-insensitively like the host) plus the built-ins `{rand-guid}` and `{DateTime}`.
 */
export function resolveBindingExpressions(
    text: string,
    bindingData: Record<string, unknown>,
    builtIns: { randomGuid: () => string; now: () => Date },
): string {
    const lowerCased = new Map(Object.entries(bindingData).map(([key, value]) => [key.toLowerCase(), value]));
    return text.replace(/\{([^{}]+)\}/g, (_match, expression: string) => {
        const key = expression.trim().toLowerCase();
        if (key === 'rand-guid' || key === 'sys.randguid') {
            return builtIns.randomGuid();
        }
        if (key === 'datetime' || key === 'sys.utcnow') {
            return builtIns.now().toISOString();
        }
        const value = lowerCased.get(key);
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
            throw new BindingResolutionError(`No value for named parameter '${expression}'.`);
        }
        return String(value);
    });
}

/** A Cosmos DB query with its binding expressions replaced by parameters. */
export interface ParameterizedSqlQuery {
    sqlQuery: string;
    parameters: Array<{ name: string; value: string }>;
}

/**
 * Turns the `{expression}`s in a Cosmos DB input binding's sqlQuery into SQL parameters, as the extension does, so
 * a value never becomes query text. Each distinct expression gets one parameter, named after it with non-word
 * characters as `_`; when two expressions would share a name (`{a.b}` and `{a_b}`) the later one gets a suffix.
 */
export function parameterizeSqlQuery(sqlQuery: string, resolve: (expression: string) => string): ParameterizedSqlQuery {
    const nameByExpression = new Map<string, string>();
    const parameters: ParameterizedSqlQuery['parameters'] = [];
    const taken = (name: string) => parameters.some((parameter) => parameter.name === name);
    const text = sqlQuery.replace(/\{([^{}]+)\}/g, (_match, expression: string) => {
        let name = nameByExpression.get(expression);
        if (name === undefined) {
            const base = `@${expression.replace(/\W/g, '_')}`;
            name = base;
            for (let suffix = 2; taken(name); suffix++) {
                name = `${base}_${String(suffix)}`;
            }
            nameByExpression.set(expression, name);
            parameters.push({ name, value: resolve(expression) });
        }
        return name;
    });
    return { sqlQuery: text, parameters };
}

/** The binding data a JSON trigger payload contributes: its top-level scalar properties. */
export function bindingDataFromPayload(payload: unknown): Record<string, unknown> {
    if (typeof payload === 'string') {
        try {
            return bindingDataFromPayload(JSON.parse(payload));
        } catch {
            return {};
        }
    }
    if (payload && typeof payload === 'object' && !Array.isArray(payload) && !Buffer.isBuffer(payload)) {
        return payload as Record<string, unknown>;
    }
    return {};
}

/**
 * Reads a binding's connection: the setting named by the prefix, or the `prefix__property` section of identity-based
 * settings. Throws naming the prefix when neither exists, so a missing setting stops start-up, as in Azure.
 */
export function readConnection(
    prefix: string,
    values: Record<string, string>,
): { value?: string; section: Record<string, string> } {
    const section: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
        if (key.startsWith(`${prefix}__`)) {
            section[key.slice(prefix.length + 2)] = value;
        }
    }
    const value = values[prefix];
    if ((value === undefined || value === '') && Object.keys(section).length === 0) {
        throw new BindingResolutionError(
            `Connection "${prefix}" is not configured: set app setting "${prefix}" or "${prefix}__<property>" settings`,
        );
    }
    return { ...(value ? { value } : {}), section };
}

/** Parses a `Key=Value;Key=Value;` connection string; keys are matched case-insensitively. */
export function parseConnectionString(text: string): Map<string, string> {
    const parts = new Map<string, string>();
    for (const segment of text.split(';')) {
        const index = segment.indexOf('=');
        if (index > 0) {
            parts.set(segment.slice(0, index).trim().toLowerCase(), segment.slice(index + 1).trim());
        }
    }
    return parts;
}
