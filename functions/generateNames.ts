import { app, InvocationContext, output, Timer } from '@azure/functions';

import { type Clock, systemClock } from '../domain/clock';
import { createNewNamesMessage, type NewNamesMessageDeps } from '../domain/messages/createNewNamesMessage';
import type { NewNamesMessage } from '../domain/messages/newNamesMessage';
import { createRandomSource } from '../domain/random';
import { readGeneratorSettings } from './shared/appSettings';

const namesQueue = output.serviceBusQueue({ queueName: '%NAMES_QUEUE%', connection: 'ServiceBusConnection' });

/** Builds the handler around its clock and randomness, so tests can pin both. */
export function createGenerateNamesHandler(getDeps: () => NewNamesMessageDeps) {
    return function generateNames(timer: Timer, context: InvocationContext): NewNamesMessage {
        if (timer.isPastDue) {
            context.warn('Timer is past due: the previous schedule was missed (host restart or long invocation).');
        }
        const message = createNewNamesMessage(getDeps());
        context.info(`Generated ${message.names.length} names as message ${message.id}`);
        // Returned as one object: the output binding would split an array into one queue message per element.
        return message;
    };
}

let defaultDeps: NewNamesMessageDeps | undefined;
function getDefaultDeps(clock: Clock = systemClock): NewNamesMessageDeps {
    if (!defaultDeps) {
        const { seed, namesPerMessage } = readGeneratorSettings();
        defaultDeps = { clock, random: createRandomSource(seed), namesPerMessage };
    }
    return defaultDeps;
}

export const generateNames = createGenerateNamesHandler(getDefaultDeps);

app.timer('generateNames', {
    schedule: '%GENERATE_NAMES_SCHEDULE%',
    runOnStartup: false,
    useMonitor: true,
    return: namesQueue,
    handler: generateNames,
});
