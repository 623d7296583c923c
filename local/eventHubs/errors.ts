import { NamestreamError, quote } from '../../domain/errors';

/** An event bigger than the hub accepts (1 MB on Standard), quoting its measured size. */
export class EventTooLargeError extends NamestreamError {
    readonly code = 'EventTooLarge';
    constructor(
        readonly eventHubName: string,
        readonly eventBytes: number,
        readonly maxEventBytes: number,
    ) {
        super(
            `Event of ${eventBytes} bytes exceeds the maximum event size of ${maxEventBytes} bytes ` +
                `(event hub ${quote(eventHubName)})`,
        );
        this.name = 'EventTooLargeError';
    }
}

/** A partition id, consumer group or other argument the hub does not know or accept. */
export class InvalidEventHubArgumentError extends NamestreamError {
    readonly code = 'InvalidEventHubArgument';
    constructor(
        readonly argument: string,
        readonly value: unknown,
        readonly reason: string,
    ) {
        super(`Invalid Event Hubs argument "${argument}": ${reason} (got ${quote(value)})`);
        this.name = 'InvalidEventHubArgumentError';
    }
}
