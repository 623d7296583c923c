import { type MockInstance, vi } from 'vitest';

import type { ReceivedEventData } from '../../../local/eventHubs/events';
import type { LocalEventHub, StartPosition } from '../../../local/eventHubs/localEventHub';

/** What the body of {@link withHeldConsumerGroup} sees of the held group. */
export interface HeldConsumerGroup<T> {
    /** What the group has been handed so far, one entry per event (as `record` maps it), in order. */
    seen: T[];
    /** Lets the handler return from the event it holds; the group's next event is then held in turn. */
    release: () => void;
    /** `console.warn`, silenced and recorded: where the hub reports the unread events a cap dropped. */
    warned: MockInstance<Console['warn']>;
}

/**
 * Subscribes consumer group `$Default` to `hub` one event at a time (maxBatchSize 1) with a handler that records
 * each event and then holds it until the test calls `release()`: a reader that stays behind while the test sends
 * more, so the retention and disk caps drop events it has not read. Runs `body` with `console.warn` recorded, then,
 * whether `body` passed or threw, restores `console.warn`, releases the handler and closes the subscription.
 */
export async function withHeldConsumerGroup<T>(
    hub: LocalEventHub,
    startPosition: StartPosition,
    record: (event: ReceivedEventData) => T,
    body: (group: HeldConsumerGroup<T>) => Promise<void>,
): Promise<void> {
    let release: () => void = () => undefined;
    const seen: T[] = [];
    const subscription = hub.subscribe('$Default', {
        startPosition,
        maxBatchSize: 1,
        handler: async (_partitionId, events) => {
            seen.push(...events.map(record));
            await new Promise<void>((resolve) => (release = resolve));
        },
    });
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
        await body({ seen, release: () => release(), warned });
    } finally {
        warned.mockRestore();
        release();
        await subscription.close();
    }
}
