import { letterCountId } from '../../domain/letterCounts/letterCountDocument';

/** A letter-count document as Stream Analytics writes it, with the id the contract derives. */
export function letterCountDoc(windowEnd: string, letter: string, count: number) {
    return { id: letterCountId(new Date(windowEnd), letter), windowEnd, letter, count };
}
