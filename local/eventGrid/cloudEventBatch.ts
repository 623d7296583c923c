import { EventGridDeserializer } from '@azure/eventgrid';

import { NamestreamError } from '../../domain/errors';

/** A CloudEvent exactly as published (extension attributes kept), after the SDK accepted it. */
export type PublishedCloudEvent = Record<string, unknown> & {
    id: string;
    source: string;
    type: string;
    specversion: string;
};

export class InvalidCloudEventsError extends NamestreamError {
    readonly code = 'InvalidCloudEvents';
    constructor(readonly reason: string) {
        super(`Invalid CloudEvents publish request: ${reason}`);
        this.name = 'InvalidCloudEventsError';
    }
}

const deserializer = new EventGridDeserializer();

/**
 * Checks a publish request the way a CloudEvents-schema topic does: structured mode only
 * (`application/cloudevents+json` for one event, `application/cloudevents-batch+json` for an array), every event
 * valid CloudEvents 1.0 by @azure/eventgrid's own deserializer, and one bad event rejects the whole request.
 */
export async function parseCloudEventBatch(
    contentType: string | undefined,
    bodyText: string,
): Promise<PublishedCloudEvent[]> {
    const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    let body: unknown;
    try {
        body = JSON.parse(bodyText);
    } catch {
        throw new InvalidCloudEventsError(`the body is not JSON (got ${JSON.stringify(bodyText.slice(0, 120))})`);
    }
    let events: unknown[];
    if (mediaType === 'application/cloudevents-batch+json') {
        if (!Array.isArray(body)) throw new InvalidCloudEventsError('a cloudevents-batch body must be a JSON array');
        events = body;
    } else if (mediaType === 'application/cloudevents+json') {
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
            throw new InvalidCloudEventsError('a cloudevents+json body must be one JSON object');
        }
        events = [body];
    } else {
        throw new InvalidCloudEventsError(
            `content type ${JSON.stringify(contentType ?? '')} is not application/cloudevents+json or application/cloudevents-batch+json`,
        );
    }
    if (events.length === 0) throw new InvalidCloudEventsError('the batch is empty');
    for (const [index, event] of events.entries()) {
        if (typeof event !== 'object' || event === null || Array.isArray(event)) {
            throw new InvalidCloudEventsError(`event ${index} is not a JSON object`);
        }
        try {
            await deserializer.deserializeCloudEvents(event as Record<string, unknown>);
        } catch (error: unknown) {
            throw new InvalidCloudEventsError(
                `event ${index}: ${error instanceof Error ? error.message : String(error)}`,
            );
        }
    }
    return events as PublishedCloudEvent[];
}
