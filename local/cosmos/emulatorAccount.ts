import { InvalidCosmosConnectionStringError } from './errors';

/**
 * The Azure Cosmos DB emulator's well-known account key. It is published in Microsoft's emulator documentation and
 * guards nothing: the local server binds to loopback only and accepts any key.
 */
export const EMULATOR_ACCOUNT_KEY =
    'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

export interface CosmosAccount {
    endpoint: string;
    key: string;
}

/** `AccountEndpoint=https://127.0.0.1:8081/;AccountKey=...;`, the shape the Functions Cosmos DB extension reads. */
export function toConnectionString({ endpoint, key }: CosmosAccount): string {
    return `AccountEndpoint=${endpoint};AccountKey=${key};`;
}

/** Splits on `;` and on the first `=` only, because base64 keys end in `=` padding. */
export function parseConnectionString(connectionString: string): CosmosAccount {
    const settings = new Map<string, string>();
    for (const part of connectionString.split(';')) {
        const trimmed = part.trim();
        if (trimmed === '') continue;
        const separator = trimmed.indexOf('=');
        if (separator <= 0) {
            throw new InvalidCosmosConnectionStringError(connectionString, `segment "${trimmed}" is not Name=Value`);
        }
        settings.set(trimmed.slice(0, separator).toLowerCase(), trimmed.slice(separator + 1));
    }
    const endpoint = settings.get('accountendpoint');
    const key = settings.get('accountkey');
    if (endpoint === undefined || key === undefined) {
        throw new InvalidCosmosConnectionStringError(
            connectionString,
            'AccountEndpoint and AccountKey are both required',
        );
    }
    if (!/^https?:\/\/[^/]+\/?$/.test(endpoint)) {
        throw new InvalidCosmosConnectionStringError(
            connectionString,
            `AccountEndpoint "${endpoint}" is not an http(s) origin`,
        );
    }
    return { endpoint, key };
}
