import { app, HttpRequest, HttpResponseInit, input, InvocationContext } from '@azure/functions';

export const connectionInfo = input.generic({
    type: 'signalRConnectionInfo',
    name: 'connectionInfo',
    hubName: '%SIGNALR_HUB%',
    connectionStringSetting: 'AzureSignalRConnectionString',
});

/**
 * Hands a browser the SignalR Service URL and a short-lived access token for the hub. The SignalR client calls
 * `{base}/negotiate` with POST; GET is accepted too so the endpoint is easy to try from a terminal.
 */
export function negotiate(_request: HttpRequest, context: InvocationContext): HttpResponseInit {
    return {
        jsonBody: context.extraInputs.get(connectionInfo),
        headers: { 'Cache-Control': 'no-store' },
    };
}

app.http('negotiate', {
    route: 'negotiate',
    methods: ['GET', 'POST'],
    authLevel: 'anonymous',
    extraInputs: [connectionInfo],
    handler: negotiate,
});
