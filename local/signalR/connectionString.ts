import { NamestreamError, quote } from '../../domain/errors';

/**
 * A parsed SignalR Service connection string. `endpoint` is where requests go (Port applied);
 * `audienceEndpoint` is what tokens name in `aud`: the SDKs build the audience from `Endpoint` alone and leave
 * `Port` out, so a token minted against the emulator-style string says `http://localhost/...`.
 */
export interface SignalRConnectionString {
    endpoint: string;
    audienceEndpoint: string;
    accessKey: string;
    version: string;
}

export class InvalidSignalRConnectionStringError extends NamestreamError {
    readonly code = 'InvalidSignalRConnectionString';
    constructor(
        readonly connectionString: string,
        readonly reason: string,
    ) {
        super(`Invalid SignalR connection string: ${reason} (got ${quote(maskAccessKey(connectionString), 300)})`);
        this.name = 'InvalidSignalRConnectionStringError';
    }
}

/** Hides the key so a misconfigured setting can be logged and shown in errors without leaking the secret. */
export function maskAccessKey(connectionString: string): string {
    return connectionString.replace(/(AccessKey\s*=)[^;]*/gi, '$1***');
}

/** Parses `Endpoint=http://localhost;Port=8888;AccessKey=...;Version=1.0;` (keys case-insensitive, order free). */
export function parseSignalRConnectionString(text: string): SignalRConnectionString {
    const fields = new Map<string, string>();
    for (const part of text.split(';')) {
        if (part.trim() === '') continue;
        const equals = part.indexOf('=');
        if (equals <= 0) throw new InvalidSignalRConnectionStringError(text, `segment ${quote(part)} is not key=value`);
        fields.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
    }
    const rawEndpoint = fields.get('endpoint');
    if (!rawEndpoint) throw new InvalidSignalRConnectionStringError(text, 'Endpoint is missing');
    const authType = fields.get('authtype');
    if (authType !== undefined && authType.toLowerCase() !== 'accesskey') {
        throw new InvalidSignalRConnectionStringError(
            text,
            `AuthType ${quote(authType)} is not supported locally; use an AccessKey`,
        );
    }
    const accessKey = fields.get('accesskey');
    if (!accessKey) throw new InvalidSignalRConnectionStringError(text, 'AccessKey is missing');

    let url: URL;
    try {
        url = new URL(rawEndpoint);
    } catch {
        throw new InvalidSignalRConnectionStringError(text, `Endpoint ${quote(rawEndpoint)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new InvalidSignalRConnectionStringError(text, `Endpoint ${quote(rawEndpoint)} must be http or https`);
    }
    const audienceEndpoint = `${url.protocol}//${url.host}`;
    const port = fields.get('port');
    if (port !== undefined) {
        const portNumber = Number(port);
        if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
            throw new InvalidSignalRConnectionStringError(text, `Port ${quote(port)} is not a port number`);
        }
        url.port = String(portNumber);
    }
    return {
        endpoint: `${url.protocol}//${url.host}`,
        audienceEndpoint,
        accessKey,
        version: fields.get('version') ?? '1.0',
    };
}
