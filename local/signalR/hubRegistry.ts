/** One connected, handshaken client as the registry sees it. */
export interface ClientConnection {
    readonly id: string;
    readonly hub: string;
    readonly userId: string | undefined;
    send(frameText: string): void;
    close(error: string | undefined, allowReconnect: boolean): void;
}

interface HubState {
    connections: Map<string, ClientConnection>;
    /** group -> user ids; membership outlives connections, as the service keeps user-group mappings. */
    groupUsers: Map<string, Set<string>>;
    /** group -> connection ids; dropped when the connection goes. */
    groupConnections: Map<string, Set<string>>;
}

/** Hub names are case-insensitive in the service (the SDKs lower-case them in REST paths). */
export function hubKey(hub: string): string {
    return hub.toLowerCase();
}

/** Connections, users and groups per hub, and fan-out of frames to them. Returns delivery counts. */
export class HubRegistry {
    private readonly hubs = new Map<string, HubState>();

    add(connection: ClientConnection): void {
        this.hub(connection.hub).connections.set(connection.id, connection);
    }

    remove(connectionId: string): void {
        for (const state of this.hubs.values()) {
            if (state.connections.delete(connectionId)) {
                for (const members of state.groupConnections.values()) members.delete(connectionId);
            }
        }
    }

    all(): ClientConnection[] {
        return [...this.hubs.values()].flatMap((state) => [...state.connections.values()]);
    }

    broadcast(hub: string, frameText: string, excluded: ReadonlySet<string> = new Set()): number {
        return this.deliver(
            [...this.hub(hub).connections.values()].filter((c) => !excluded.has(c.id)),
            frameText,
        );
    }

    sendToUser(hub: string, userId: string, frameText: string): number {
        return this.deliver(this.userConnections(hub, userId), frameText);
    }

    sendToConnection(hub: string, connectionId: string, frameText: string): number {
        const connection = this.hub(hub).connections.get(connectionId);
        return connection ? this.deliver([connection], frameText) : 0;
    }

    sendToGroup(hub: string, group: string, frameText: string, excluded: ReadonlySet<string> = new Set()): number {
        return this.deliver(
            this.groupMembers(hub, group).filter((c) => !excluded.has(c.id)),
            frameText,
        );
    }

    addUserToGroup(hub: string, group: string, userId: string): void {
        setOf(this.hub(hub).groupUsers, group).add(userId);
    }

    removeUserFromGroup(hub: string, group: string, userId: string): void {
        this.hub(hub).groupUsers.get(group)?.delete(userId);
    }

    removeUserFromAllGroups(hub: string, userId: string): void {
        for (const users of this.hub(hub).groupUsers.values()) users.delete(userId);
    }

    addConnectionToGroup(hub: string, group: string, connectionId: string): boolean {
        if (!this.hub(hub).connections.has(connectionId)) return false;
        setOf(this.hub(hub).groupConnections, group).add(connectionId);
        return true;
    }

    removeConnectionFromGroup(hub: string, group: string, connectionId: string): void {
        this.hub(hub).groupConnections.get(group)?.delete(connectionId);
    }

    removeConnectionFromAllGroups(hub: string, connectionId: string): void {
        for (const members of this.hub(hub).groupConnections.values()) members.delete(connectionId);
    }

    userExists(hub: string, userId: string): boolean {
        return this.userConnections(hub, userId).length > 0;
    }

    userInGroup(hub: string, group: string, userId: string): boolean {
        return this.hub(hub).groupUsers.get(group)?.has(userId) ?? false;
    }

    groupExists(hub: string, group: string): boolean {
        return this.groupMembers(hub, group).length > 0;
    }

    connection(hub: string, connectionId: string): ClientConnection | undefined {
        return this.hub(hub).connections.get(connectionId);
    }

    /** Plain-data view for stats and dashboards. */
    snapshot(): Record<
        string,
        { connections: { id: string; userId: string | null }[]; groups: Record<string, string[]> }
    > {
        const view: Record<
            string,
            { connections: { id: string; userId: string | null }[]; groups: Record<string, string[]> }
        > = {};
        for (const [name, state] of this.hubs) {
            const groups: Record<string, string[]> = {};
            for (const [group, users] of state.groupUsers) if (users.size > 0) groups[group] = [...users].sort();
            view[name] = {
                connections: [...state.connections.values()].map((c) => ({ id: c.id, userId: c.userId ?? null })),
                groups,
            };
        }
        return view;
    }

    private userConnections(hub: string, userId: string): ClientConnection[] {
        return [...this.hub(hub).connections.values()].filter((c) => c.userId === userId);
    }

    private groupMembers(hub: string, group: string): ClientConnection[] {
        const state = this.hub(hub);
        const users = state.groupUsers.get(group) ?? new Set<string>();
        const connectionIds = state.groupConnections.get(group) ?? new Set<string>();
        return [...state.connections.values()].filter(
            (c) => connectionIds.has(c.id) || (c.userId !== undefined && users.has(c.userId)),
        );
    }

    private deliver(connections: ClientConnection[], frameText: string): number {
        for (const connection of connections) connection.send(frameText);
        return connections.length;
    }

    private hub(name: string): HubState {
        const key = hubKey(name);
        let state = this.hubs.get(key);
        if (!state) {
            state = { connections: new Map(), groupUsers: new Map(), groupConnections: new Map() };
            this.hubs.set(key, state);
        }
        return state;
    }
}

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
    let set = map.get(key);
    if (!set) {
        set = new Set();
        map.set(key, set);
    }
    return set;
}
