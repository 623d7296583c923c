/**
 * Which `aud` values a request accepts. The SDKs build audiences from the connection string's Endpoint without
 * its Port (emulator-style strings) while tools often use the full URL, and the same server answers to
 * `localhost` and `127.0.0.1`, so every base below counts as "this service". Path and hub must still match.
 */
export function serviceBases(hostHeader: string | undefined, port: number): string[] {
    const hosts = new Set(['localhost', '127.0.0.1']);
    if (hostHeader) hosts.add(hostHeader.replace(/:\d+$/, ''));
    return [...hosts].flatMap((host) => [`http://${host}`, `http://${host}:${port}`]);
}

export function restAudiences(bases: readonly string[], pathname: string): string[] {
    const path = pathname.replace(/\/+$/, '');
    return bases.flatMap((base) => [`${base}${path}`, `${base}${path}/`]);
}

export function clientAudiences(bases: readonly string[], hub: string): string[] {
    const hubs = [...new Set([hub, hub.toLowerCase()])];
    return bases.flatMap((base) => hubs.flatMap((h) => [`${base}/client/?hub=${h}`, `${base}/client?hub=${h}`]));
}
