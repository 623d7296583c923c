/**
 * The slice of the `@azure/functions-core` contract that `@azure/functions` uses. The real module is provided at
 * run time by the Azure Functions Node worker and is not published on npm, so the shapes are declared here from
 * the library's use of them (see node_modules/@azure/functions/src: app.ts, InvocationModel.ts, ProgrammingModel.ts).
 */
export interface RpcBindingInfo {
    type?: string;
    direction?: 'in' | 'out' | 'inout';
    dataType?: string;
    [property: string]: unknown;
}

export interface FunctionMetadata {
    name: string;
    bindings: Record<string, RpcBindingInfo>;
    retryOptions?: Record<string, unknown>;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface RpcTypedData {
    string?: string | null;
    json?: string | null;
    bytes?: Uint8Array | null;
    stream?: Uint8Array | null;
    http?: unknown;
    int?: number | null;
    double?: number | null;
    collectionString?: { string?: string[] | null } | null;
    [key: string]: unknown;
}

export interface RpcParameterBinding {
    name: string;
    data: RpcTypedData | null | undefined;
}

export interface RpcInvocationRequest {
    invocationId: string;
    functionId: string;
    inputData: RpcParameterBinding[];
    triggerMetadata: Record<string, RpcTypedData>;
    retryContext?: { retryCount: number; maxRetryCount: number } | null;
}

export interface RpcInvocationResponse {
    invocationId: string;
    outputData?: RpcParameterBinding[] | null;
    returnValue?: RpcTypedData | null;
}

export type RpcLogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';

export interface CoreInvocationContext {
    invocationId: string;
    request: RpcInvocationRequest;
    metadata: FunctionMetadata;
    state?: string;
    log(level: RpcLogLevel, category: 'user' | 'system' | 'customMetric', message: string): void;
}

export interface InvocationModel {
    getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
    invokeFunction(context: unknown, inputs: unknown[], handler: FunctionCallback): Promise<unknown>;
    getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

export interface ProgrammingModel {
    name: string;
    version: string;
    getInvocationModel(coreContext: CoreInvocationContext): InvocationModel;
}
