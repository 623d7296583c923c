import { readFileSync } from 'node:fs';

import { parse as parseCsv } from 'csv-parse/sync';

import { NamestreamError, quote } from '../../domain/errors';

/**
 * Reading local input files the way Stream Analytics' local runs and CI/CD tests take them
 * (https://learn.microsoft.com/azure/stream-analytics/visual-studio-code-local-run): JSON as an array of events
 * (a top-level array is split into one event per element), as line-delimited JSON, or as a single object; CSV with
 * a header row, every value a string (R:data-types: CSV values arrive as strings).
 */
export type InputFormat = 'JSON' | 'CSV';

/** A local input or expected-output file that cannot be read: names the file, and the line when there is one. */
export class LocalFileError extends NamestreamError {
    readonly code = 'LocalFile';
    constructor(
        readonly file: string,
        readonly reason: string,
        readonly value?: unknown,
    ) {
        super(`${file}: ${reason}${value === undefined ? '' : ` (got ${quote(value)})`}`);
        this.name = 'LocalFileError';
    }
}

/** The format a file name suggests: `.csv` is CSV, everything else JSON. */
export function formatOf(file: string): InputFormat {
    return /\.csv$/i.test(file) ? 'CSV' : 'JSON';
}

/** Parses a format name as testConfig.json writes it (`JSON`, `CSV`, `AVRO`, case-insensitive). */
export function parseFormat(name: string, file: string): InputFormat {
    const upper = name.toUpperCase();
    if (upper === 'JSON' || upper === 'CSV') {
        return upper;
    }
    throw new LocalFileError(file, `the ${name} format is not supported by the local engine (use JSON or CSV)`);
}

/** Reads the events of one input file. */
export function readEvents(file: string, format: InputFormat = formatOf(file)): unknown[] {
    let text: string;
    try {
        text = readFileSync(file, 'utf8');
    } catch (error) {
        throw new LocalFileError(file, `cannot be read: ${(error as Error).message}`);
    }
    return format === 'CSV' ? parseCsvText(text, file) : parseJsonEvents(text, file);
}

/** JSON: an array (one event per element), a single value, or one JSON value per line. */
export function parseJsonEvents(text: string, file: string): unknown[] {
    const trimmed = text.replace(/^\uFEFF/, '').trim();
    if (trimmed === '') {
        return [];
    }
    try {
        const whole = JSON.parse(trimmed) as unknown;
        return Array.isArray(whole) ? whole : [whole];
    } catch {
        // Not one JSON document: read it as line-delimited JSON.
    }
    const events: unknown[] = [];
    const lines = trimmed.split(/\r?\n/);
    for (const [index, line] of lines.entries()) {
        if (line.trim() === '') {
            continue;
        }
        try {
            events.push(JSON.parse(line) as unknown);
        } catch (error) {
            throw new LocalFileError(
                file,
                `line ${index + 1} is not JSON (${(error as Error).message}); expected a JSON array or one JSON value per line`,
                line.length > 120 ? `${line.slice(0, 120)}…` : line,
            );
        }
    }
    return events;
}

function parseCsvText(text: string, file: string): unknown[] {
    try {
        return parseCsv<Record<string, string>>(text, { columns: true, skip_empty_lines: true, bom: true });
    } catch (error) {
        throw new LocalFileError(file, `is not valid CSV with a header row: ${(error as Error).message}`);
    }
}
