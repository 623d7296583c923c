/** The origin Event Grid names itself by in the CloudEvents webhook handshake. */
export const EVENT_GRID_ORIGIN = 'eventgrid.azure.net';

export type WebhookValidationResult = { ok: true } | { ok: false; reason: string };

/**
 * CloudEvents v1.0 abuse protection (end-point-validation-cloud-events-schema.md): an OPTIONS request with
 * `WebHook-Request-Origin`; the endpoint must answer 200 with `WebHook-Allowed-Origin` naming that origin or `*`.
 */
export async function validateWebhook(endpointUrl: string, timeoutMs: number): Promise<WebhookValidationResult> {
    let response: Response;
    try {
        response = await fetch(endpointUrl, {
            method: 'OPTIONS',
            headers: { 'WebHook-Request-Origin': EVENT_GRID_ORIGIN },
            signal: AbortSignal.timeout(timeoutMs),
        });
        await response.arrayBuffer();
    } catch (error: unknown) {
        return { ok: false, reason: `validation request to ${endpointUrl} failed: ${describe(error)}` };
    }
    if (response.status !== 200) {
        return { ok: false, reason: `validation request to ${endpointUrl} answered ${response.status}, expected 200` };
    }
    const allowed = response.headers.get('webhook-allowed-origin');
    if (allowed === null) {
        return {
            ok: false,
            reason: `${endpointUrl} did not answer the validation with a WebHook-Allowed-Origin header`,
        };
    }
    const origins = allowed.split(',').map((o) => o.trim());
    if (!origins.includes('*') && !origins.includes(EVENT_GRID_ORIGIN)) {
        return {
            ok: false,
            reason: `${endpointUrl} allowed origin ${JSON.stringify(allowed)}, not ${JSON.stringify(EVENT_GRID_ORIGIN)}`,
        };
    }
    return { ok: true };
}

export function describe(error: unknown): string {
    if (error instanceof Error) {
        const cause = (error as Error & { cause?: unknown }).cause;
        return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
    }
    return String(error);
}
