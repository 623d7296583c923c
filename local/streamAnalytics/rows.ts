import { createHash } from 'node:crypto';

import { DateTime, type Value } from './values';

/** An event as the query sees it: its fields, its System.Timestamp(), and, for input events, Event Hub metadata. */
export interface Row {
    readonly fields: Readonly<Record<string, Value>>;
    /** The event time (System.Timestamp()) in epoch milliseconds: what windows, watermarks and joins read. */
    ts: number;
    /**
     * The 100 ns ticks of the event time past `ts` (0-9999; absent is 0), kept so System.Timestamp() of an event
     * stamped with seven fractional digits prints all seven. Ordering and windows use `ts` alone.
     */
    subMsTicks?: number;
    /** The Event Hub enqueued time of an input event (NaN for rows a step produced). */
    readonly enqueuedMs: number;
    readonly event: EventMetadata | undefined;
    /** The Event Hubs properties of an input event, when its source supplied them (GetMetadataPropertyValue). */
    readonly properties?: EventHubProperties | undefined;
    /**
     * A row of a JOIN or APPLY: one row per FROM source, in FROM order (NULL for the missing side of a LEFT JOIN
     * or OUTER APPLY). Absent on rows with a single source, which read `fields` directly.
     */
    readonly sides?: readonly (Row | null)[];
    /** The values of the statement's analytic functions for this row, computed before WHERE. */
    readonly analytics?: readonly Value[];
}

/**
 * What an Event Hubs event carries besides its body, named as the Event Hubs SDK's ReceivedEventData names them:
 * `properties` are the application (user) properties.
 */
export interface EventHubProperties {
    readonly offset?: string | number;
    readonly sequenceNumber?: number;
    readonly partitionKey?: string | null;
    readonly properties?: Readonly<Record<string, unknown>>;
}

/**
 * The internal column GetMetadataPropertyValue reads: a record of the event's metadata. Its name cannot be written
 * in a query (it starts with NUL), so it never clashes with a payload field and never appears in SELECT *.
 */
export const METADATA_COLUMN = '\u0000metadata';

/**
 * The metadata record of R:=getmetadatapropertyvalue: `EventHub` (EventEnqueuedUtcTime, EventProcessedUtcTime,
 * PartitionId, Offset, SequenceNumber, PartitionKey) and `User` (application properties). Properties the source did
 * not supply are left out, so they read as NULL.
 */
function metadataRecord(row: Row): Value {
    if (row.event === undefined) {
        return null;
    }
    const eventHub: Record<string, Value> = {
        EventEnqueuedUtcTime: new DateTime(row.enqueuedMs),
        EventProcessedUtcTime: new DateTime(row.event.processedMs),
        PartitionId: row.event.partitionId,
    };
    const properties = row.properties;
    if (properties?.offset !== undefined) {
        eventHub.Offset = String(properties.offset);
    }
    if (properties?.sequenceNumber !== undefined) {
        eventHub.SequenceNumber = properties.sequenceNumber;
    }
    if (properties?.partitionKey !== undefined) {
        eventHub.PartitionKey = properties.partitionKey;
    }
    return {
        EventHub: eventHub,
        User: (properties?.properties ?? {}) as Record<string, Value>,
        EventId: eventId(row, properties),
    };
}

/**
 * A GUID that is the same whenever the same event is read again (R:=getmetadatapropertyvalue, "Unique EventId"):
 * derived from the partition and the sequence number, or, when the source gives none, the enqueued time and body.
 */
function eventId(row: Row, properties: EventHubProperties | undefined): string {
    const identity =
        properties?.sequenceNumber !== undefined
            ? `${row.event!.partitionId}/${properties.sequenceNumber}`
            : `${row.event!.partitionId}/${row.enqueuedMs}/${JSON.stringify(row.fields)}`;
    const hex = createHash('sha1').update(identity).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** System.Timestamp() of a row, to the 100 ns tick. */
export function timestampOf(row: Row): DateTime {
    return new DateTime(row.ts, row.subMsTicks ?? 0);
}

/** The properties Stream Analytics adds to every Event Hub event, shared by all events of one pushed batch. */
export interface EventMetadata {
    readonly processedMs: number;
    readonly partitionId: string | number;
}

/** Metadata columns in the order Stream Analytics appends them to `SELECT *` output. */
const METADATA_COLUMNS: Readonly<Record<string, (event: EventMetadata, row: Row) => Value>> = {
    EventProcessedUtcTime: (event) => new DateTime(event.processedMs),
    PartitionId: (event) => event.partitionId,
    EventEnqueuedUtcTime: (_event, row) => new DateTime(row.enqueuedMs),
};

const METADATA_BY_UPPER = new Map(Object.entries(METADATA_COLUMNS).map(([name, read]) => [name.toUpperCase(), read]));

/**
 * Reads a top-level column. The exact name is tried first (the hot path: one property read); then the Event Hub
 * metadata columns; then a case-insensitive match. Missing columns are NULL, as in Stream Analytics.
 */
export function columnReader(name: string): (row: Row) => Value {
    if (name === METADATA_COLUMN) {
        return metadataRecord;
    }
    const upper = name.toUpperCase();
    const metadata = METADATA_BY_UPPER.get(upper);
    // Names such as "constructor" exist on every object's prototype; only own properties are columns.
    const guardPrototype = name in Object.prototype;
    return (row) => {
        const fields = row.fields;
        const value = fields[name];
        if (value !== undefined && (!guardPrototype || Object.hasOwn(fields, name))) {
            return value;
        }
        if (metadata !== undefined && row.event !== undefined) {
            return metadata(row.event, row);
        }
        return propertyIgnoringCase(fields, upper);
    };
}

/**
 * Like columnReader, but tells a missing column (undefined) from a NULL one, so an unqualified name in a JOIN can be
 * looked up source by source.
 */
export function columnLookup(name: string): (row: Row) => Value | undefined {
    const upper = name.toUpperCase();
    const metadata = METADATA_BY_UPPER.get(upper);
    return (row) => {
        const fields = row.fields;
        if (Object.hasOwn(fields, name)) {
            return fields[name] ?? null;
        }
        if (metadata !== undefined && row.event !== undefined) {
            return metadata(row.event, row);
        }
        for (const key of Object.keys(fields)) {
            if (key.toUpperCase() === upper) {
                return fields[key] ?? null;
            }
        }
        return undefined;
    };
}

/** Reads a field of a record value (`column.field`); anything that is not a record yields NULL. */
export function recordField(value: Value, name: string): Value {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof DateTime) {
        return null;
    }
    const record = value as Readonly<Record<string, Value>>;
    return Object.hasOwn(record, name) ? record[name]! : propertyIgnoringCase(record, name.toUpperCase());
}

function propertyIgnoringCase(fields: Readonly<Record<string, Value>>, upper: string): Value {
    for (const key of Object.keys(fields)) {
        if (key.toUpperCase() === upper) {
            return fields[key] ?? null;
        }
    }
    return null;
}

/** `SELECT *` over an input: the event's own fields followed by the metadata columns. */
export function allColumns(row: Row): Record<string, Value> {
    const copy: Record<string, Value> = { ...row.fields };
    if (row.event !== undefined) {
        for (const [name, read] of Object.entries(METADATA_COLUMNS)) {
            copy[name] = read(row.event, row);
        }
    }
    return copy;
}
