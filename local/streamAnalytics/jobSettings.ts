import { existsSync } from 'node:fs';
import path from 'node:path';

import { z } from 'zod';

import { parseOrThrow } from '../../domain/schema';
import letterCountsJobSettingsJson from '../../infra/letter-counts.job-settings.json';
import { StreamJobUsageError } from './errors';

/**
 * The event-ordering settings of a Stream Analytics job, named as in the ARM/Bicep resource so one JSON file feeds
 * both the Bicep (`loadJsonContent`) and the local engine. Ranges are the service's: late arrival -1 (wait forever)
 * to 1,814,399 s (20 days 23:59:59), out of order 0 to 599 s (9:59).
 */
export const jobSettingsSchema = z.object({
    eventsLateArrivalMaxDelayInSeconds: z.number().int().min(-1).max(1_814_399),
    eventsOutOfOrderMaxDelayInSeconds: z.number().int().min(0).max(599),
    eventsOutOfOrderPolicy: z.enum(['Adjust', 'Drop']),
    outputErrorPolicy: z.enum(['Stop', 'Drop']).optional(),
    compatibilityLevel: z.string().optional(),
    dataLocale: z.string().optional(),
});

export type JobSettings = z.infer<typeof jobSettingsSchema>;

/** Validates settings from a file or a test; throws InvalidMessageError naming the bad field. */
export function parseJobSettings(input: unknown): JobSettings {
    return parseOrThrow(jobSettingsSchema, input, 'jobSettings');
}

/** The settings the letter-count job runs with, in Azure and locally: infra/letter-counts.job-settings.json. */
export const letterCountsJobSettings: JobSettings = parseJobSettings(letterCountsJobSettingsJson);

/** The Event Hub input alias and Cosmos DB output alias the query and the Bicep agree on. */
export const LETTER_COUNTS_INPUT_ALIAS = 'namesInput';
export const LETTER_COUNTS_OUTPUT_ALIAS = 'letterCountsOutput';

/**
 * Finds infra/letter-counts.asaql by walking up from this module, so it resolves from the TypeScript sources
 * (tsx, vitest) and from the compiled dist/ tree alike (tsc does not copy .asaql files).
 */
export function letterCountsQueryPath(from: string = __dirname): string {
    for (let directory = from; ; directory = path.dirname(directory)) {
        const candidate = path.join(directory, 'infra', 'letter-counts.asaql');
        if (existsSync(candidate)) {
            return candidate;
        }
        if (path.dirname(directory) === directory) {
            throw new StreamJobUsageError(
                'query location',
                from,
                'no infra/letter-counts.asaql in this directory or above',
            );
        }
    }
}
