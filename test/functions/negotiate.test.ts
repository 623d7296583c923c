import { HttpRequest } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import { connectionInfo, negotiate } from '../../functions/negotiate';
import { createTestContext } from '../support/invocation';

describe('negotiate', () => {
    it('returns the connection info from the input binding, uncached', () => {
        const { context } = createTestContext();
        const info = { url: 'https://example.service.signalr.net/client/?hub=letters', accessToken: 'token' };
        context.extraInputs.set(connectionInfo, info);
        const response = negotiate(new HttpRequest({ method: 'POST', url: 'http://localhost/api/negotiate' }), context);
        expect(response).toEqual({ jsonBody: info, headers: { 'Cache-Control': 'no-store' } });
    });
});
