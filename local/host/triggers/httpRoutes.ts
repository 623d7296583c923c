/** A compiled Functions route template such as `letter-counts`, `items/{id}` or `files/{*path}`. */
export interface RouteMatcher {
    template: string;
    match(path: string): Record<string, string> | undefined;
}

/**
 * Compiles an ASP.NET-style route template as the Functions host accepts it: literal segments match
 * case-insensitively, `{name}` one segment, `{name?}` an optional last segment, `{*name}` the rest of the path;
 * constraints such as `{id:int}` are accepted and their type ignored.
 */
export function compileRoute(template: string): RouteMatcher {
    const segments = template
        .replace(/^\/+|\/+$/g, '')
        .split('/')
        .filter(Boolean);
    const names: string[] = [];
    let pattern = '';
    for (const segment of segments) {
        const parameter = /^\{(\*)?([A-Za-z_][\w]*)(?::[^}?]+)?(\?)?\}$/.exec(segment);
        if (!parameter) {
            pattern += `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
            continue;
        }
        names.push(parameter[2]!);
        if (parameter[1]) {
            pattern += '(?:/(.*))?';
        } else if (parameter[3]) {
            pattern += '(?:/([^/]+))?';
        } else {
            pattern += '/([^/]+)';
        }
    }
    const regex = new RegExp(`^${pattern}/?$`, 'i');
    return {
        template,
        match(path) {
            const found = regex.exec(path.replace(/\/+$/, '') || '/');
            if (!found && !(pattern === '' && (path === '/' || path === ''))) {
                return undefined;
            }
            const params: Record<string, string> = {};
            names.forEach((name, index) => {
                const value = found?.[index + 1];
                if (value !== undefined) {
                    params[name] = decodeSegment(value);
                }
            });
            return params;
        },
    };
}

/** Decodes a path segment; malformed percent-encoding stays as sent (as ASP.NET's path decoding leaves it). */
function decodeSegment(value: string): string {
    try {
        return decodeURIComponent(value);
    } catch {
        return value;
    }
}
