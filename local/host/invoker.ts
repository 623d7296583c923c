import { randomUUID } from 'node:crypto';

import type { FunctionApp, LoadedFunction } from './functionApp';
import type { CoreInvocationContext, RpcLogLevel, RpcTypedData } from './functionsCoreTypes';
import { fromTypedData, toTypedData } from './rpcData';

export interface InvocationLog {
    level: RpcLogLevel;
    category: string;
    message: string;
}

export interface InvocationRequest {
    /** The trigger's payload, encoded as the host would encode it. */
    triggerData: RpcTypedData;
    /** Trigger metadata in the host's PascalCase; the library camel-cases it for `context.triggerMetadata`. */
    triggerMetadata?: Record<string, unknown>;
    /** Values for the function's input bindings, by binding name. */
    inputs?: Record<string, unknown>;
    retryContext?: { retryCount: number; maxRetryCount: number };
}

export interface InvocationResult {
    invocationId: string;
    /** The `$return` binding's value (or the raw return value when no return binding is declared). */
    returnValue: unknown;
    /** Extra output bindings the handler set, by binding name, decoded. */
    outputs: Map<string, unknown>;
    logs: InvocationLog[];
}

export type LogSink = (functionName: string, invocationId: string, log: InvocationLog) => void;

/**
 * Invokes a function through the library's own invocation path, the one the Node worker drives: the programming
 * model builds the InvocationContext and arguments from RPC data, calls the handler, and converts its results
 * back to RPC output data. Local code never calls a handler directly.
 */
export class FunctionInvoker {
    readonly #app: FunctionApp;
    readonly #logSink: LogSink;

    constructor(app: FunctionApp, logSink: LogSink = () => undefined) {
        this.#app = app;
        this.#logSink = logSink;
    }

    get(functionName: string): LoadedFunction {
        const loaded = this.#app.functions.get(functionName);
        if (!loaded) {
            throw new Error(
                `No function named "${functionName}" (registered: ${[...this.#app.functions.keys()].join(', ')})`,
            );
        }
        return loaded;
    }

    async invoke(functionName: string, request: InvocationRequest): Promise<InvocationResult> {
        const loaded = this.get(functionName);
        const invocationId = randomUUID();
        const logs: InvocationLog[] = [];
        const triggerName = loaded.definition.trigger.name;
        const coreContext: CoreInvocationContext = {
            invocationId,
            metadata: loaded.metadata,
            state: 'invocation',
            request: {
                invocationId,
                functionId: loaded.metadata.name,
                inputData: [
                    { name: triggerName, data: request.triggerData },
                    ...Object.entries(request.inputs ?? {}).map(([name, value]) => ({
                        name,
                        data: value === undefined ? undefined : toTypedData(value),
                    })),
                ],
                triggerMetadata: Object.fromEntries(
                    Object.entries(request.triggerMetadata ?? {}).map(([key, value]) => [key, toTypedData(value)]),
                ),
                retryContext: request.retryContext ?? null,
            },
            log: (level, category, message) => {
                const log = { level, category, message };
                logs.push(log);
                this.#logSink(functionName, invocationId, log);
            },
        };
        const model = this.#app.programmingModel.getInvocationModel(coreContext);
        const { context, inputs } = await model.getArguments();
        let result: unknown;
        try {
            result = await model.invokeFunction(context, inputs, loaded.callback);
        } finally {
            // Logs after this point are reported by the library as "after the function completed".
            coreContext.state = 'postInvocationHooks';
        }
        const response = await model.getResponse(context, result);
        const outputs = new Map<string, unknown>();
        for (const output of response.outputData ?? []) {
            outputs.set(output.name, fromTypedData(output.data));
        }
        return { invocationId, returnValue: fromTypedData(response.returnValue), outputs, logs };
    }
}
