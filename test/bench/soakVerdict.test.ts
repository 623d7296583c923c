import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
    judgeSoakSeries,
    SOAK_VERDICT_RULE,
    type SoakMeasure,
    type SoakPoint,
    soakSeriesLine,
} from '../../bench/soakVerdict';

/** A sample every 5 s (the bench's default), the first at 5 s, as the soak's sampler takes them. */
function every5s(seconds: number, value: (elapsedSeconds: number) => number): SoakPoint[] {
    return Array.from({ length: seconds / 5 }, (_, i) => ({ elapsedSeconds: 5 * (i + 1), value: value(5 * (i + 1)) }));
}

/** A garbage-collection sawtooth like Azurite's RSS: a 65-s tooth rising from 180 to 450 MB, then a collection. */
const sawtooth = (elapsedSeconds: number) => 180 + 270 * ((elapsedSeconds % 65) / 65);

const rss: SoakMeasure = { name: 'Azurite RSS', unit: 'MB', floor: 5 };

describe('soakSeriesLine', () => {
    it('calls a flat series levelled off, at its level', () => {
        const points = every5s(600, (t) => 12.3 + (t % 10 === 0 ? 0.1 : -0.1));
        expect(soakSeriesLine({ name: 'namestream.db', unit: 'MB', floor: 1 }, points)).toBe(
            '  namestream.db: slope 0.0 MB/min in the first half, 0.0 MB/min in the second; per quarter trough ' +
                '12.2, 12.2, 12.2, 12.2 MB, median 12.3, 12.3, 12.3, 12.3 MB, peak 12.4, 12.4, 12.4, 12.4 MB: ' +
                'levelled off, flat at about 12.4 MB (12.2 to 12.4 MB in the second half); from the third quarter to ' +
                'the fourth its trough moved 0.0 MB and its peak 0.0 MB, not both up by more than the tolerance of ' +
                '1.0 MB',
        );
    });

    it('calls a steady linear growth still growing', () => {
        const points = every5s(600, (t) => 100 + 40 * (t / 60));
        expect(soakSeriesLine(rss, points)).toBe(
            '  Azurite RSS: slope 40.0 MB/min in the first half, 40.0 MB/min in the second; per quarter trough ' +
                '103.3, 203.3, 303.3, 403.3 MB, median 151.7, 251.7, 351.7, 451.7 MB, peak 200.0, 300.0, 400.0, ' +
                '500.0 MB: still growing: from the third quarter to the fourth its trough moved +100.0 MB and its ' +
                'peak +100.0 MB, both up by more than the tolerance of 17.6 MB',
        );
    });

    it('calls a garbage-collection sawtooth with no trend bounded, with the range it swings in', () => {
        expect(soakSeriesLine(rss, every5s(600, sawtooth))).toBe(
            '  Azurite RSS: slope 1.2 MB/min in the first half, -4.3 MB/min in the second; per quarter trough ' +
                '180.0, 180.0, 180.0, 180.0 MB, median 283.8, 304.6, 325.4, 283.8 MB, peak 429.2, 429.2, 429.2, ' +
                '429.2 MB: levelled off, bounded: swinging between 180.0 and 429.2 MB in the second half; from the ' +
                'third quarter to the fourth its trough moved 0.0 MB and its peak 0.0 MB, not both up by more than ' +
                'the tolerance of 16.3 MB',
        );
    });

    it('calls a sawtooth on top of a slow growth still growing, though its median fell', () => {
        // 15 MB/min: a tooth's collection takes back 270 MB, the growth adds 16 MB a tooth.
        const points = every5s(600, (t) => sawtooth(t) + 15 * (t / 60));
        expect(soakSeriesLine(rss, points)).toBe(
            '  Azurite RSS: slope 16.2 MB/min in the first half, 10.7 MB/min in the second; per quarter trough ' +
                '196.3, 228.8, 261.3, 293.8 MB, median 303.5, 363.8, 423.5, 412.0 MB, peak 460.5, 493.0, 541.7, ' +
                '574.2 MB: still growing: from the third quarter to the fourth its trough moved +32.5 MB and its ' +
                'peak +32.5 MB, both up by more than the tolerance of 21.2 MB',
        );
    });

    it('calls a series that grew during the warm-up and then stayed levelled off', () => {
        const points = every5s(600, (t) => (t < 240 ? 100 + 100 * (t / 60) : 500 + (t % 10 === 0 ? 3 : -3)));
        expect(soakSeriesLine(rss, points)).toBe(
            '  Azurite RSS: slope 90.1 MB/min in the first half, 0.0 MB/min in the second; per quarter trough ' +
                '108.3, 358.3, 497.0, 497.0 MB, median 229.2, 479.2, 500.0, 500.0 MB, peak 350.0, 503.0, 503.0, ' +
                '503.0 MB: levelled off, flat at about 503.0 MB (497.0 to 503.0 MB in the second half); from the ' +
                'third quarter to the fourth its trough moved 0.0 MB and its peak 0.0 MB, not both up by more than ' +
                'the tolerance of 25.0 MB',
        );
    });

    it('shows a growth slower than the tolerance next to its "levelled off", with the tolerance', () => {
        // 4 MB/min on about 325 MB: 10 MB a quarter, under the 5 % (16.3 MB) tolerance: the rule's stated blind spot.
        const points = every5s(600, (t) => 300 + 4 * (t / 60));
        expect(soakSeriesLine(rss, points)).toBe(
            '  Azurite RSS: slope 4.0 MB/min in the first half, 4.0 MB/min in the second; per quarter trough ' +
                '300.3, 310.3, 320.3, 330.3 MB, median 305.2, 315.2, 325.2, 335.2 MB, peak 310.0, 320.0, 330.0, ' +
                '340.0 MB: levelled off, bounded: swinging between 320.0 and 340.0 MB in the second half; from the ' +
                'third quarter to the fourth its trough moved +10.0 MB and its peak +10.0 MB, not both up by more ' +
                'than the tolerance of 16.3 MB',
        );
    });

    it('says a short run has too few samples, and which quarter a stalled sampler left empty', () => {
        expect(
            soakSeriesLine(
                rss,
                every5s(35, () => 100),
            ),
        ).toBe(
            '  Azurite RSS: slope 0.0 MB/min in the first half, 0.0 MB/min in the second; per quarter trough 100.0, ' +
                '100.0, 100.0, 100.0 MB, median 100.0, 100.0, 100.0, 100.0 MB, peak 100.0, 100.0, 100.0, 100.0 MB: ' +
                'too few samples to judge (7, 1, 2, 2, 2 per quarter; at least 8, 2 in each quarter)',
        );
        const stalled = every5s(600, () => 100).filter((p) => p.elapsedSeconds <= 300 || p.elapsedSeconds > 450);
        expect(soakSeriesLine(rss, stalled)).toBe(
            '  Azurite RSS: slope 0.0 MB/min in the first half, 0.0 MB/min in the second; per quarter trough 100.0, ' +
                '100.0, -, 100.0 MB, median 100.0, 100.0, -, 100.0 MB, peak 100.0, 100.0, -, 100.0 MB: too few ' +
                'samples to judge (90, 30, 30, 0, 30 per quarter; at least 8, 2 in each quarter)',
        );
        expect(soakSeriesLine(rss, [])).toBe(
            '  Azurite RSS: slope 0.0 MB/min in the first half, 0.0 MB/min in the second; per quarter trough -, -, -, ' +
                '- MB, median -, -, -, - MB, peak -, -, -, - MB: too few samples to judge (0, 0, 0, 0, 0 per quarter; ' +
                'at least 8, 2 in each quarter)',
        );
    });

    it('prints counts as whole numbers with separators', () => {
        const points = every5s(300, (t) => Math.min(t, 90) * 80 + (t % 30) * 3);
        expect(soakSeriesLine({ name: 'raw-names blobs', unit: 'blobs', floor: 0 }, points)).toBe(
            '  raw-names blobs: slope 3,140 blobs/min in the first half, 4 blobs/min in the second; per quarter ' +
                'trough 415, 6,460, 7,200, 7,200 blobs, median 3,230, 7,230, 7,230, 7,245 blobs, peak 6,045, 7,275, ' +
                '7,275, 7,275 blobs: levelled off, flat at about 7,230 blobs (7,200 to 7,275 blobs in the second ' +
                'half); from the third quarter to the fourth its trough moved 0 blobs and its peak 0 blobs, not both ' +
                'up by more than the tolerance of 362 blobs',
        );
    });
});

describe('judgeSoakSeries', () => {
    it('rejects a sample that is not a number, and a negative noise floor, quoting them', () => {
        expect(() => judgeSoakSeries([{ elapsedSeconds: 5, value: Number.NaN }], 0)).toThrow(
            new RangeError('a soak sample must have finite numbers (got {"elapsedSeconds":5,"value":null})'),
        );
        expect(() => judgeSoakSeries([], -1)).toThrow(
            new RangeError('the noise floor must be a number at least 0 (got -1)'),
        );
    });

    it('states its rule for the bench to print', () => {
        expect(SOAK_VERDICT_RULE).toBe(
            'verdict: "still growing" when, from the third quarter to the fourth, the trough (lowest sample) and the ' +
                "peak both rose by more than 5 % of the third quarter's median (or the measure's noise floor); " +
                'otherwise "levelled off": flat, or bounded between the second half\'s lowest and highest samples (a ' +
                'garbage-collection sawtooth moves its trough or its peak, a leak lifts both; the median is shown, ' +
                'not judged)',
        );
    });
});

interface RecordedSoaks {
    runs: Array<{ name: string; elapsedSeconds: number[]; series: Record<string, number[]> }>;
}

/** The bench's measures, with the noise floors it judges them by. */
const measures: Record<string, Omit<SoakMeasure, 'name'>> = {
    'runtime RSS': { unit: 'MB', floor: 5 },
    'Azurite RSS': { unit: 'MB', floor: 5 },
    'runtime JavaScript heap': { unit: 'MB', floor: 5 },
    'namestream.db': { unit: 'MB', floor: 1 },
    'namestream.db-wal': { unit: 'MB', floor: 1 },
    'Azurite metadata (LokiJS)': { unit: 'MB', floor: 1 },
    'Azurite extents (blob content)': { unit: 'MB', floor: 1 },
    'raw-names blobs': { unit: 'blobs', floor: 0 },
    'Event Hub events retained': { unit: 'events', floor: 0 },
    'Cosmos DB documents': { unit: 'documents', floor: 0 },
};

describe('the verdict on recorded soaks (samples copied from five runs of the bench, 2026-11-30)', () => {
    const recorded = JSON.parse(
        readFileSync(path.join(__dirname, 'fixtures', 'recordedSoaks.json'), 'utf8'),
    ) as RecordedSoaks;
    const run = (name: string) => recorded.runs.find((candidate) => candidate.name === name)!;
    const points = (name: string, series: string) =>
        run(name).series[series]!.map((value, i) => ({ elapsedSeconds: run(name).elapsedSeconds[i]!, value }));
    const growing = (name: string) =>
        Object.keys(run(name).series).filter((series) => {
            const { verdict } = judgeSoakSeries(points(name, series), measures[series]!.floor);
            return verdict.kind === 'still growing';
        });

    it("calls Azurite's RSS in the quiet 10-minute soak bounded, as the peak rule did not", () => {
        expect(
            soakSeriesLine(
                { name: 'Azurite RSS', ...measures['Azurite RSS']! },
                points('main 10 minutes', 'Azurite RSS'),
            ),
        ).toBe(
            '  Azurite RSS: slope 25.2 MB/min in the first half, -8.5 MB/min in the second; per quarter trough ' +
                '128.0, 188.0, 269.0, 176.0 MB, median 263.0, 282.0, 307.0, 298.0 MB, peak 378.0, 358.0, 384.0, ' +
                '447.0 MB: levelled off, bounded: swinging between 176.0 and 447.0 MB in the second half; from the ' +
                'third quarter to the fourth its trough moved -93.0 MB and its peak +63.0 MB, not both up by more ' +
                'than the tolerance of 15.4 MB',
        );
    });

    it('calls growing only what grew', () => {
        expect(Object.fromEntries(recorded.runs.map(({ name }) => [name, growing(name)]))).toEqual({
            // The pipeline fell behind (a backlog of 22,424 messages at the end) and the sweep with it.
            'fell behind': ['runtime RSS', 'Azurite RSS', 'runtime JavaScript heap', 'raw-names blobs'],
            // The sweep was too slow: Azurite kept more blobs' metadata. The blobs themselves, counted at each
            // 30-s sweep, rose only in the last two samples (8,282 to 9,842): too late for any level but the peak.
            'slow sweep': ['Azurite metadata (LokiJS)'],
            'steady state': [],
            // Five minutes did not settle Azurite's RSS (peaks 382 then 449 MB, troughs 191 then 298); ten did.
            'main 5 minutes': ['Azurite RSS'],
            'main 10 minutes': [],
        });
    });
});
