import { InvocationContext, type InvocationContextInit } from '@azure/functions';

export interface LogEntry {
    level: string;
    message: string;
}

/** A real InvocationContext (the library's test mode) that records what the handler logged. */
export function createTestContext(init: Partial<InvocationContextInit> = {}): {
    context: InvocationContext;
    logs: LogEntry[];
} {
    const logs: LogEntry[] = [];
    const context = new InvocationContext({
        invocationId: 'test-invocation',
        functionName: 'test',
        logHandler: (level, ...args) => logs.push({ level, message: args.map(String).join(' ') }),
        ...init,
    });
    return { context, logs };
}
