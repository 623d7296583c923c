import { describe, expect, it } from 'vitest';

import { matchRestRoute } from '../../../local/signalR/restRoutes';

describe('matchRestRoute', () => {
    it.each([
        ['POST', '/api/v1/hubs/letters', { family: 'v1', operation: { kind: 'broadcast', hub: 'letters' } }],
        [
            'POST',
            '/api/v1/hubs/letters/users/a%20b',
            { family: 'v1', operation: { kind: 'sendToUser', hub: 'letters', user: 'a b' } },
        ],
        [
            'POST',
            '/api/v1/hubs/letters/groups/g',
            { family: 'v1', operation: { kind: 'sendToGroup', hub: 'letters', group: 'g' } },
        ],
        [
            'PUT',
            '/api/v1/hubs/letters/groups/g/users/u',
            { family: 'v1', operation: { kind: 'addUserToGroup', hub: 'letters', group: 'g', user: 'u' } },
        ],
        [
            'DELETE',
            '/api/v1/hubs/letters/groups/g/users/u',
            { family: 'v1', operation: { kind: 'removeUserFromGroup', hub: 'letters', group: 'g', user: 'u' } },
        ],
        ['POST', '/api/hubs/letters/:send', { family: '2022-06-01', operation: { kind: 'broadcast', hub: 'letters' } }],
        [
            'POST',
            '/api/hubs/letters/users/u/:send',
            { family: '2022-06-01', operation: { kind: 'sendToUser', hub: 'letters', user: 'u' } },
        ],
        [
            'POST',
            '/api/hubs/letters/groups/g/:send',
            { family: '2022-06-01', operation: { kind: 'sendToGroup', hub: 'letters', group: 'g' } },
        ],
        [
            'PUT',
            '/api/hubs/letters/users/u/groups/g',
            { family: '2022-06-01', operation: { kind: 'addUserToGroup', hub: 'letters', user: 'u', group: 'g' } },
        ],
        [
            'DELETE',
            '/api/hubs/letters/users/u/groups',
            { family: '2022-06-01', operation: { kind: 'removeUserFromAllGroups', hub: 'letters', user: 'u' } },
        ],
        [
            'DELETE',
            '/api/hubs/letters/connections/c1',
            { family: '2022-06-01', operation: { kind: 'closeConnection', hub: 'letters', connectionId: 'c1' } },
        ],
        ['HEAD', '/api/health', { family: '2022-06-01', operation: { kind: 'health' } }],
    ])('%s %s', (method, path, expected) => {
        expect(matchRestRoute(method, path)).toEqual(expected);
    });

    it.each([
        ['GET', '/api/hubs/letters/:send'],
        ['POST', '/api/hubs/letters'],
        ['POST', '/client/negotiate'],
        ['PUT', '/api/hubs/letters/groups/g/users/u'],
    ])('has no route for %s %s', (method, path) => {
        expect(matchRestRoute(method, path)).toBeUndefined();
    });
});
