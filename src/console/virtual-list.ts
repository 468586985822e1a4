/**
 * A virtualised list of fixed-height rows: only the rows in view (plus a few either side) exist in
 * the DOM, recycled as the list scrolls; an update re-renders those rows in place on the next
 * animation frame, setting only what changed. 10,000 items cost one array and a dozen rows.
 */

export interface RowRenderer<T> {
  /** Makes an empty row (called for the pool only). */
  create(): HTMLElement;
  /** Shows `item` in `row` (a recycled row: set every field). */
  render(row: HTMLElement, item: T, index: number): void;
}

const OVERSCAN = 6;

export class VirtualList<T> {
  private items: readonly T[] = [];
  private readonly spacer: HTMLElement;
  private readonly window: HTMLElement;
  private readonly pool: HTMLElement[] = [];
  private frame = 0;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly rowHeight: number,
    private readonly renderer: RowRenderer<T>,
  ) {
    this.spacer = document.createElement('div');
    this.spacer.className = 'vl-spacer';
    this.window = document.createElement('div');
    this.window.className = 'vl-window';
    this.spacer.append(this.window);
    scroller.append(this.spacer);
    scroller.addEventListener(
      'scroll',
      () => {
        this.refresh();
      },
      { passive: true },
    );
    new ResizeObserver(() => {
      this.refresh();
    }).observe(scroller);
  }

  /** Replaces the items (the array is not copied: pass a new one for each change). */
  setItems(items: readonly T[]): void {
    this.items = items;
    this.refresh();
  }

  /** The item shown by `row` (for event delegation), or undefined. */
  itemOf(row: Element): T | undefined {
    const i = Number((row as HTMLElement).dataset.index);
    return Number.isInteger(i) ? this.items[i] : undefined;
  }

  /** Re-renders the rows in view on the next frame (at most once per frame). */
  refresh(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const total = this.items.length;
    this.spacer.style.height = `${total * this.rowHeight}px`;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / this.rowHeight) - OVERSCAN);
    const visible = Math.ceil(this.scroller.clientHeight / this.rowHeight) + 2 * OVERSCAN;
    const last = Math.min(total, first + visible);
    while (this.pool.length < last - first) {
      const row = this.renderer.create();
      row.style.height = `${this.rowHeight}px`;
      this.pool.push(row);
      this.window.append(row);
    }
    this.window.style.transform = `translateY(${first * this.rowHeight}px)`;
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k];
      if (row === undefined) continue;
      const i = first + k;
      const item = i < last ? this.items[i] : undefined;
      if (item === undefined) {
        row.hidden = true;
        continue;
      }
      row.hidden = false;
      row.dataset.index = String(i);
      this.renderer.render(row, item, i);
    }
  }
}
