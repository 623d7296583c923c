/** Counters a dashboard or test reads to see what the stand-in did. */
export interface SignalRCounters {
    negotiations: number;
    messagesDelivered: number;
    restRequests: number;
    unauthorizedRequests: number;
    ignoredClientInvocations: number;
}

export function emptyCounters(): SignalRCounters {
    return {
        negotiations: 0,
        messagesDelivered: 0,
        restRequests: 0,
        unauthorizedRequests: 0,
        ignoredClientInvocations: 0,
    };
}
