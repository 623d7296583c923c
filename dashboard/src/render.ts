import type { ConnectionState } from './connection';
import { formatAge, formatRate, formatWindowCount, formatWindowTime, HEAT_LEVELS, heatLevel } from './format';
import { ALPHABET, bucketLabel, type StoredWindow, type Totals } from './windowStore';

export interface DashboardModel {
    windows: StoredWindow[];
    totals: Totals;
}

const STATE_TEXT: Record<ConnectionState, string> = {
    connecting: 'Connecting…',
    connected: 'Connected',
    reconnecting: 'Reconnecting…',
    disconnected: 'Disconnected',
};

/**
 * Writes the dashboard into the page's fixed skeleton (index.html). Everything is plain DOM: the bar chart is a list
 * and the heatmap a table, so screen readers and the browser test read the same numbers people see, through
 * stable `data-*` attributes. Only text and CSSOM properties are set, never HTML, which the CSP also demands.
 */
export class DashboardView {
    readonly #doc: Document;

    constructor(doc: Document) {
        this.#doc = doc;
    }

    render(model: DashboardModel): void {
        this.#renderTotals(model);
        this.#renderLatest(model.windows.at(-1));
        this.#renderHeatmap(model);
    }

    renderState(state: ConnectionState, detail?: string): void {
        const element = this.#byId('connection');
        element.dataset.connectionState = state;
        this.#byId('connection-text').textContent = STATE_TEXT[state];
        element.title = detail ?? '';
    }

    renderAge(lastUpdateMs: number | undefined, nowMs: number): void {
        const element = this.#byId('last-update');
        element.dataset.lastUpdateMs = lastUpdateMs === undefined ? '' : String(lastUpdateMs);
        element.textContent = formatAge(lastUpdateMs === undefined ? undefined : nowMs - lastUpdateMs);
    }

    #renderTotals({ windows, totals }: DashboardModel): void {
        this.#setValue('total-names', totals.names, String(totals.names));
        this.#setValue('names-per-minute', totals.namesPerMinute, formatRate(totals.namesPerMinute));
        this.#setValue('latest-window-names', totals.latestWindowNames, String(totals.latestWindowNames));
        this.#byId('windows-held').textContent = formatWindowCount(windows.length);
    }

    #renderLatest(latest: StoredWindow | undefined): void {
        const list = this.#byId('bars');
        this.#byId('latest-empty').hidden = latest !== undefined;
        if (!latest) {
            return;
        }
        const start = Date.parse(latest.windowStart);
        this.#byId('latest-range').textContent = `${formatWindowTime(start)}–${formatWindowTime(latest.windowEndMs)}`;
        list.dataset.windowEnd = latest.windowEnd;
        const max = Math.max(1, ...latest.counts.values());
        if (list.children.length !== ALPHABET.length) {
            list.replaceChildren(...ALPHABET.map((letter) => this.#barItem(letter)));
        }
        ALPHABET.forEach((letter, index) => {
            const count = latest.counts.get(letter) ?? 0;
            const item = list.children[index] as HTMLElement;
            item.dataset.count = String(count);
            (item.querySelector('.bar-value') as HTMLElement).textContent = String(count);
            (item.querySelector('.bar-fill') as HTMLElement).style.setProperty('--fraction', String(count / max));
        });
    }

    #barItem(letter: string): HTMLLIElement {
        const item = this.#doc.createElement('li');
        item.dataset.letter = letter;
        // Reading order is "A: 12 names"; CSS `order` puts the value above the bar and the letter below it.
        const label = this.#element('span', 'bar-label', bucketLabel(letter));
        label.append(this.#element('span', 'visually-hidden', ': '));
        const track = this.#element('span', 'bar-track');
        track.setAttribute('aria-hidden', 'true');
        track.append(this.#element('span', 'bar-fill'));
        item.append(
            label,
            this.#element('span', 'bar-value'),
            this.#element('span', 'visually-hidden', ' names'),
            track,
        );
        return item;
    }

    #renderHeatmap({ windows, totals }: DashboardModel): void {
        const table = this.#byId('heatmap') as HTMLTableElement;
        if (table.tHead && table.tHead.rows.length === 0) {
            const row = table.tHead.insertRow();
            row.append(this.#element('th', undefined, 'Window end'));
            (row.lastChild as HTMLElement).setAttribute('scope', 'col');
            for (const letter of ALPHABET) {
                const th = this.#element('th', undefined, bucketLabel(letter));
                th.setAttribute('scope', 'col');
                row.append(th);
            }
        }
        const max = Math.max(0, ...windows.flatMap((window) => [...window.counts.values()]));
        const body = table.tBodies[0]!;
        const rows = [...windows].reverse().map((window) => {
            const row = this.#doc.createElement('tr');
            row.dataset.windowEnd = window.windowEnd;
            const header = this.#element('th', undefined, formatWindowTime(window.windowEndMs));
            header.setAttribute('scope', 'row');
            row.append(header);
            for (const letter of ALPHABET) {
                const count = window.counts.get(letter) ?? 0;
                const cell = this.#element('td', `heat-${heatLevel(count, max, HEAT_LEVELS)}`, String(count));
                cell.dataset.letter = letter;
                cell.dataset.count = String(count);
                row.append(cell);
            }
            return row;
        });
        body.replaceChildren(...rows);

        const foot = table.tFoot!;
        const totalRow = this.#doc.createElement('tr');
        const header = this.#element('th', undefined, 'Total');
        header.setAttribute('scope', 'row');
        totalRow.append(header);
        for (const letter of ALPHABET) {
            const count = totals.byLetter.get(letter) ?? 0;
            const cell = this.#element('td', undefined, String(count));
            cell.dataset.letter = letter;
            cell.dataset.total = String(count);
            totalRow.append(cell);
        }
        foot.replaceChildren(totalRow);
    }

    #setValue(id: string, value: number, text: string): void {
        const element = this.#byId(id);
        element.dataset.value = String(value);
        element.textContent = text;
    }

    #element<K extends keyof HTMLElementTagNameMap>(
        tag: K,
        className?: string,
        text?: string,
    ): HTMLElementTagNameMap[K] {
        const element = this.#doc.createElement(tag);
        if (className) {
            element.className = className;
        }
        if (text !== undefined) {
            element.textContent = text;
        }
        return element;
    }

    #byId(id: string): HTMLElement {
        const element = this.#doc.getElementById(id);
        if (!element) {
            throw new Error(`The page has no element with id "${id}" (index.html and render.ts disagree)`);
        }
        return element;
    }
}
