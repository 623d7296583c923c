/**
 * The SignalR JSON hub protocol as the service speaks it to clients (aspnetcore HubProtocol.md): every message is a
 * JSON text terminated by the record separator 0x1E; one WebSocket frame may carry several records.
 */
export const RECORD_SEPARATOR = '\u001e';

export const MessageType = {
    Invocation: 1,
    StreamItem: 2,
    Completion: 3,
    StreamInvocation: 4,
    CancelInvocation: 5,
    Ping: 6,
    Close: 7,
    Ack: 8,
    Sequence: 9,
} as const;

export function frame(message: object): string {
    return JSON.stringify(message) + RECORD_SEPARATOR;
}

export const PING_FRAME = frame({ type: MessageType.Ping });
export const HANDSHAKE_OK_FRAME = frame({});

export function invocationFrame(target: string, args: readonly unknown[]): string {
    return frame({ type: MessageType.Invocation, target, arguments: args });
}

export function closeFrame(error: string | undefined, allowReconnect: boolean): string {
    return frame({
        type: MessageType.Close,
        ...(error === undefined ? {} : { error }),
        ...(allowReconnect ? { allowReconnect: true } : {}),
    });
}

export function handshakeErrorFrame(error: string): string {
    return frame({ error });
}

/** Accumulates text and yields complete records; a trailing partial record waits for the next frame. */
export class RecordReader {
    private pending = '';

    push(text: string): string[] {
        this.pending += text;
        const parts = this.pending.split(RECORD_SEPARATOR);
        this.pending = parts.pop() ?? '';
        return parts;
    }
}

export type HandshakeResult = { ok: true } | { ok: false; error: string };

/** Only the JSON protocol, version 1, is served; the handshake error text follows ASP.NET Core's wording. */
export function checkHandshake(record: string): HandshakeResult {
    let request: unknown;
    try {
        request = JSON.parse(record);
    } catch {
        return { ok: false, error: 'Handshake request is not valid JSON.' };
    }
    if (typeof request !== 'object' || request === null)
        return { ok: false, error: 'Handshake request is not an object.' };
    const { protocol, version } = request as { protocol?: unknown; version?: unknown };
    if (protocol !== 'json') {
        return { ok: false, error: `The protocol '${String(protocol)}' is not supported.` };
    }
    if (version !== 1) {
        return { ok: false, error: `The server does not support version ${String(version)} of the 'json' protocol.` };
    }
    return { ok: true };
}

/** The `type` of a client record, or undefined when the record is not a hub message at all. */
export function messageTypeOf(record: string): number | undefined {
    try {
        const message: unknown = JSON.parse(record);
        if (typeof message !== 'object' || message === null) return undefined;
        const type = (message as { type?: unknown }).type;
        return typeof type === 'number' ? type : undefined;
    } catch {
        return undefined;
    }
}
