import { ConfigurationError } from '../../domain/errors';
import { WINDOW_SECONDS } from '../../domain/letterCounts/letterCountDocument';
import { parseNamesPerMessage } from '../../domain/messages/createNewNamesMessage';

/**
 * The app settings the function code reads itself (binding settings are resolved by the host from `%NAME%`).
 * Read on first use, not at import, so a test or the local runtime can set them first; validated so that a bad
 * value fails the first invocation with the setting's name instead of producing odd data.
 */
export function readGeneratorSettings(env: NodeJS.ProcessEnv = process.env) {
    const seedText = env.NAMES_SEED?.trim();
    const seed = seedText ? Number(seedText) : undefined;
    if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31)) {
        throw new ConfigurationError('NAMES_SEED', env.NAMES_SEED, 'must be a whole number from 0 to 2147483647');
    }
    return { seed, namesPerMessage: parseNamesPerMessage(env.NAMES_PER_MESSAGE) };
}

/**
 * The tumbling window size of the Stream Analytics query, in seconds (LETTER_COUNT_WINDOW_SECONDS, default 30). It
 * only tells the functions where a window starts; it must equal the query's TumblingWindow, which the Bicep and
 * the local runtime keep in step.
 */
export function readWindowSeconds(env: NodeJS.ProcessEnv = process.env): number {
    const text = env.LETTER_COUNT_WINDOW_SECONDS?.trim();
    if (!text) {
        return WINDOW_SECONDS;
    }
    const seconds = Number(text);
    if (!(Number.isInteger(seconds) && seconds >= 1 && seconds <= 7 * 24 * 3600)) {
        throw new ConfigurationError(
            'LETTER_COUNT_WINDOW_SECONDS',
            text,
            'must be a whole number of seconds from 1 to 604800',
        );
    }
    return seconds;
}
