import { readFileSync } from 'node:fs';
import path from 'node:path';

import Parser from 'tree-sitter';
import bicepLanguage from 'tree-sitter-bicep';

type SyntaxNode = Parser.SyntaxNode;

/** A place where tree-sitter-bicep could not parse the file. */
export interface SyntaxProblem {
    kind: 'ERROR' | 'MISSING';
    line: number;
    column: number;
    text: string;
}

export function parseBicep(source: string): Parser.Tree {
    const parser = new Parser();
    parser.setLanguage(bicepLanguage as Parser.Language);
    return parser.parse(source);
}

export function findSyntaxProblems(tree: Parser.Tree): SyntaxProblem[] {
    const problems: SyntaxProblem[] = [];
    const visit = (node: SyntaxNode): void => {
        if (node.type === 'ERROR' || node.isMissing) {
            problems.push({
                kind: node.isMissing ? 'MISSING' : 'ERROR',
                line: node.startPosition.row + 1,
                column: node.startPosition.column + 1,
                text: node.text.slice(0, 80),
            });
        }
        node.children.forEach(visit);
    };
    visit(tree.rootNode);
    return problems;
}

/**
 * A value the model could not compute without deploying (an identity's principal id, a resource's endpoint):
 * kept as the Bicep expression text, so tests can still compare which expression feeds what.
 */
export class Unresolved {
    constructor(readonly text: string) {}
}

/** A value as text: a string as is, an unresolved expression as its Bicep text, anything else as JSON. */
export function describeValue(value: BicepValue): string {
    if (value instanceof Unresolved) {
        return value.text;
    }
    return typeof value === 'string' ? value : JSON.stringify(value);
}

export type BicepValue = string | number | boolean | null | Unresolved | BicepValue[] | { [key: string]: BicepValue };

export interface ResourceDeclaration {
    symbol: string;
    /** ARM type without the API version, e.g. Microsoft.ServiceBus/namespaces/queues. */
    type: string;
    apiVersion: string;
    existing: boolean;
    body: SyntaxNode;
    /** `[for item in source: {...}]`: the loop variable and the array expression. */
    loop?: { item: string; source: SyntaxNode };
}

export interface ModuleDeclaration {
    symbol: string;
    /** Absolute path of the module file. */
    file: string;
    body: SyntaxNode;
}

/** The declarations of one .bicep file, found by walking its syntax tree. */
export class BicepFile {
    readonly params = new Map<string, SyntaxNode | undefined>();
    readonly vars = new Map<string, SyntaxNode>();
    readonly outputs = new Map<string, SyntaxNode>();
    readonly resources: ResourceDeclaration[] = [];
    readonly modules: ModuleDeclaration[] = [];

    constructor(
        readonly file: string,
        readonly tree: Parser.Tree,
    ) {
        for (const declaration of tree.rootNode.namedChildren) {
            this.#declare(declaration);
        }
    }

    static load(file: string): BicepFile {
        return new BicepFile(path.resolve(file), parseBicep(readFileSync(file, 'utf8')));
    }

    resource(symbol: string): ResourceDeclaration | undefined {
        return this.resources.find((r) => r.symbol === symbol);
    }

    module(symbol: string): ModuleDeclaration | undefined {
        return this.modules.find((m) => m.symbol === symbol);
    }

    #declare(node: SyntaxNode): void {
        const named = node.namedChildren.filter((c) => c.type !== 'decorators');
        const name = named[0]?.text ?? '';
        switch (node.type) {
            case 'parameter_declaration': {
                // param name type [= default]
                const hasDefault = node.children.some((c) => c.type === '=');
                this.params.set(name, hasDefault ? named[named.length - 1] : undefined);
                break;
            }
            case 'variable_declaration':
                this.vars.set(name, lastNamed(node));
                break;
            case 'output_declaration':
                this.outputs.set(name, lastNamed(node));
                break;
            case 'resource_declaration': {
                const [type = '', apiVersion = ''] = stringContent(named[1]).split('@');
                const value = lastNamed(node);
                this.resources.push({
                    symbol: name,
                    type,
                    apiVersion,
                    existing: node.children.some((c) => c.type === 'existing'),
                    ...bodyAndLoop(value),
                });
                break;
            }
            case 'module_declaration':
                this.modules.push({
                    symbol: name,
                    file: path.resolve(path.dirname(this.file), stringContent(named[1])),
                    body: bodyAndLoop(lastNamed(node)).body,
                });
                break;
            default:
                break;
        }
    }
}

/** Reads a property of an object literal node (`{ name: ... }`), or undefined. */
export function property(objectNode: SyntaxNode | undefined, key: string): SyntaxNode | undefined {
    if (objectNode?.type !== 'object') {
        return undefined;
    }
    for (const entry of objectNode.namedChildren) {
        if (entry.type === 'object_property' && propertyKey(entry) === key) {
            return lastNamed(entry);
        }
    }
    return undefined;
}

function propertyKey(entry: SyntaxNode): string {
    const key = entry.namedChildren[0];
    return key?.type === 'string' ? stringContent(key) : (key?.text ?? '');
}

function lastNamed(node: SyntaxNode): SyntaxNode {
    const last = node.namedChildren[node.namedChildren.length - 1];
    if (!last) {
        throw new Error(`Empty ${node.type} at line ${node.startPosition.row + 1}`);
    }
    return last;
}

function stringContent(node: SyntaxNode | undefined): string {
    return (node?.namedChildren ?? []).map((c) => c.text).join('');
}

function bodyAndLoop(value: SyntaxNode): { body: SyntaxNode; loop?: { item: string; source: SyntaxNode } } {
    if (value.type !== 'for_statement') {
        return { body: value.type === 'if_statement' ? lastNamed(value) : value };
    }
    const named = value.namedChildren;
    const parameters = named.find((c) => c.type === 'for_loop_parameters');
    const item = parameters ? (parameters.namedChildren[0]?.text ?? '') : (named[0]?.text ?? '');
    const source = named[1];
    const body = lastNamed(value);
    if (!source) {
        throw new Error(`Unreadable for-expression at line ${value.startPosition.row + 1}`);
    }
    return { body: body.type === 'if_statement' ? lastNamed(body) : body, loop: { item, source } };
}

/** Where an expression is evaluated: a file, the values its parameters were given, and loop variables. */
export interface Scope {
    file: BicepFile;
    params: Record<string, BicepValue>;
    locals?: Record<string, BicepValue>;
}

/**
 * Evaluates the part of Bicep a template's wiring uses: literals, interpolation, params, vars, loop variables,
 * member and index access, module outputs (followed into the module), `concat`, `union`, `empty`, `!`, ternaries,
 * `loadJsonContent`/`loadTextContent`, `subscriptionResourceId`. A resource's `id` evaluates to a marker string
 * `<id:TYPE>` so scopes built from it stay comparable; anything else deploy-time stays Unresolved.
 */
export function evaluate(node: SyntaxNode, scope: Scope): BicepValue {
    switch (node.type) {
        case 'string':
            return evaluateString(node, scope);
        case 'number':
            return Number(node.text);
        case 'boolean':
            return node.text === 'true';
        case 'null':
            return null;
        case 'array':
            return node.namedChildren.map((item) => evaluate(item, scope));
        case 'object': {
            const result: Record<string, BicepValue> = {};
            for (const entry of node.namedChildren) {
                if (entry.type === 'object_property') {
                    result[propertyKey(entry)] = evaluate(lastNamed(entry), scope);
                }
            }
            return result;
        }
        case 'identifier':
            return evaluateIdentifier(node, scope);
        case 'parenthesized_expression':
            return evaluate(lastNamed(node), scope);
        case 'member_expression':
            return evaluateMember(node, scope);
        case 'subscript_expression': {
            const object = evaluate(node.childForFieldName('object') ?? lastNamed(node), scope);
            const index = evaluate(node.childForFieldName('index') ?? lastNamed(node), scope);
            return pick(object, index, node.text);
        }
        case 'unary_expression': {
            const argument = evaluate(node.childForFieldName('argument') ?? lastNamed(node), scope);
            return typeof argument === 'boolean' ? !argument : new Unresolved(node.text);
        }
        case 'ternary_expression': {
            const condition = evaluate(node.childForFieldName('condition') ?? lastNamed(node), scope);
            if (typeof condition !== 'boolean') {
                return new Unresolved(node.text);
            }
            const branch = node.childForFieldName(condition ? 'consequence' : 'alternative');
            return branch ? evaluate(branch, scope) : new Unresolved(node.text);
        }
        case 'call_expression':
            return evaluateCall(node, scope);
        default:
            return new Unresolved(node.text);
    }
}

function evaluateString(node: SyntaxNode, scope: Scope): BicepValue {
    let text = '';
    for (const part of node.namedChildren) {
        if (part.type === 'interpolation') {
            const value = evaluate(lastNamed(part), scope);
            if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
                return new Unresolved(node.text);
            }
            text += String(value);
        } else if (part.type === 'escape_sequence') {
            text += part.text.slice(1);
        } else {
            text += part.text;
        }
    }
    return text;
}

function evaluateIdentifier(node: SyntaxNode, scope: Scope): BicepValue {
    const name = node.text;
    if (scope.locals && name in scope.locals) {
        return scope.locals[name] ?? null;
    }
    if (name in scope.params) {
        return scope.params[name] ?? null;
    }
    if (scope.file.params.has(name)) {
        const defaultValue = scope.file.params.get(name);
        return defaultValue ? evaluate(defaultValue, scope) : new Unresolved(name);
    }
    const variable = scope.file.vars.get(name);
    if (variable) {
        return evaluate(variable, scope);
    }
    return new Unresolved(name);
}

function evaluateMember(node: SyntaxNode, scope: Scope): BicepValue {
    const objectNode = node.childForFieldName('object');
    const propertyName = node.childForFieldName('property')?.text ?? '';
    if (!objectNode) {
        return new Unresolved(node.text);
    }
    // module.outputs.name: evaluate the output inside the module, with the parameters this file passes it.
    if (objectNode.type === 'member_expression' && objectNode.childForFieldName('property')?.text === 'outputs') {
        const moduleSymbol = objectNode.childForFieldName('object')?.text ?? '';
        const declaration = scope.file.module(moduleSymbol);
        if (declaration) {
            const value = moduleOutput(declaration, propertyName, scope);
            return value instanceof Unresolved ? new Unresolved(node.text) : value;
        }
    }
    if (objectNode.type === 'identifier') {
        const resource = scope.file.resource(objectNode.text);
        if (resource && !(scope.locals && objectNode.text in scope.locals)) {
            if (propertyName === 'name') {
                const name = property(resource.body, 'name');
                return name ? evaluate(name, scope) : new Unresolved(node.text);
            }
            if (propertyName === 'id') {
                return `<id:${resource.type}>`;
            }
            return new Unresolved(node.text);
        }
    }
    return pick(evaluate(objectNode, scope), propertyName, node.text);
}

function pick(object: BicepValue, key: BicepValue, text: string): BicepValue {
    if (Array.isArray(object) && typeof key === 'number') {
        return object[key] ?? new Unresolved(text);
    }
    if (object !== null && typeof object === 'object' && !Array.isArray(object) && !(object instanceof Unresolved)) {
        if (typeof key === 'string' && key in object) {
            return object[key] ?? null;
        }
    }
    return new Unresolved(text);
}

function evaluateCall(node: SyntaxNode, scope: Scope): BicepValue {
    const name = node.childForFieldName('function')?.text ?? '';
    const argumentNodes = node.childForFieldName('arguments')?.namedChildren ?? [];
    const args = argumentNodes.map((a) => evaluate(a, scope));
    const relative = (value: BicepValue | undefined) =>
        path.resolve(path.dirname(scope.file.file), describeValue(value ?? ''));
    switch (name) {
        case 'loadJsonContent':
            return JSON.parse(readFileSync(relative(args[0] ?? ''), 'utf8')) as BicepValue;
        case 'loadTextContent':
            return readFileSync(relative(args[0] ?? ''), 'utf8');
        case 'concat':
            return args.every(Array.isArray) ? args.flat() : new Unresolved(node.text);
        case 'union':
            return args.every(isPlainObject)
                ? args.reduce<Record<string, BicepValue>>((merged, arg) => ({ ...merged, ...arg }), {})
                : new Unresolved(node.text);
        case 'empty': {
            const [value] = args;
            if (typeof value === 'string' || Array.isArray(value)) {
                return value.length === 0;
            }
            return isPlainObject(value) ? Object.keys(value).length === 0 : new Unresolved(node.text);
        }
        case 'subscriptionResourceId':
            return args.every((a) => typeof a === 'string')
                ? `/subscriptions/<subscription>/providers/${args.slice(0, 1).join('')}/${args.slice(1).join('/')}`
                : new Unresolved(node.text);
        default:
            return new Unresolved(node.text);
    }
}

function isPlainObject(value: BicepValue | undefined): value is { [key: string]: BicepValue } {
    return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Unresolved);
}

const moduleFiles = new Map<string, BicepFile>();

function loadModule(file: string): BicepFile {
    let model = moduleFiles.get(file);
    if (!model) {
        model = BicepFile.load(file);
        moduleFiles.set(file, model);
    }
    return model;
}

/** The scope a module's body runs in: its file, and the parameter values the caller passes. */
export function moduleScope(declaration: ModuleDeclaration, caller: Scope): Scope {
    const paramsNode = property(declaration.body, 'params');
    const params = paramsNode ? evaluate(paramsNode, caller) : {};
    return { file: loadModule(declaration.file), params: isPlainObject(params) ? params : {} };
}

function moduleOutput(declaration: ModuleDeclaration, output: string, caller: Scope): BicepValue {
    const scope = moduleScope(declaration, caller);
    const expression = scope.file.outputs.get(output);
    return expression ? evaluate(expression, scope) : new Unresolved(`${declaration.symbol}.outputs.${output}`);
}

/** A role granted to a principal, as the template grants it. */
export interface RoleGrant {
    /** Module (or main) symbol and resource symbol that make the assignment. */
    madeBy: string;
    roleName: string;
    /** The principal id expression: e.g. `appIdentity.outputs.principalId` or `job.identity.principalId`. */
    principal: string;
    /** ARM type of the resource the role is scoped to, or `cosmos:<scope string>` for Cosmos data-plane roles. */
    scope: string;
}

/**
 * Every role assignment the deployment makes: Azure RBAC (`Microsoft.Authorization/roleAssignments`, scope = the
 * resource symbol's type) and Cosmos DB data-plane (`sqlRoleAssignments`, scope = its scope string), with role
 * ids mapped back to names through the built-in role map.
 */
export function collectRoleGrants(main: Scope, roleIdsByName: Record<string, string>): RoleGrant[] {
    const roleNamesById = new Map(Object.entries(roleIdsByName).map(([name, id]) => [id, name]));
    const grants: RoleGrant[] = [];
    const scopes: Array<{ label: string; scope: Scope }> = [
        { label: 'main', scope: main },
        ...main.file.modules.map((m) => ({ label: m.symbol, scope: moduleScope(m, main) })),
    ];
    for (const { label, scope } of scopes) {
        for (const resource of scope.file.resources) {
            const isRbac = resource.type === 'Microsoft.Authorization/roleAssignments';
            const isCosmos = resource.type === 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments';
            if (!isRbac && !isCosmos) {
                continue;
            }
            const items = resource.loop ? evaluate(resource.loop.source, scope) : [null];
            if (!Array.isArray(items)) {
                throw new Error(
                    `${label}.${resource.symbol}: cannot evaluate the loop over ${resource.loop?.source.text}`,
                );
            }
            for (const item of items) {
                const itemScope: Scope = resource.loop
                    ? { ...scope, locals: { ...scope.locals, [resource.loop.item]: item } }
                    : scope;
                const properties = property(resource.body, 'properties');
                const roleDefinition = evaluate(required(properties, 'roleDefinitionId', resource), itemScope);
                const principal = evaluate(required(properties, 'principalId', resource), itemScope);
                const roleId = typeof roleDefinition === 'string' ? roleDefinition.split('/').pop() : undefined;
                const scopeValue = isRbac
                    ? scopeType(scope.file, required(resource.body, 'scope', resource))
                    : `cosmos:${describeValue(evaluate(required(properties, 'scope', resource), itemScope))}`;
                grants.push({
                    madeBy: `${label}.${resource.symbol}`,
                    roleName: (roleId && roleNamesById.get(roleId)) ?? `<unknown role ${String(roleId)}>`,
                    principal: describeValue(principal),
                    scope: scopeValue,
                });
            }
        }
    }
    return grants;
}

function required(objectNode: SyntaxNode | undefined, key: string, resource: ResourceDeclaration): SyntaxNode {
    const value = property(objectNode, key);
    if (!value) {
        throw new Error(`Resource ${resource.symbol} (${resource.type}) has no "${key}"`);
    }
    return value;
}

function scopeType(file: BicepFile, scopeNode: SyntaxNode): string {
    const target = file.resource(scopeNode.text);
    return target ? target.type : `<not a resource: ${scopeNode.text}>`;
}
