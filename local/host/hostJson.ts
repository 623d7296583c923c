import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The host.json settings the local host honours; defaults are the Service Bus extension's own. */
export interface HostOptions {
    routePrefix: string;
    serviceBus: { maxConcurrentCalls: number; maxAutoLockRenewalDurationMs: number; autoCompleteMessages: boolean };
    functionTimeoutMs?: number;
}

export function loadHostOptions(appRoot: string, processorCount: number): HostOptions {
    const hostJson = JSON.parse(readFileSync(path.join(appRoot, 'host.json'), 'utf8')) as {
        functionTimeout?: string;
        extensions?: {
            http?: { routePrefix?: string };
            serviceBus?: {
                maxConcurrentCalls?: number;
                maxAutoLockRenewalDuration?: string;
                autoCompleteMessages?: boolean;
            };
        };
    };
    const serviceBus = hostJson.extensions?.serviceBus ?? {};
    return {
        routePrefix: hostJson.extensions?.http?.routePrefix ?? 'api',
        serviceBus: {
            maxConcurrentCalls: serviceBus.maxConcurrentCalls ?? 16 * processorCount,
            maxAutoLockRenewalDurationMs: parseTimeSpan(serviceBus.maxAutoLockRenewalDuration ?? '00:05:00'),
            autoCompleteMessages: serviceBus.autoCompleteMessages ?? true,
        },
        ...(hostJson.functionTimeout ? { functionTimeoutMs: parseTimeSpan(hostJson.functionTimeout) } : {}),
    };
}

/**
 * Parses a .NET TimeSpan as host.json writes it: `hh:mm:ss` or `d.hh:mm:ss`, with optional fractions, and as
 * TimeSpan.Parse reads it: a first field beyond 23 in `hh:mm:ss` is days, so "24:00:00" is 24 days, not a day
 * (https://learn.microsoft.com/dotnet/fundamentals/runtime-libraries/system-timespan-parse).
 */
export function parseTimeSpan(text: string): number {
    const match = /^(?:(\d+)\.)?(\d+):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text.trim());
    if (!match) {
        throw new Error(`Invalid TimeSpan "${text}": expected hh:mm:ss`);
    }
    const [, dayField, first = '0', second = '0', third = '0', fraction = '0'] = match;
    const firstIsDays = dayField === undefined && match[5] === undefined && Number(first) > 23;
    const [days, hours, minutes, seconds] = firstIsDays
        ? [first, second, third, '0']
        : [dayField ?? '0', first, second, third];
    // .NET rejects a component beyond its unit (TimeSpan.Parse("00:60:00") throws) rather than carrying it over.
    for (const [value, unit, max] of [
        [hours, 'hours', 23],
        [minutes, 'minutes', 59],
        [seconds, 'seconds', 59],
    ] as const) {
        if (Number(value) > max) {
            throw new Error(`Invalid TimeSpan "${text}": ${unit} must be 0-${max} (got ${value})`);
        }
    }
    return (
        ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
        Number(seconds) * 1000 +
        Math.round(Number(`0.${fraction}`) * 1000)
    );
}
