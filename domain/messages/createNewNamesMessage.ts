import { randomUUID } from 'node:crypto';

import type { Clock } from '../clock';
import { ConfigurationError } from '../errors';
import { generateName } from '../names/nameGenerator';
import type { RandomSource } from '../random';
import { toIsoUtc } from '../time';
import { MAX_NAMES_PER_MESSAGE, type NewNamesMessage } from './newNamesMessage';

export interface NamesPerMessage {
    min: number;
    max: number;
}

export const DEFAULT_NAMES_PER_MESSAGE: NamesPerMessage = { min: 4, max: 10 };

export interface NewNamesMessageDeps {
    clock: Clock;
    random: RandomSource;
    namesPerMessage?: NamesPerMessage;
    /** Message ids; random UUIDs unless a test wants them fixed. */
    newId?: () => string;
}

/** Builds the message the timer sends: a fresh id, the time it was made, and a batch of generated names. */
export function createNewNamesMessage({
    clock,
    random,
    namesPerMessage = DEFAULT_NAMES_PER_MESSAGE,
    newId = randomUUID,
}: NewNamesMessageDeps): NewNamesMessage {
    const count = random.nextInt(namesPerMessage.min, namesPerMessage.max);
    return {
        id: newId(),
        generatedAt: toIsoUtc(clock.now()),
        names: Array.from({ length: count }, () => generateName(random)),
    };
}

/** Parses the NAMES_PER_MESSAGE setting: "7" or "4-10", within 1..MAX_NAMES_PER_MESSAGE. */
export function parseNamesPerMessage(setting: string | undefined, settingName = 'NAMES_PER_MESSAGE'): NamesPerMessage {
    if (setting === undefined || setting.trim() === '') {
        return DEFAULT_NAMES_PER_MESSAGE;
    }
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(setting);
    const min = match ? Number(match[1]) : NaN;
    const max = match ? Number(match[2] ?? match[1]) : NaN;
    if (!(min >= 1 && max >= min && max <= MAX_NAMES_PER_MESSAGE)) {
        throw new ConfigurationError(
            settingName,
            setting,
            `must be a count or a range "min-max" within 1-${MAX_NAMES_PER_MESSAGE}`,
        );
    }
    return { min, max };
}
