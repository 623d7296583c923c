/**
 * An array-backed FIFO with O(1) amortised shift: consumed slots are dropped in one splice once they make up half the
 * array, instead of `Array.prototype.shift` re-indexing the whole backlog on every receive.
 */
export class FifoQueue<T> {
    private items: (T | undefined)[] = [];
    private head = 0;

    get size(): number {
        return this.items.length - this.head;
    }

    peek(): T | undefined {
        return this.items[this.head];
    }

    push(item: T): void {
        this.items.push(item);
    }

    shift(): T | undefined {
        if (this.head >= this.items.length) {
            return undefined;
        }
        const item = this.items[this.head];
        this.items[this.head] = undefined;
        this.head++;
        if (this.head >= 1024 && this.head * 2 >= this.items.length) {
            this.items = this.items.slice(this.head);
            this.head = 0;
        }
        return item;
    }
}
