/**
 * Maps data-plane REST requests to operations. Two path families are served, as the service does:
 * v1 (`/api/v1/hubs/{hub}...`, used by older SDKs and many tools) and 2022-06-01 (`/api/hubs/{hub}/...:send`,
 * used by the current Management SDK that the Functions extension wraps). Returns undefined for unknown routes.
 */
export type RestOperation =
    | { kind: 'health' }
    | { kind: 'broadcast'; hub: string }
    | { kind: 'sendToUser'; hub: string; user: string }
    | { kind: 'sendToGroup'; hub: string; group: string }
    | { kind: 'sendToConnection'; hub: string; connectionId: string }
    | { kind: 'addUserToGroup'; hub: string; user: string; group: string }
    | { kind: 'removeUserFromGroup'; hub: string; user: string; group: string }
    | { kind: 'userInGroup'; hub: string; user: string; group: string }
    | { kind: 'removeUserFromAllGroups'; hub: string; user: string }
    | { kind: 'addConnectionToGroup'; hub: string; connectionId: string; group: string }
    | { kind: 'removeConnectionFromGroup'; hub: string; connectionId: string; group: string }
    | { kind: 'removeConnectionFromAllGroups'; hub: string; connectionId: string }
    | { kind: 'closeConnection'; hub: string; connectionId: string }
    | { kind: 'connectionExists'; hub: string; connectionId: string }
    | { kind: 'userExists'; hub: string; user: string }
    | { kind: 'groupExists'; hub: string; group: string };

export type ApiFamily = 'v1' | '2022-06-01';

export interface RestRoute {
    family: ApiFamily;
    operation: RestOperation;
}

export function matchRestRoute(method: string, pathname: string): RestRoute | undefined {
    const segments = pathname
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s));
    if (segments[0] !== 'api') return undefined;
    if (segments[1] === 'v1') {
        const operation = matchV1(method, segments.slice(2));
        return operation && { family: 'v1', operation };
    }
    const operation = matchCurrent(method, segments.slice(1));
    return operation && { family: '2022-06-01', operation };
}

function matchV1(method: string, s: string[]): RestOperation | undefined {
    if (s.length === 1 && s[0] === 'health' && (method === 'GET' || method === 'HEAD')) return { kind: 'health' };
    if (s[0] !== 'hubs' || s[1] === undefined) return undefined;
    const hub = s[1];
    const [a, b, c, d] = s.slice(2);
    const length = s.length - 2;
    if (length === 0 && method === 'POST') return { kind: 'broadcast', hub };
    if (length === 2 && a === 'users' && b !== undefined) {
        if (method === 'POST') return { kind: 'sendToUser', hub, user: b };
        if (method === 'HEAD' || method === 'GET') return { kind: 'userExists', hub, user: b };
    }
    if (length === 2 && a === 'groups' && b !== undefined) {
        if (method === 'POST') return { kind: 'sendToGroup', hub, group: b };
        if (method === 'HEAD' || method === 'GET') return { kind: 'groupExists', hub, group: b };
    }
    if (length === 2 && a === 'connections' && b !== undefined) {
        if (method === 'POST') return { kind: 'sendToConnection', hub, connectionId: b };
        if (method === 'DELETE') return { kind: 'closeConnection', hub, connectionId: b };
        if (method === 'HEAD' || method === 'GET') return { kind: 'connectionExists', hub, connectionId: b };
    }
    if (length === 4 && a === 'groups' && b !== undefined && d !== undefined) {
        if (c === 'users') {
            if (method === 'PUT') return { kind: 'addUserToGroup', hub, group: b, user: d };
            if (method === 'DELETE') return { kind: 'removeUserFromGroup', hub, group: b, user: d };
        }
        if (c === 'connections') {
            if (method === 'PUT') return { kind: 'addConnectionToGroup', hub, group: b, connectionId: d };
            if (method === 'DELETE') return { kind: 'removeConnectionFromGroup', hub, group: b, connectionId: d };
        }
    }
    return undefined;
}

function matchCurrent(method: string, s: string[]): RestOperation | undefined {
    if (s.length === 1 && s[0] === 'health' && (method === 'HEAD' || method === 'GET')) return { kind: 'health' };
    if (s[0] !== 'hubs' || s[1] === undefined) return undefined;
    const hub = s[1];
    const rest = s.slice(2);
    const [a, b, c, d] = rest;
    if (rest.length === 1 && a === ':send' && method === 'POST') return { kind: 'broadcast', hub };
    if (a === 'users' && b !== undefined) {
        if (rest.length === 3 && c === ':send' && method === 'POST') return { kind: 'sendToUser', hub, user: b };
        if (rest.length === 2 && method === 'HEAD') return { kind: 'userExists', hub, user: b };
        if (rest.length === 3 && c === 'groups' && method === 'DELETE') {
            return { kind: 'removeUserFromAllGroups', hub, user: b };
        }
        if (rest.length === 4 && c === 'groups' && d !== undefined) {
            if (method === 'PUT') return { kind: 'addUserToGroup', hub, user: b, group: d };
            if (method === 'DELETE') return { kind: 'removeUserFromGroup', hub, user: b, group: d };
            if (method === 'HEAD') return { kind: 'userInGroup', hub, user: b, group: d };
        }
    }
    if (a === 'groups' && b !== undefined) {
        if (rest.length === 3 && c === ':send' && method === 'POST') return { kind: 'sendToGroup', hub, group: b };
        if (rest.length === 2 && method === 'HEAD') return { kind: 'groupExists', hub, group: b };
        if (rest.length === 4 && c === 'connections' && d !== undefined) {
            if (method === 'PUT') return { kind: 'addConnectionToGroup', hub, group: b, connectionId: d };
            if (method === 'DELETE') return { kind: 'removeConnectionFromGroup', hub, group: b, connectionId: d };
        }
    }
    if (a === 'connections' && b !== undefined) {
        if (rest.length === 3 && c === ':send' && method === 'POST')
            return { kind: 'sendToConnection', hub, connectionId: b };
        if (rest.length === 2 && method === 'DELETE') return { kind: 'closeConnection', hub, connectionId: b };
        if (rest.length === 2 && method === 'HEAD') return { kind: 'connectionExists', hub, connectionId: b };
        if (rest.length === 3 && c === 'groups' && method === 'DELETE') {
            return { kind: 'removeConnectionFromAllGroups', hub, connectionId: b };
        }
    }
    return undefined;
}
