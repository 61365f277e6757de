/**
 * RunsModel: the runs table's state (query, pages, selection, columns), kept fresh by a
 * Poll. Views render from it and call its methods; it knows nothing about React.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { ServerConnection } from '@jupyterlab/services';

import {
  errorMessage,
  listExperiments,
  listRuns,
  retryWhileBusy,
  RUNS_PAGE_SIZE,
  StoreBusyError
} from './api';
import { IExperiment, IRun, IRunColumns, IRunsQuery, IRunsReply } from './tokens';

/** A sort direction of the order_by clause. */
export type SortDirection = 'ASC' | 'DESC';

/** The column the table is ordered by. */
export interface ISort {
  /** An order_by key: `attributes.start_time`, `metrics.rmse`, ``params.`a b` ``. */
  key: string;
  direction: SortDirection;
}

/** How a click changes the selection. */
export interface ISelectModifiers {
  /** Ctrl/Cmd: add or remove one row, or add a range to the selection. */
  toggle: boolean;
  /** Shift: select from the last clicked row to this one. */
  range: boolean;
}

/** How many param and metric columns are shown before the user chooses. */
const DEFAULT_VISIBLE_COLUMNS = 3;

/**
 * The runs shown in the side panel.
 *
 * Runs are held as sparse pages of {@link RUNS_PAGE_SIZE}: the table reports which rows
 * are on screen and only those pages are fetched, so 10,000 runs cost a few requests.
 * The poll re-fetches the pages on screen every 2 s (backing off on errors, standing by
 * while the browser tab is hidden); when the total changes, pages off screen are dropped
 * because their offsets may have shifted, and are fetched again when scrolled to.
 * While another process holds the store the server answers "busy": that is no error,
 * the model sets {@link busy} and asks again after the server's Retry-After.
 */
export class RunsModel {
  /**
   * Create a model; polling starts at once.
   *
   * @param options - Poll interval (ms), mainly for tests.
   */
  constructor(options: RunsModel.IOptions = {}) {
    this._poll = new Poll({
      auto: options.auto ?? true,
      factory: () => this._tick(),
      frequency: { interval: options.interval ?? 2000, backoff: true, max: 60 * 1000 },
      name: 'jupyterlab-workbench:runs',
      // Stand by while the panel is collapsed or the browser tab is hidden.
      standby: () => (options.isActive && !options.isActive()) || 'when-hidden'
    });
  }

  /** Emitted whenever anything a view shows has changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Whether {@link dispose} has been called. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Increases each time a new query is committed (views scroll back to the top). */
  get generation(): number {
    return this._generation;
  }

  /** The query the rows were fetched with (the last one the server accepted). */
  get query(): Readonly<IRunsQuery> {
    return this._query;
  }

  /**
   * The query most recently asked for: differs from {@link query} while it loads, so
   * controls show the user's choice at once.
   */
  get requestedQuery(): Readonly<IRunsQuery> {
    return this._requested;
  }

  /** The table's sort column, or null for the server's order (newest first). */
  get sort(): ISort | null {
    return this._sort;
  }

  /** The server's message for the last filter that was refused, else null. */
  get filterError(): string | null {
    return this._filterError;
  }

  /** A message when the server could not be reached or failed, else null. */
  get error(): string | null {
    return this._error;
  }

  /** Whether the store was busy on the last request; the model retries on its own. */
  get busy(): boolean {
    return this._busy;
  }

  /** Whether the first page of the current query has arrived. */
  get isLoaded(): boolean {
    return this._loaded;
  }

  /** The number of runs matching the query. */
  get total(): number {
    return this._total;
  }

  /** Param and metric names occurring in the query's runs. */
  get columns(): IRunColumns {
    return this._columns;
  }

  /** The experiments of the store, for the selector. */
  get experiments(): ReadonlyArray<IExperiment> {
    return this._experiments;
  }

  /** The param columns shown, in the server's column order. */
  get visibleParams(): ReadonlyArray<string> {
    return this._columns.params.filter(name => this._shownParams.has(name));
  }

  /** The metric columns shown, in the server's column order. */
  get visibleMetrics(): ReadonlyArray<string> {
    return this._columns.metrics.filter(name => this._shownMetrics.has(name));
  }

  /** Selected run ids, in the order they were selected. */
  get selection(): ReadonlyArray<string> {
    return this._selection;
  }

  /**
   * The run at a row index, if its page has been fetched.
   *
   * @param index - Row index in the whole query result.
   * @returns The run, or undefined while its page is loading.
   */
  runAt(index: number): IRun | undefined {
    const page = this._pages.get(Math.floor(index / RUNS_PAGE_SIZE));
    return page?.[index % RUNS_PAGE_SIZE];
  }

  /**
   * A fetched run by id (from any loaded page).
   *
   * @param runId - The run id.
   * @returns The run, or undefined when it is not on a loaded page.
   */
  runById(runId: string): IRun | undefined {
    for (const page of this._pages.values()) {
      const run = page.find(r => r.run_id === runId);
      if (run) {
        return run;
      }
    }
    return undefined;
  }

  /**
   * Whether a run is selected.
   *
   * @param runId - The run id.
   * @returns True when selected.
   */
  isSelected(runId: string): boolean {
    return this._selected.has(runId);
  }

  /**
   * Whether a run is known to be soft-deleted (from its row, its detail, or an action
   * taken here); rows only carry the flag if the server sends it.
   *
   * @param runId - The run id.
   * @returns True when deleted.
   */
  isDeleted(runId: string): boolean {
    return this._deleted.get(runId) ?? this.runById(runId)?.deleted ?? false;
  }

  /**
   * Record that runs were deleted or restored, so actions on them enable correctly.
   *
   * @param runIds - The run ids.
   * @param deleted - Their new state.
   */
  markDeleted(runIds: ReadonlyArray<string>, deleted: boolean): void {
    let changed = false;
    for (const id of runIds) {
      if (this._deleted.get(id) !== deleted) {
        this._deleted.set(id, deleted);
        changed = true;
      }
    }
    if (changed) {
      this._changed.emit();
    }
  }

  /**
   * Apply a filter; the rows change only if the server accepts it.
   *
   * @param filter - MLflow search syntax; empty for all runs.
   * @returns Resolves when the first page of the new query is shown or refused.
   */
  setFilter(filter: string): Promise<void> {
    return this._setQuery({ filter: filter.trim() });
  }

  /**
   * Show one experiment's runs.
   *
   * @param experiment - The experiment name; empty for all.
   * @returns Resolves when the first page is shown.
   */
  setExperiment(experiment: string): Promise<void> {
    return this._setQuery({ experiment });
  }

  /**
   * Include soft-deleted runs (so they can be restored).
   *
   * @param deleted - Whether to include them.
   * @returns Resolves when the first page is shown.
   */
  setShowDeleted(deleted: boolean): Promise<void> {
    return this._setQuery({ deleted });
  }

  /**
   * Order by a column: the same key again flips ASC/DESC; null restores newest first.
   *
   * @param key - An order_by key, or null.
   * @returns Resolves when the first page is shown.
   */
  toggleSort(key: string | null): Promise<void> {
    let sort: ISort | null = null;
    if (key !== null) {
      const direction: SortDirection =
        this._sort?.key === key && this._sort.direction === 'ASC' ? 'DESC' : 'ASC';
      sort = { key, direction };
    }
    const order_by = sort ? `${sort.key} ${sort.direction}` : '';
    return this._setQuery({ order_by }).then(() => {
      if (this._query.order_by === order_by) {
        this._sort = sort;
        this._changed.emit();
      }
    });
  }

  /**
   * Show or hide a param or metric column.
   *
   * @param kind - `params` or `metrics`.
   * @param name - The param or metric name.
   * @param visible - Whether to show it.
   */
  setColumnVisible(kind: keyof IRunColumns, name: string, visible: boolean): void {
    const set = kind === 'params' ? this._shownParams : this._shownMetrics;
    if (visible) {
      set.add(name);
    } else {
      set.delete(name);
    }
    this._columnsChosen = true;
    this._changed.emit();
  }

  /**
   * Tell the model which rows are on screen, so it fetches their pages.
   *
   * @param start - First visible row index.
   * @param end - One past the last visible row index.
   */
  setVisibleRange(start: number, end: number): void {
    this._visible = { start, end: Math.max(start, end) };
    if (!this._loaded) {
      return; // The first query's reply brings page 0 and asks again.
    }
    for (const page of this._pagesInView()) {
      if (!this._pages.has(page) && !this._inflight.has(page)) {
        void this._loadPage(page);
      }
    }
  }

  /**
   * Change the selection the way a click on a row does.
   *
   * @param index - The clicked row.
   * @param modifiers - Ctrl/Cmd (toggle) and Shift (range).
   */
  select(index: number, modifiers: ISelectModifiers): void {
    const run = this.runAt(index);
    if (!run) {
      return;
    }
    if (modifiers.range && this._anchor !== null) {
      const lo = Math.min(this._anchor, index);
      const hi = Math.max(this._anchor, index);
      // Only fetched rows can be selected; a range over rows still loading skips them.
      const ids: string[] = [];
      for (let i = lo; i <= hi; i++) {
        const r = this.runAt(i);
        if (r) {
          ids.push(r.run_id);
        }
      }
      this._replaceSelection(modifiers.toggle ? [...this._selection, ...ids] : ids);
      return;
    }
    this._anchor = index;
    if (modifiers.toggle) {
      this._replaceSelection(
        this._selected.has(run.run_id)
          ? this._selection.filter(id => id !== run.run_id)
          : [...this._selection, run.run_id]
      );
    } else {
      this._replaceSelection([run.run_id]);
    }
  }

  /**
   * Select exactly these runs.
   *
   * @param runIds - The run ids; an empty list clears the selection.
   */
  setSelection(runIds: ReadonlyArray<string>): void {
    this._anchor = null;
    this._replaceSelection([...runIds]);
  }

  /**
   * Fetch the visible pages and the experiments now, instead of waiting for the poll.
   *
   * @returns Resolves when the refresh has been scheduled.
   */
  refresh(): Promise<void> {
    this._experimentsStale = true;
    return this._poll.refresh();
  }

  /**
   * Every run matching the current query, fetched page by page (for the CSV export).
   *
   * @returns The runs in table order (waiting out a busy store).
   * @throws {ServerConnection.ResponseError} When a page fails.
   */
  async fetchAll(): Promise<IRun[]> {
    const q = { ...this._query };
    const runs: IRun[] = [];
    for (;;) {
      const offset = runs.length;
      const reply = await retryWhileBusy(() => listRuns(q, offset, RUNS_PAGE_SIZE));
      runs.push(...reply.runs);
      if (reply.runs.length === 0 || runs.length >= reply.total) {
        return runs;
      }
    }
  }

  /** Stop polling and disconnect every listener. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _replaceSelection(ids: string[]): void {
    const unique = [...new Set(ids)];
    this._selection = unique;
    this._selected = new Set(unique);
    this._changed.emit();
  }

  private _pagesInView(): number[] {
    const total = Math.max(this._total, 1);
    const first = Math.min(this._visible.start, total - 1);
    const last = Math.max(first, Math.min(this._visible.end, total) - 1);
    const pages: number[] = [];
    for (let p = Math.floor(first / RUNS_PAGE_SIZE); p <= Math.floor(last / RUNS_PAGE_SIZE); p++) {
      pages.push(p);
    }
    return pages;
  }

  /** Fetch the first page of a changed query; commit the query only if it is accepted. */
  private async _setQuery(change: Partial<IRunsQuery>): Promise<void> {
    const candidate: IRunsQuery = { ...this._query, ...change };
    const ticket = ++this._queryTicket;
    const isStale = (): boolean => ticket !== this._queryTicket || this._isDisposed;
    this._requested = candidate;
    this._changed.emit();
    let reply: IRunsReply;
    try {
      reply = await retryWhileBusy(
        () => listRuns(candidate, 0, RUNS_PAGE_SIZE),
        () => {
          if (isStale()) {
            return false; // A newer query replaced this one: stop asking.
          }
          this._setBusy();
          return true;
        }
      );
    } catch (error) {
      if (isStale()) {
        return;
      }
      this._busy = false;
      this._requested = this._query;
      if (error instanceof ServerConnection.ResponseError && error.response.status === 400) {
        // Shown under the filter box; the table keeps the last accepted query's rows.
        this._filterError = error.message;
      } else {
        this._error = errorMessage(error);
      }
      this._changed.emit();
      return;
    }
    if (isStale()) {
      return;
    }
    this._query = candidate;
    this._generation++;
    this._pages = new Map([[0, reply.runs]]);
    this._signatures = new Map([[0, JSON.stringify(reply.runs)]]);
    this._inflight.clear();
    this._filterError = null;
    this._error = null;
    this._busy = false;
    this._loaded = true;
    this._total = reply.total;
    this._setColumns(reply.columns);
    // The view jumps back to the top for a new query: fetch what will be on screen
    // there, not what was on screen at the old scroll position.
    const span = this._visible.end - this._visible.start;
    this._visible = { start: 0, end: span };
    this._changed.emit();
    this.setVisibleRange(0, span);
  }

  private async _loadPage(page: number): Promise<void> {
    const generation = this._generation;
    const request = listRuns(this._query, page * RUNS_PAGE_SIZE, RUNS_PAGE_SIZE).then(
      reply => {
        if (generation !== this._generation || this._isDisposed) {
          return;
        }
        this._apply(new Map([[page, reply]]));
      },
      (error: unknown) => {
        if (generation !== this._generation || this._isDisposed) {
          return;
        }
        if (error instanceof StoreBusyError) {
          // The next poll tick fetches the pages on screen again.
          this._setBusy();
          return;
        }
        this._error = errorMessage(error);
        this._changed.emit();
      }
    );
    this._inflight.set(page, request);
    try {
      await request;
    } finally {
      if (this._inflight.get(page) === request) {
        this._inflight.delete(page);
      }
    }
  }

  /** One poll tick: re-fetch what is on screen (and the experiments when stale). */
  private async _tick(): Promise<void> {
    if (!this._loaded) {
      // First tick, or every query so far failed: start from the current query.
      await this._setQuery({});
      await this._refreshExperiments();
      if (this._error) {
        throw new Error(this._error);
      }
      return;
    }
    const generation = this._generation;
    const pages = this._pagesInView();
    let replies: IRunsReply[];
    try {
      replies = await Promise.all(
        pages.map(p => listRuns(this._query, p * RUNS_PAGE_SIZE, RUNS_PAGE_SIZE))
      );
    } catch (error) {
      if (this._isDisposed) {
        return;
      }
      if (error instanceof StoreBusyError) {
        this._setBusy();
        // The next tick comes when the server asks, not after the poll's backoff.
        void this._poll.schedule({ interval: error.retryAfter * 1000, phase: 'rejected' });
        return;
      }
      this._error = errorMessage(error);
      this._changed.emit();
      throw error; // Makes the poll back off.
    }
    if (generation !== this._generation || this._isDisposed) {
      return;
    }
    const totalBefore = this._total;
    this._apply(new Map(pages.map((p, i) => [p, replies[i]])));
    if (this._total !== totalBefore || this._experimentsStale) {
      await this._refreshExperiments();
    }
  }

  /** Store fetched pages; emit only when something visible changed. */
  private _apply(replies: Map<number, IRunsReply>): void {
    let changed = this._error !== null || this._busy;
    this._error = null;
    this._busy = false;
    for (const [page, reply] of replies) {
      if (reply.total !== this._total) {
        // Offsets of the other pages may have shifted: drop them, refetch on demand.
        for (const p of [...this._pages.keys()]) {
          if (!replies.has(p)) {
            this._pages.delete(p);
            this._signatures.delete(p);
          }
        }
        this._total = reply.total;
        changed = true;
      }
      const signature = JSON.stringify(reply.runs);
      if (this._signatures.get(page) !== signature) {
        this._pages.set(page, reply.runs);
        this._signatures.set(page, signature);
        changed = true;
      }
      changed = this._setColumns(reply.columns) || changed;
    }
    if (changed) {
      this._changed.emit();
    }
  }

  /** Show "store busy" instead of an error until the next answer. */
  private _setBusy(): void {
    if (!this._busy || this._error !== null) {
      this._busy = true;
      this._error = null;
      this._changed.emit();
    }
  }

  /** Take the server's column names; returns whether they changed. */
  private _setColumns(columns: IRunColumns): boolean {
    const same =
      columns.params.join('\u0000') === this._columns.params.join('\u0000') &&
      columns.metrics.join('\u0000') === this._columns.metrics.join('\u0000');
    if (same) {
      return false;
    }
    this._columns = columns;
    if (!this._columnsChosen) {
      this._shownParams = new Set(columns.params.slice(0, DEFAULT_VISIBLE_COLUMNS));
      this._shownMetrics = new Set(columns.metrics.slice(0, DEFAULT_VISIBLE_COLUMNS));
    }
    return true;
  }

  private async _refreshExperiments(): Promise<void> {
    try {
      const reply = await listExperiments();
      this._experimentsStale = false;
      if (JSON.stringify(reply.experiments) !== JSON.stringify(this._experiments)) {
        this._experiments = reply.experiments;
        this._changed.emit();
      }
    } catch (error) {
      // The runs query reports connection problems (and a busy store, which the next
      // tick outlasts); a failed list only keeps the old one.
      if (!(error instanceof StoreBusyError)) {
        console.warn('Workbench: could not list experiments', error);
      }
    }
  }

  private _anchor: number | null = null;
  private _busy = false;
  private _changed = new Signal<this, void>(this);
  private _columns: IRunColumns = { params: [], metrics: [] };
  private _columnsChosen = false;
  private _deleted = new Map<string, boolean>();
  private _error: string | null = null;
  private _experiments: IExperiment[] = [];
  private _experimentsStale = true;
  private _filterError: string | null = null;
  private _generation = 0;
  private _inflight = new Map<number, Promise<void>>();
  private _isDisposed = false;
  private _loaded = false;
  private _pages = new Map<number, IRun[]>();
  private _poll: Poll;
  private _query: IRunsQuery = { filter: '', order_by: '', experiment: '', deleted: false };
  private _queryTicket = 0;
  private _requested: IRunsQuery = this._query;
  private _selected = new Set<string>();
  private _selection: string[] = [];
  private _shownMetrics = new Set<string>();
  private _shownParams = new Set<string>();
  private _signatures = new Map<number, string>();
  private _sort: ISort | null = null;
  private _total = 0;
  private _visible = { start: 0, end: RUNS_PAGE_SIZE };
}

/**
 * The RunsModel statics.
 */
export namespace RunsModel {
  /** Options of the model. */
  export interface IOptions {
    /** Poll interval in ms; 2000 by default. */
    interval?: number;
    /** Start polling at once; true by default. */
    auto?: boolean;
    /** Whether anyone is looking (e.g. the panel is visible); polls pause when not. */
    isActive?: () => boolean;
  }
}
