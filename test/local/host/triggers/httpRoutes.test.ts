import { describe, expect, it } from 'vitest';

import { compileRoute, RouteTemplateError } from '../../../../local/host/triggers/httpRoutes';

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

    it('matches only values that meet their inline constraints, as ASP.NET routing does', () => {
        const route = compileRoute('items/{id:int}/{slug:alpha?}');
        expect(route.match('/items/12/abc')).toEqual({ id: '12', slug: 'abc' });
        expect(route.match('/items/12')).toEqual({ id: '12' });
        expect(route.match('/items/-7')).toEqual({ id: '-7' });
        expect(route.match('/items/twelve')).toBeUndefined();
        expect(route.match('/items/12/abc1')).toBeUndefined();
        expect(route.match('/items/2147483648')).toBeUndefined();
    });

    it.each([
        ['{v:int}', ['5', ' 5 ', '+5', '-2147483648'], ['5.0', '1 2', '2147483648']],
        ['{v:long}', ['9223372036854775807', '-3'], ['9223372036854775808', '1.5']],
        ['{v:bool}', ['true', 'FALSE', ' true '], ['yes', '1']],
        [
            '{v:guid}',
            [
                '0f8fad5b-d9cb-469f-a165-70867728950e',
                '0F8FAD5BD9CB469FA16570867728950E',
                '{0f8fad5b-d9cb-469f-a165-70867728950e}',
            ],
            ['0f8fad5b-d9cb-469f-a165', 'zf8fad5b-d9cb-469f-a165-70867728950e'],
        ],
        ['{v:decimal}', ['1.5', '-2', '.5', '1,000.25', '5-'], ['1e3', 'one', '-5-']],
        ['{v:double}', ['1e3', '-2.5E-1', '1,000.5', 'NaN', '-Infinity'], ['1e', 'nope', '1.2.3']],
        [
            '{v:datetime}',
            ['2026-11-22', '2026-11-22T06:00:00Z', '2026-11-22 06:00:00.1234567+01:00', '11/22/2026', '06:30'],
            ['not-a-date', 'foo 1', '1', '2026-02-30', '2026-13-01', '25:00'],
        ],
        ['{v:file}', ['a.json', 'dir/a.b.c', 'x.'.concat('y')], ['readme', 'dir.d/readme', 'a.', 'a..']],
        ['{v:nonfile}', ['readme', 'a.'], ['a.json']],
        ['{v:min(10)}', ['10', '99', ' 10'], ['9', 'ten']],
        ['{v:max(10)}', ['10', '-1'], ['11', 'x']],
        ['{v:range(1,3)}', ['1', '3'], ['0', '4', 'two']],
        ['{v:length(3)}', ['abc'], ['ab', 'abcd']],
        ['{v:length(2,3)}', ['ab', 'abc'], ['a', 'abcd']],
        ['{v:minlength(2)}', ['ab'], ['a']],
        ['{v:maxlength(2)}', ['ab'], ['abc']],
        ['{v:regex(^[a-z]{{2}}-\\d+$)}', ['ab-12', 'AB-1'], ['abc-1', 'ab-']],
        ['{v:int:min(1)}', ['1'], ['0', 'x']],
        ['{v:regex(^a:b$)}', ['a:b'], ['ab']],
    ])('%s accepts %j and rejects %j', (parameter, accepted, rejected) => {
        const route = compileRoute(`x/${parameter}`);
        expect(accepted.map((value) => route.match(`/x/${encodeURIComponent(value)}`))).toEqual(
            accepted.map((value) => ({ v: value })),
        );
        expect(rejected.map((value) => route.match(`/x/${encodeURIComponent(value)}`))).toEqual(
            rejected.map(() => undefined),
        );
    });

    it('rejects, at start-up, a constraint the host does not know or cannot read', () => {
        expect(() => compileRoute('items/{id:integer}')).toThrow(
            new RouteTemplateError('items/{id:integer}', 'unknown route constraint "integer"'),
        );
        expect(() => compileRoute('items/{id:min(one)}')).toThrow(
            'Route "items/{id:min(one)}": the constraint "min(one)" needs 1 integer argument(s)',
        );
        expect(() => compileRoute('items/{id:regex(()}')).toThrow(
            'Route "items/{id:regex(()}": the constraint "regex(()" is not a valid regular expression',
        );
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
