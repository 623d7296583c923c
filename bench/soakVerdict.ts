/**
 * The soak bench's verdict on one sampled series (a component's memory, file size or retained items): did it level
 * off within the run, or is it still growing? Pure: samples in, numbers and one printed line out.
 *
 * The rule (SOAK_VERDICT_RULE, which the bench prints): the run is split by time into four quarters (`elapsed <= T/4`,
 * then `(T/4, T/2]`, ..., T the last sample's time), and the band a series moves in during the third quarter is
 * compared with the fourth's: its trough (lowest sample) and its peak (highest). Both quarters are past the warm-up
 * when the retention is at most a quarter of the run (the bench's default: 60 s of a 300-s run). Still growing when
 * the trough and the peak both rose by more than the tolerance: 5 % of the third quarter's median, or the measure's
 * noise floor (for example 5 MB for a process's RSS) if that is larger. Otherwise levelled off: flat (the second half
 * within one tolerance) or bounded, swinging between the second half's lowest and highest samples. Either way the
 * line shows how the trough and the peak moved from the third quarter to the fourth, and the tolerance. Too few
 * samples when the run has fewer than 8, or a quarter fewer than 2.
 *
 * Why the band and not the peak alone (the rule before this one): memory is a garbage-collection sawtooth, and a
 * quarter's peak is wherever the sampler caught the top of a tooth. In a 10-minute quiet soak Azurite's RSS swung
 * between about 180 and 450 MB with no trend, and one spike to 447 MB in the last quarter (the third's peak: 384 MB)
 * made the peak rule print "still growing", though its trough fell from 269 to 176 MB. Nor the trough alone: the
 * RSS's floor creeps up towards a ceiling it never passes (the runtime's RSS in the same soak: troughs 417 then
 * 458 MB, peaks 628 then 620 MB). A leak lifts the floor and the ceiling together. Nor the median, although it is
 * printed: it moves with the sawtooth's phase (how much of a tooth a quarter holds), by more than a slow growth
 * moves it (the runtime's heap in the same soak: medians 284, 255, 222 MB with flat troughs and peaks).
 *
 * What it cannot see: a growth slower than the tolerance per quarter (for a 5-minute run, 4 % of the level a minute;
 * for a 10-minute run, 2 %), and a sawtooth whose teeth are longer than a quarter (one tooth rising across the
 * second half reads as growth; five minutes did not settle Azurite's RSS, ten did): run longer. The 5 % comes from
 * five recorded soaks (test/bench/fixtures, described in docs/local-runtime.md#benchmark). Of the thirty series of
 * the three runs the docs found bounded (one of 10 minutes, two of 5) it calls one growing: Azurite's RSS in the
 * 5-minute run on `main` (troughs 191 then 298 MB, peaks 382 then 449 MB; the 10-minute run then showed it bounded).
 * In the run that fell behind it calls the runtime's RSS and heap, Azurite's RSS and the retained blobs growing, and
 * in the run whose blob sweep was too slow, Azurite's metadata; 10 % would miss three of the first run's four. It
 * misses the slow sweep's blobs: their count (taken at each 30-s sweep) rose only in the last two samples.
 */

/** One sample of one series: seconds since the soak started, and the value in the measure's unit. */
export interface SoakPoint {
    elapsedSeconds: number;
    value: number;
}

/** What a series measures: its printed name, its unit (`MB` prints one decimal, any other unit whole numbers). */
export interface SoakMeasure {
    name: string;
    unit: string;
    /** The smallest change, in the unit, that is not noise (for example 5 MB for a process's RSS, 0 for a count). */
    floor: number;
}

/** Lowest, median and highest sample of one quarter of the run. */
export interface QuarterLevels {
    trough: number;
    median: number;
    peak: number;
}

export type SoakVerdict =
    | { kind: 'too few samples'; samples: number; perQuarter: number[] }
    | {
          kind: 'still growing';
          /** Fourth quarter's trough and peak minus the third's, in the unit. */
          rise: { trough: number; peak: number };
          tolerance: number;
      }
    | {
          kind: 'levelled off';
          /** flat: the second half within one tolerance; bounded: a wider swing, its trough and peak not both rising. */
          shape: 'flat' | 'bounded';
          /** The second half's lowest, median and highest sample. */
          low: number;
          median: number;
          high: number;
          /** Fourth quarter's trough and peak minus the third's, in the unit (printed with the verdict). */
          rise: { trough: number; peak: number };
          tolerance: number;
      };

export interface SoakJudgement {
    /** Least-squares slope per minute over each half of the run (unit per minute): shown, not judged. */
    slopes: { firstHalf: number; secondHalf: number };
    /** Trough, median and peak of each quarter; undefined for a quarter without samples. */
    quarters: Array<QuarterLevels | undefined>;
    verdict: SoakVerdict;
}

/** The share of the third quarter's median the fourth quarter's trough and peak must each rise by to be growth. */
export const SOAK_GROWTH_TOLERANCE = 0.05;
export const SOAK_MIN_SAMPLES = 8;
export const SOAK_MIN_SAMPLES_PER_QUARTER = 2;

/** The rule in one sentence, for the bench to print above the verdicts. */
export const SOAK_VERDICT_RULE =
    `verdict: "still growing" when, from the third quarter to the fourth, the trough (lowest sample) and the peak ` +
    `both rose by more than ${SOAK_GROWTH_TOLERANCE * 100} % of the third quarter's median (or the measure's noise ` +
    `floor); otherwise "levelled off": flat, or bounded between the second half's lowest and highest samples (a ` +
    `garbage-collection sawtooth moves its trough or its peak, a leak lifts both; the median is shown, not judged)`;

/**
 * Judges one series by the rule above.
 * @param points samples in time order (elapsedSeconds rising); the sampler's first is taken a few seconds in
 * @param floor the measure's noise floor, in the unit, at least 0
 * @throws RangeError when floor is negative or a sample is not a finite number (quoting it)
 */
export function judgeSoakSeries(points: readonly SoakPoint[], floor: number): SoakJudgement {
    if (!(floor >= 0)) {
        throw new RangeError(`the noise floor must be a number at least 0 (got ${String(floor)})`);
    }
    const bad = points.find((point) => !Number.isFinite(point.elapsedSeconds) || !Number.isFinite(point.value));
    if (bad) {
        throw new RangeError(`a soak sample must have finite numbers (got ${JSON.stringify(bad)})`);
    }
    const end = points.at(-1)?.elapsedSeconds ?? 0;
    const firstHalf = points.filter((point) => point.elapsedSeconds < end / 2);
    const secondHalf = points.filter((point) => point.elapsedSeconds >= end / 2);
    const byQuarter = [1, 2, 3, 4].map((n) =>
        points
            .filter(
                (point) =>
                    (n === 1 || point.elapsedSeconds > ((n - 1) * end) / 4) && point.elapsedSeconds <= (n * end) / 4,
            )
            .map((point) => point.value),
    );
    const quarters = byQuarter.map((values) => (values.length > 0 ? levels(values) : undefined));
    const slopes = { firstHalf: slopePerMinute(firstHalf), secondHalf: slopePerMinute(secondHalf) };
    const perQuarter = byQuarter.map((values) => values.length);
    if (points.length < SOAK_MIN_SAMPLES || perQuarter.some((count) => count < SOAK_MIN_SAMPLES_PER_QUARTER)) {
        return { slopes, quarters, verdict: { kind: 'too few samples', samples: points.length, perQuarter } };
    }
    const third = quarters[2]!;
    const fourth = quarters[3]!;
    const tolerance = Math.max(SOAK_GROWTH_TOLERANCE * Math.abs(third.median), floor);
    const rise = { trough: fourth.trough - third.trough, peak: fourth.peak - third.peak };
    if (rise.trough > tolerance && rise.peak > tolerance) {
        return { slopes, quarters, verdict: { kind: 'still growing', rise, tolerance } };
    }
    const { trough: low, median, peak: high } = levels(secondHalf.map((point) => point.value));
    return {
        slopes,
        quarters,
        verdict: {
            kind: 'levelled off',
            shape: high - low <= tolerance ? 'flat' : 'bounded',
            low,
            median,
            high,
            rise,
            tolerance,
        },
    };
}

/**
 * The bench's line for one series: slopes per half, trough/median/peak per quarter, and the verdict with the
 * numbers it rests on, for example
 * `  Azurite RSS: slope 25.2 MB/min in the first half, -8.5 MB/min in the second; per quarter trough ..., median ...,
 * peak ...: levelled off, bounded: swinging between 176.0 and 447.0 MB in the second half; from the third quarter to
 * the fourth its trough moved -93.0 MB and its peak +63.0 MB, not both up by more than the tolerance of 15.4 MB`.
 */
export function soakSeriesLine(measure: SoakMeasure, points: readonly SoakPoint[]): string {
    const { slopes, quarters, verdict } = judgeSoakSeries(points, measure.floor);
    const value = (number: number) => formatValue(number, measure.unit);
    const list = (pick: (levels: QuarterLevels) => number) =>
        quarters.map((quarter) => (quarter ? formatNumber(pick(quarter), measure.unit) : '-')).join(', ');
    const unit = ` ${measure.unit}`;
    const head =
        `  ${measure.name}: slope ${value(slopes.firstHalf)}/min in the first half, ${value(slopes.secondHalf)}/min ` +
        `in the second; per quarter trough ${list((q) => q.trough)}${unit}, median ${list((q) => q.median)}${unit}, ` +
        `peak ${list((q) => q.peak)}${unit}: `;
    switch (verdict.kind) {
        case 'too few samples':
            return (
                head +
                `too few samples to judge (${verdict.samples}, ${verdict.perQuarter.join(', ')} per quarter; ` +
                `at least ${SOAK_MIN_SAMPLES}, ${SOAK_MIN_SAMPLES_PER_QUARTER} in each quarter)`
            );
        case 'still growing':
            return (
                head +
                `still growing: ${changes(verdict, value)}, both up by more than the tolerance of ${value(verdict.tolerance)}`
            );
        case 'levelled off':
            return (
                head +
                (verdict.shape === 'flat'
                    ? `levelled off, flat at about ${value(verdict.median)} (${formatNumber(verdict.low, measure.unit)} to ${value(verdict.high)} in the second half)`
                    : `levelled off, bounded: swinging between ${formatNumber(verdict.low, measure.unit)} and ${value(verdict.high)} in the second half`) +
                // The changes the verdict rests on, so that a growth slower than the tolerance, or a step longer than
                // a quarter (a count updated every 30 s), shows next to "levelled off" rather than hiding behind it.
                `; ${changes(verdict, value)}, not both up by more than the tolerance of ${value(verdict.tolerance)}`
            );
    }
}

function changes(verdict: { rise: { trough: number; peak: number } }, value: (number: number) => string): string {
    const signed = (number: number) => (value(number).startsWith('0') || number < 0 ? '' : '+') + value(number);
    return `from the third quarter to the fourth its trough moved ${signed(verdict.rise.trough)} and its peak ${signed(verdict.rise.peak)}`;
}

/** A value with its unit: MB with one decimal, anything else as a whole number with thousands separators. */
export function formatValue(value: number, unit: string): string {
    return `${formatNumber(value, unit)} ${unit}`;
}

function formatNumber(value: number, unit: string): string {
    // A value that rounds to zero prints as 0, not -0.0 (toFixed keeps the sign of -0.04; + 0 turns -0 into 0).
    return unit === 'MB'
        ? (Math.round(value * 10) / 10 + 0).toFixed(1)
        : (Math.round(value) + 0).toLocaleString('en-US');
}

function levels(values: number[]): QuarterLevels {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return {
        trough: sorted[0]!,
        median: sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2,
        peak: sorted.at(-1)!,
    };
}

/** Least-squares slope of value against minutes (units per minute); 0 for fewer than two samples. */
export function slopePerMinute(points: readonly SoakPoint[]): number {
    if (points.length < 2) {
        return 0;
    }
    const xs = points.map((point) => point.elapsedSeconds / 60);
    const ys = points.map((point) => point.value);
    const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
    const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
    return (
        xs.reduce((sum, x, i) => sum + (x - meanX) * (ys[i]! - meanY), 0) /
        (xs.reduce((sum, x) => sum + (x - meanX) ** 2, 0) || 1)
    );
}
