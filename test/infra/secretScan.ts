/** A text that looks like it carries or fetches a secret. */
export interface SecretFinding {
    file: string;
    line: number;
    pattern: string;
    text: string;
}

/** What a key, a SAS or a connection string looks like in a template, a settings file or a script. */
export const secretPatterns: readonly RegExp[] = [
    /list(Keys|ConnectionStrings|Secrets|AccountSas|ServiceSas)\s*\(/i,
    /\b(Account|Shared|Primary|Secondary)?AccessKey\b/i,
    /SharedAccessKey(Name)?\s*=/i,
    /AccountKey\s*=/i,
    /\b(accountKey|sharedAccessPolicyKey|apiKey|primaryKey|secondaryKey|primaryConnectionString|masterKey)\b/i,
    /connection_?string/i,
    /UseDevelopmentStorage/i,
    /@secure\(\)/,
];

/** A line that matches a pattern but carries no secret, and why. */
export interface AllowedMatch {
    pattern: RegExp;
    reason: string;
}

export function scanForSecrets(file: string, text: string, allowed: readonly AllowedMatch[]): SecretFinding[] {
    const findings: SecretFinding[] = [];
    text.split('\n').forEach((line, index) => {
        for (const pattern of secretPatterns) {
            const match = pattern.exec(line);
            if (match && !allowed.some((a) => a.pattern.test(line))) {
                findings.push({ file, line: index + 1, pattern: pattern.source, text: line.trim() });
            }
        }
    });
    return findings;
}
