import type { Clock } from '../../domain/clock';
import type { PublishedCloudEvent } from './cloudEventBatch';
import {
    type DeliveryOutcome,
    deliveryOutcome,
    isSuccessStatus,
    isUnrecoverableStatus,
    retryDelayMs,
    type StatusMinimumDelaysMs,
} from './retryPolicy';
import { EVENT_GRID_ORIGIN } from './webhookValidation';

export interface WebhookSubscription {
    name: string;
    endpointUrl: string;
    maxDeliveryAttempts: number;
    eventTimeToLiveMinutes: number;
    retryScheduleMs: readonly number[];
    statusMinimumDelaysMs: StatusMinimumDelaysMs;
    responseTimeoutMs: number;
}

/** One HTTP attempt, as listed by the topic's inspection endpoint. */
export interface DeliveryRecord {
    subscription: string;
    eventId: string;
    attempt: number;
    at: string;
    status: number | null;
    outcome: DeliveryOutcome;
    /** Set when another attempt is scheduled. */
    retryInMs?: number;
}

export type DeadLetterReason = 'MaxDeliveryAttemptsExceeded' | 'TimeToLiveExceeded' | 'UndeliverableDueToClientError';

/** What lands in the dead-letter location: the event plus the CloudEvents-schema (lower-case) metadata. */
export type DeadLetterPayload = PublishedCloudEvent & {
    deadletterreason: DeadLetterReason;
    deliveryattempts: number;
    lastdeliveryoutcome: DeliveryOutcome | 'None';
    publishtime: string;
};

export interface DeliveryListener {
    attempted(record: DeliveryRecord): void;
    deadLettered(subscription: string, payload: DeadLetterPayload): void;
}

interface PendingEvent {
    event: PublishedCloudEvent;
    publishTime: Date;
    attempts: number;
    lastOutcome: DeliveryOutcome | 'None';
}

/**
 * Delivers events to one webhook subscription: one event per request, at least once, retried on Event Grid's
 * schedule until success, the attempt limit, or the time-to-live - whichever comes first.
 */
export class SubscriptionDelivery {
    private readonly timers = new Set<NodeJS.Timeout>();
    private readonly inFlight = new Set<AbortController>();
    private stopped = false;

    constructor(
        private readonly subscription: WebhookSubscription,
        private readonly clock: Clock,
        private readonly listener: DeliveryListener,
    ) {}

    enqueue(event: PublishedCloudEvent, publishTime: Date): void {
        this.schedule({ event, publishTime, attempts: 0, lastOutcome: 'None' }, 0);
    }

    /** Stops retries and aborts requests in flight; undelivered events are dropped (nothing persists locally). */
    stop(): void {
        this.stopped = true;
        for (const timer of this.timers) clearTimeout(timer);
        this.timers.clear();
        for (const controller of this.inFlight) controller.abort();
    }

    private schedule(pending: PendingEvent, delayMs: number): void {
        if (this.stopped) return;
        const timer = setTimeout(() => {
            this.timers.delete(timer);
            void this.attempt(pending);
        }, delayMs);
        this.timers.add(timer);
    }

    private expiry(pending: PendingEvent): number {
        return pending.publishTime.getTime() + this.subscription.eventTimeToLiveMinutes * 60_000;
    }

    private async attempt(pending: PendingEvent): Promise<void> {
        if (this.clock.now().getTime() >= this.expiry(pending)) return this.deadLetter(pending, 'TimeToLiveExceeded');
        pending.attempts += 1;
        const { status, timedOut } = await this.post(pending);
        if (this.stopped) return;
        const outcome = deliveryOutcome(status, timedOut);
        pending.lastOutcome = outcome;
        const record: DeliveryRecord = {
            subscription: this.subscription.name,
            eventId: pending.event.id,
            attempt: pending.attempts,
            at: this.clock.now().toISOString(),
            status: status ?? null,
            outcome,
        };
        if (status !== undefined && isSuccessStatus(status)) return this.listener.attempted(record);
        if (status !== undefined && isUnrecoverableStatus(status)) {
            this.listener.attempted(record);
            return this.deadLetter(pending, 'UndeliverableDueToClientError');
        }
        if (pending.attempts >= this.subscription.maxDeliveryAttempts) {
            this.listener.attempted(record);
            return this.deadLetter(pending, 'MaxDeliveryAttemptsExceeded');
        }
        const delay = retryDelayMs(
            pending.attempts,
            status,
            this.subscription.retryScheduleMs,
            this.subscription.statusMinimumDelaysMs,
        );
        // Never wait past the time-to-live: wake at expiry instead, so the dead-letter happens on time.
        const untilExpiry = Math.max(0, this.expiry(pending) - this.clock.now().getTime());
        this.listener.attempted({ ...record, retryInMs: Math.min(delay, untilExpiry) });
        this.schedule(pending, Math.min(delay, untilExpiry));
    }

    private async post(pending: PendingEvent): Promise<{ status: number | undefined; timedOut: boolean }> {
        const controller = new AbortController();
        this.inFlight.add(controller);
        const timeout = setTimeout(() => controller.abort(new Error('timeout')), this.subscription.responseTimeoutMs);
        try {
            const response = await fetch(this.subscription.endpointUrl, {
                method: 'POST',
                headers: {
                    'content-type': 'application/cloudevents+json; charset=utf-8',
                    'aeg-event-type': 'Notification',
                    'aeg-subscription-name': this.subscription.name.toUpperCase(),
                    'aeg-delivery-count': String(pending.attempts - 1),
                    'WebHook-Request-Origin': EVENT_GRID_ORIGIN,
                },
                body: JSON.stringify(pending.event),
                signal: controller.signal,
            });
            await response.arrayBuffer();
            return { status: response.status, timedOut: false };
        } catch {
            const reason: unknown = controller.signal.reason;
            return { status: undefined, timedOut: reason instanceof Error && reason.message === 'timeout' };
        } finally {
            clearTimeout(timeout);
            this.inFlight.delete(controller);
        }
    }

    private deadLetter(pending: PendingEvent, reason: DeadLetterReason): void {
        this.listener.deadLettered(this.subscription.name, {
            ...pending.event,
            deadletterreason: reason,
            deliveryattempts: pending.attempts,
            lastdeliveryoutcome: pending.lastOutcome,
            publishtime: pending.publishTime.toISOString(),
        });
    }
}
