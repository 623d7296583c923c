/**
 * The one-line explanation `npm start` prints when a port it needs is taken, instead of a listen stack trace.
 * Node's own servers fail with `listen EADDRINUSE: address already in use <host>:<port>` (code `EADDRINUSE`);
 * Azurite, a child process, reports the same text in the output that `Azurite exited ... before listening`
 * quotes, so the text is what is matched, not the code.
 * @returns the explanation, or undefined when the error is not a port in use
 */
export function describePortInUse(error: unknown): string | undefined {
    const text = error instanceof Error ? error.message : String(error);
    const match = /EADDRINUSE: address already in use (\S+)/.exec(text);
    if (!match) {
        return undefined;
    }
    const address = match[1]!;
    return (
        `Port ${address} is already in use (another npm start, func start or an emulator?). Stop what holds it, ` +
        'or move that endpoint to a free port in local.settings.json (the connection setting that names it; ' +
        'PORT for the functions).'
    );
}
