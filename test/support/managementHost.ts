import { type HttpHost, startHttpHost } from '../../local/host/triggers/httpTrigger';
import { type ManagedRuntime, managementApi } from '../../local/runtime/managementApi';

/** An HTTP host on a free port serving only the local management endpoints, over whatever runtime the test sets. */
export function startManagementHost(getRuntime: () => ManagedRuntime | undefined): Promise<HttpHost> {
    return startHttpHost({
        port: 0,
        host: '127.0.0.1',
        routePrefix: 'api',
        functions: [],
        corsOrigins: [],
        corsCredentials: false,
        invoke: () => Promise.resolve(undefined),
        onError: () => undefined,
        extraHandlers: [managementApi(getRuntime)],
    });
}
