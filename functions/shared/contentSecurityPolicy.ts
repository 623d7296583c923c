/**
 * The origins the dashboard's SignalR client talks to besides its own: the SignalR Service endpoint over HTTPS
 * (negotiate redirect) and WSS (the WebSocket), or HTTP and WS for the local stand-in. Derived from the same setting
 * the SignalR bindings read, so no extra app setting can drift from it: the identity-based form the Bicep writes
 * (`AzureSignalRConnectionString__serviceUri`) or the connection-string form (`Endpoint=...;Port=...;`) used locally.
 * When neither is readable, any Azure SignalR Service host is allowed, which is still far from `https:`/`wss:`.
 */
export function signalRConnectSources(env: NodeJS.ProcessEnv = process.env): string[] {
    const origin =
        originOf(env.AzureSignalRConnectionString__serviceUri) ??
        originOfConnectionString(env.AzureSignalRConnectionString);
    if (!origin) {
        return ['https://*.service.signalr.net', 'wss://*.service.signalr.net'];
    }
    const socket = origin.replace(/^http/, 'ws');
    return [origin, socket];
}

/** A strict policy for the dashboard: its own scripts, styles and images only, plus the SignalR Service. */
export function dashboardContentSecurityPolicy(env: NodeJS.ProcessEnv = process.env): string {
    return [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        `connect-src 'self' ${signalRConnectSources(env).join(' ')}`,
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ].join('; ');
}

function originOf(text: string | undefined): string | undefined {
    if (!text?.trim()) {
        return undefined;
    }
    try {
        const url = new URL(text.trim());
        return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : undefined;
    } catch {
        return undefined;
    }
}

function originOfConnectionString(text: string | undefined): string | undefined {
    const fields = new Map(
        (text ?? '')
            .split(';')
            .map((part) => part.split('='))
            .filter((pair): pair is [string, string] => pair.length >= 2 && pair[0] !== undefined)
            .map(([key, value]) => [key.trim().toLowerCase(), value.trim()]),
    );
    const endpoint = originOf(fields.get('endpoint'));
    const port = fields.get('port');
    if (!endpoint || (port !== undefined && !/^\d{1,5}$/.test(port))) {
        return undefined;
    }
    return port ? originOf(`${endpoint}:${port}`) : endpoint;
}
