import { NamestreamError } from '../../domain/errors';

export class EventGridPublishError extends NamestreamError {
    readonly code = 'EventGridPublish';
    constructor(
        readonly topicEndpoint: string,
        readonly status: number,
        readonly body: string,
    ) {
        super(`Event Grid topic ${topicEndpoint} answered ${status}: ${body.slice(0, 500)}`);
        this.name = 'EventGridPublishError';
    }
}

export interface PublishOptions {
    /** Sent as `aeg-sas-key`, as the output binding sends its topic key. */
    accessKey?: string;
}

/**
 * What the Event Grid output binding does with a function's output: one POST of all events to the topic
 * endpoint as a CloudEvents batch. The topic validates; a refusal surfaces as EventGridPublishError.
 */
export async function publishToLocalEventGrid(
    topicEndpoint: string,
    events: Record<string, unknown> | readonly Record<string, unknown>[],
    options: PublishOptions = {},
): Promise<void> {
    const batch = Array.isArray(events) ? events : [events];
    const response = await fetch(topicEndpoint, {
        method: 'POST',
        headers: {
            'content-type': 'application/cloudevents-batch+json; charset=utf-8',
            ...(options.accessKey === undefined ? {} : { 'aeg-sas-key': options.accessKey }),
        },
        body: JSON.stringify(batch),
    });
    const text = await response.text();
    if (!response.ok) throw new EventGridPublishError(topicEndpoint, response.status, text);
}
