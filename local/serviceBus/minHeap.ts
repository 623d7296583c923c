/**
 * A binary min-heap. The broker keeps lock deadlines, expiry instants and redelivered messages in heaps so every
 * operation stays O(log n) however deep the queue gets; callers delete lazily (skip stale entries on pop) and call
 * `retain` now and then so settled messages do not pin memory.
 */
export class MinHeap<T> {
    private items: T[] = [];

    constructor(private readonly isBefore: (a: T, b: T) => boolean) {}

    get size(): number {
        return this.items.length;
    }

    peek(): T | undefined {
        return this.items[0];
    }

    push(item: T): void {
        this.items.push(item);
        this.siftUp(this.items.length - 1);
    }

    pop(): T | undefined {
        const items = this.items;
        const top = items[0];
        const last = items.pop();
        if (items.length > 0 && last !== undefined) {
            items[0] = last;
            this.siftDown(0);
        }
        return top;
    }

    /** Keeps only the entries that are still live, rebuilding the heap in O(n). */
    retain(isLive: (item: T) => boolean): void {
        this.items = this.items.filter(isLive);
        for (let index = (this.items.length >> 1) - 1; index >= 0; index--) {
            this.siftDown(index);
        }
    }

    private siftUp(start: number): void {
        const items = this.items;
        const item = items[start] as T;
        let index = start;
        while (index > 0) {
            const parentIndex = (index - 1) >> 1;
            const parent = items[parentIndex] as T;
            if (!this.isBefore(item, parent)) {
                break;
            }
            items[index] = parent;
            index = parentIndex;
        }
        items[index] = item;
    }

    private siftDown(start: number): void {
        const items = this.items;
        const length = items.length;
        const item = items[start] as T;
        let index = start;
        for (;;) {
            const left = 2 * index + 1;
            if (left >= length) {
                break;
            }
            const right = left + 1;
            const smaller = right < length && this.isBefore(items[right] as T, items[left] as T) ? right : left;
            const child = items[smaller] as T;
            if (!this.isBefore(child, item)) {
                break;
            }
            items[index] = child;
            index = smaller;
        }
        items[index] = item;
    }
}
