import { EventEmitter } from 'node:events';

import { describe, expect, it } from 'vitest';

import { onStopSignals } from '../../../local/cli/stopSignals';

describe("npm start's stop signals", () => {
    it('stops on Ctrl-C, on kill and when the terminal closes, naming the signal', () => {
        const source = new EventEmitter();
        const stops: string[] = [];
        onStopSignals(source, (signal) => stops.push(signal));
        for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2']) {
            source.emit(signal);
        }
        expect(stops).toEqual(['SIGINT', 'SIGTERM', 'SIGHUP']);
    });
});
