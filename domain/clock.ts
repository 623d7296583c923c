/** The one way domain code learns the time: handlers pass a clock in, tests pass a fixed one. */
export interface Clock {
    now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that always answers the same instant; for tests and replays. */
export function fixedClock(at: Date | string): Clock {
    const instant = new Date(at);
    return { now: () => new Date(instant) };
}
