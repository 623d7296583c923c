import { describe, expect, it } from 'vitest';

import { compileRoute } from '../../../../local/host/triggers/httpRoutes';

describe('compileRoute', () => {
    it('matches a literal route case-insensitively, with or without a trailing slash', () => {
        const route = compileRoute('letter-counts');
        expect(route.template).toBe('letter-counts');
        expect(route.match('/letter-counts')).toEqual({});
        expect(route.match('/Letter-Counts')).toEqual({});
        expect(route.match('/letter-counts/')).toEqual({});
        expect(route.match('/letter-counts/extra')).toBeUndefined();
        expect(route.match('/letter')).toBeUndefined();
    });

    it('ignores leading and trailing slashes in the template', () => {
        expect(compileRoute('/items/list/').match('/items/list')).toEqual({});
    });

    it('treats regular-expression characters in literals literally', () => {
        const route = compileRoute('v1.0/items');
        expect(route.match('/v1.0/items')).toEqual({});
        expect(route.match('/v1x0/items')).toBeUndefined();
    });

    it('extracts one decoded segment per {name} parameter', () => {
        const route = compileRoute('items/{category}/{id}');
        expect(route.match('/items/people/a%20b')).toEqual({ category: 'people', id: 'a b' });
        expect(route.match('/items/people')).toBeUndefined();
        expect(route.match('/items/people/a/b')).toBeUndefined();
    });

    it('lets an optional last {name?} be absent', () => {
        const route = compileRoute('items/{id?}');
        expect(route.match('/items')).toEqual({});
        expect(route.match('/items/')).toEqual({});
        expect(route.match('/items/7')).toEqual({ id: '7' });
        expect(route.match('/items/7/8')).toBeUndefined();
    });

    it('gives a catch-all {*path} the rest of the path, slashes included', () => {
        const route = compileRoute('dashboard/{*path}');
        expect(route.match('/dashboard/assets/app.js')).toEqual({ path: 'assets/app.js' });
        expect(route.match('/dashboard/a%2Fb')).toEqual({ path: 'a/b' });
        expect(route.match('/dashboard')).toEqual({});
        expect(route.match('/dashboard/')).toEqual({});
        expect(route.match('/other/assets')).toBeUndefined();
    });

    it('accepts constraints and ignores their type', () => {
        const route = compileRoute('items/{id:int}/{slug:alpha?}');
        expect(route.match('/items/12/abc')).toEqual({ id: '12', slug: 'abc' });
        expect(route.match('/items/12')).toEqual({ id: '12' });
        expect(route.match('/items/twelve')).toEqual({ id: 'twelve' });
    });

    it('matches the root for an empty template', () => {
        const route = compileRoute('');
        expect(route.match('/')).toEqual({});
        expect(route.match('')).toEqual({});
        expect(route.match('/anything')).toBeUndefined();
    });

    it('keeps a segment with malformed percent-encoding as it is instead of throwing', () => {
        expect(compileRoute('items/{id}').match('/items/100%')).toEqual({ id: '100%' });
    });
});
