/**
 * RunsModel: the runs table's state (query, pages, selection, columns), kept fresh by a
 * Poll. Views render from it and call its methods; it knows nothing about React.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { ServerConnection } from '@jupyterlab/services';

import {
  errorMessage,
  getColumns,
  listExperiments,
  listModels,
  listRuns,
  retryWhileBusy,
  RUNS_PAGE_SIZE,
  StoreBusyError
} from './api';
import { toSearchFilter } from './format';
import {
  IColumnsReply,
  IExperiment,
  IRun,
  IRunColumns,
  IRunsQuery,
  IRunsReply,
  IViewState
} from './tokens';

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

/** How many param and metric columns are shown before the column summary arrives. */
const FALLBACK_VISIBLE_COLUMNS = 3;

/** The narrowest a resized column gets, in px. */
export const MIN_COLUMN_WIDTH = 40;

/** Autologged estimator parameters are named `ClassName.param`. */
const AUTOLOGGED = /^[A-Z][A-Za-z0-9_]*\./;

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

  /**
   * Emitted when something the panel remembers per store changed: the columns chosen,
   * their widths, the sort, the filter, the experiment (see {@link viewState}).
   */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
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

  /**
   * The search box's text of the current query: what the user typed, which may be plain
   * words standing for a run-name search (see {@link toSearchFilter}).
   */
  get filterText(): string {
    return this._filterText;
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

  /** Param and metric names occurring in the query's runs (all of them, not one page). */
  get columns(): IRunColumns {
    const summary = this._summary;
    if (summary) {
      return {
        params: summary.params.map(p => p.name),
        metrics: summary.metrics.map(m => m.name)
      };
    }
    return this._columns;
  }

  /**
   * What the server found out about the query's columns (which differ, which were
   * swept, which are autologged, the default choice), or null until it answers.
   */
  get columnSummary(): IColumnsReply | null {
    return this._summary;
  }

  /** Whether the user has chosen columns (else the defaults are shown). */
  get columnsChosen(): boolean {
    return this._chosenParams !== null || this._chosenMetrics !== null;
  }

  /** What the table groups by: '' (nothing), `experiment`, `sweep` or `param:<name>`. */
  get groupBy(): string {
    return this._groupBy;
  }

  /**
   * Group the table's runs.
   *
   * @param by - '' for no groups, `experiment`, `sweep`, or `param:<name>`.
   */
  setGroupBy(by: string): void {
    if (by === this._groupBy) {
      return;
    }
    this._groupBy = by;
    this._changed.emit();
    this._stateChanged.emit();
  }

  /** Whether the parameters with one value in every run are shown. */
  get showConstant(): boolean {
    if (this._chosenParams !== null && this.constantParams.length > 0) {
      const chosen = this._chosenParams;
      return this.constantParams.every(name => chosen.includes(name));
    }
    return this._showConstant;
  }

  /** The plain parameters with the same value in every run (hidden by default). */
  get constantParams(): ReadonlyArray<string> {
    return this._summary?.constant_params ?? [];
  }

  /** The experiments of the store, for the selector. */
  get experiments(): ReadonlyArray<IExperiment> {
    return this._experiments;
  }

  /**
   * The param columns shown: the user's choice, else those that differ between the
   * runs (swept and tuned first, autologged estimator params left out), plus the
   * constant ones when {@link showConstant}.
   */
  get visibleParams(): ReadonlyArray<string> {
    const known = new Set(this.columns.params);
    if (this._chosenParams !== null) {
      return this._chosenParams.filter(name => known.has(name));
    }
    const summary = this._summary;
    if (!summary) {
      return this._columns.params
        .filter(name => !AUTOLOGGED.test(name))
        .slice(0, FALLBACK_VISIBLE_COLUMNS);
    }
    const shown = [...summary.default_params];
    if (this._showConstant) {
      shown.push(...summary.constant_params.filter(name => !shown.includes(name)));
    }
    return shown.filter(name => known.has(name));
  }

  /**
   * The metric columns shown: the user's choice, else the metrics most runs have, with
   * the sort metric (or the objective) first.
   */
  get visibleMetrics(): ReadonlyArray<string> {
    const known = new Set(this.columns.metrics);
    const summary = this._summary;
    let shown: string[];
    if (this._chosenMetrics !== null) {
      shown = this._chosenMetrics;
    } else {
      shown = summary
        ? [...summary.default_metrics]
        : this._columns.metrics.slice(0, FALLBACK_VISIBLE_COLUMNS);
      // The metric sorted by is shown first, whether or not most runs have it.
      const sorted = this.sortMetric;
      if (sorted !== null && known.has(sorted) && !shown.includes(sorted)) {
        shown.unshift(sorted);
      }
    }
    const sorted = this.sortMetric;
    if (sorted !== null && shown.includes(sorted)) {
      shown = [sorted, ...shown.filter(name => name !== sorted)];
    }
    return shown.filter(name => known.has(name));
  }

  /**
   * The registry aliases a run's model holds, as `name@alias` (the table's badges).
   *
   * @param runId - The run id.
   * @returns The aliases, empty when none.
   */
  aliasesOf(runId: string): ReadonlyArray<string> {
    return this._aliases.get(runId) ?? [];
  }

  /**
   * Fetch the registered models again (after an alias moved or a model was registered),
   * so the table's alias badges follow.
   *
   * @returns Resolves when the badges are up to date.
   */
  async refreshAliases(): Promise<void> {
    let reply;
    try {
      reply = await listModels();
    } catch {
      return; // Badges are a convenience: the last ones stay.
    }
    const aliases = new Map<string, string[]>();
    for (const model of reply.models) {
      for (const v of model.versions) {
        for (const alias of v.aliases) {
          aliases.set(v.run_id, [...(aliases.get(v.run_id) ?? []), `${model.name}@${alias}`]);
        }
      }
    }
    const before = JSON.stringify([...this._aliases]);
    this._aliases = aliases;
    if (JSON.stringify([...aliases]) !== before && !this._isDisposed) {
      this._changed.emit();
    }
  }

  /** The metric the table is sorted by, or null. */
  get sortMetric(): string | null {
    const key = this._sort?.key ?? '';
    const match = /^metrics\.(?:`(.+)`|(.+))$/.exec(key);
    return match ? (match[1] ?? match[2]) : null;
  }

  /**
   * A column's width set by the user, if any.
   *
   * @param id - The column id (`status`, `name`, `metrics.rmse`, `params.alpha`, ...).
   * @returns The width in px, or undefined for the column's default.
   */
  columnWidth(id: string): number | undefined {
    return this._widths[id];
  }

  /**
   * What the panel remembers for this store: the query, the sort, the columns chosen and
   * their widths. JSON, for JupyterLab's state database.
   */
  get viewState(): IViewState {
    return {
      filter: this._filterText,
      experiment: this._query.experiment,
      deleted: this._query.deleted,
      sort: this._sort ? { key: this._sort.key, direction: this._sort.direction } : null,
      params: this._chosenParams ? [...this._chosenParams] : null,
      metrics: this._chosenMetrics ? [...this._chosenMetrics] : null,
      widths: { ...this._widths },
      show_constant: this._showConstant,
      group_by: this._groupBy
    };
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
    const text = filter.trim();
    return this._setQuery({ filter: toSearchFilter(text) }, text);
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
        this._stateChanged.emit();
      }
    });
  }

  /**
   * Take back what {@link viewState} saved (from JupyterLab's state database): the
   * columns and widths at once, then the query in one request.
   *
   * @param state - A saved view state; missing or malformed parts are ignored.
   * @returns Resolves when the restored query is shown (or refused).
   */
  restoreViewState(state: Partial<IViewState> | null | undefined): Promise<void> {
    if (!state || typeof state !== 'object') {
      return Promise.resolve();
    }
    const strings = (v: unknown): string[] | null =>
      Array.isArray(v) && v.every(x => typeof x === 'string') ? [...v] : null;
    this._chosenParams = strings(state.params);
    this._chosenMetrics = strings(state.metrics);
    this._showConstant = state.show_constant === true;
    const group = state.group_by;
    this._groupBy =
      group === 'experiment' ||
      group === 'sweep' ||
      (typeof group === 'string' && group.startsWith('param:'))
        ? group
        : '';
    this._widths = {};
    for (const [id, w] of Object.entries(state.widths ?? {})) {
      if (typeof w === 'number' && isFinite(w)) {
        this._widths[id] = Math.max(MIN_COLUMN_WIDTH, Math.round(w));
      }
    }
    const sort = state.sort;
    const validSort =
      sort &&
      typeof sort.key === 'string' &&
      (sort.direction === 'ASC' || sort.direction === 'DESC');
    this._sort = validSort ? { key: sort.key, direction: sort.direction } : null;
    const text = typeof state.filter === 'string' ? state.filter.trim() : '';
    this._changed.emit();
    return this._setQuery(
      {
        filter: toSearchFilter(text),
        experiment: typeof state.experiment === 'string' ? state.experiment : '',
        deleted: state.deleted === true,
        order_by: this._sort ? `${this._sort.key} ${this._sort.direction}` : ''
      },
      text
    ).then(() => {
      // A saved sort the server refuses now (a column gone) is dropped. (The request may
      // also have been replaced by an equal one, e.g. the first poll: still asked for.)
      if (this._sort && !this._requested.order_by) {
        this._sort = null;
        this._changed.emit();
      }
    });
  }

  /**
   * Start polling (for a model made with `auto: false`, e.g. after restoring its state).
   *
   * @returns Resolves once the poll has started.
   */
  start(): Promise<void> {
    return this._poll.start();
  }

  /**
   * Show or hide a param or metric column.
   *
   * @param kind - `params` or `metrics`.
   * @param name - The param or metric name.
   * @param visible - Whether to show it.
   */
  setColumnVisible(kind: keyof IRunColumns, name: string, visible: boolean): void {
    // The first choice starts from what is shown, so the other columns stay.
    const current = [...(kind === 'params' ? this.visibleParams : this.visibleMetrics)];
    const next = visible
      ? current.includes(name)
        ? current
        : [...current, name]
      : current.filter(n => n !== name);
    if (kind === 'params') {
      this._chosenParams = next;
      this._chosenMetrics ??= [...this.visibleMetrics];
    } else {
      this._chosenMetrics = next;
      this._chosenParams ??= [...this.visibleParams];
    }
    this._changed.emit();
    this._stateChanged.emit();
  }

  /** Forget the chosen columns: show the defaults again (widths are kept). */
  resetColumns(): void {
    this._chosenParams = null;
    this._chosenMetrics = null;
    this._showConstant = false;
    this._changed.emit();
    this._stateChanged.emit();
  }

  /**
   * Show or hide the parameters that have one value in every run.
   *
   * @param show - Whether to show them.
   */
  setShowConstant(show: boolean): void {
    if (this._chosenParams !== null) {
      // Chosen columns: add or remove the constant ones from the choice.
      const constant = new Set(this.constantParams);
      const rest = this._chosenParams.filter(name => !constant.has(name));
      this._chosenParams = show ? [...rest, ...constant] : rest;
    }
    this._showConstant = show;
    this._changed.emit();
    this._stateChanged.emit();
  }

  /**
   * Set a column's width (a drag of its header's edge).
   *
   * @param id - The column id.
   * @param width - The width in px; at least {@link MIN_COLUMN_WIDTH}.
   */
  setColumnWidth(id: string, width: number): void {
    const w = Math.max(MIN_COLUMN_WIDTH, Math.round(width));
    if (this._widths[id] === w) {
      return;
    }
    this._widths = { ...this._widths, [id]: w };
    this._changed.emit();
    this._stateChanged.emit();
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
  private async _setQuery(change: Partial<IRunsQuery>, filterText?: string): Promise<void> {
    const candidate: IRunsQuery = { ...this._query, ...change };
    const text =
      filterText ?? (change.filter !== undefined ? candidate.filter : this._requestedText);
    const ticket = ++this._queryTicket;
    const isStale = (): boolean => ticket !== this._queryTicket || this._isDisposed;
    this._requested = candidate;
    this._requestedText = text;
    this._changed.emit();
    // Asked for alongside the first page; a failure only leaves the fallback columns.
    const summary = this._fetchSummary(candidate);
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
      this._requestedText = this._filterText;
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
    const columns = await summary;
    if (isStale()) {
      return;
    }
    const stateChanged =
      candidate.filter !== this._query.filter ||
      candidate.experiment !== this._query.experiment ||
      candidate.deleted !== this._query.deleted;
    this._query = candidate;
    this._filterText = text;
    this._summary = columns;
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
    if (stateChanged) {
      this._stateChanged.emit();
    }
    this.setVisibleRange(0, span);
  }

  /** The column summary of a query, or null when it cannot be had (the table still works). */
  private async _fetchSummary(q: IRunsQuery): Promise<IColumnsReply | null> {
    try {
      return await retryWhileBusy(() => getColumns(q));
    } catch {
      return null;
    }
  }

  /** Refresh the column summary after the runs changed (a run landed or was deleted). */
  private async _refreshSummary(): Promise<void> {
    const generation = this._generation;
    const summary = await this._fetchSummary(this._query);
    if (summary && generation === this._generation && !this._isDisposed) {
      if (JSON.stringify(summary) !== JSON.stringify(this._summary)) {
        this._summary = summary;
        this._changed.emit();
      }
    }
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
      // First tick, or every query so far failed: ask for the latest query asked for
      // (e.g. a restored view still loading), not an older one that would replace it.
      await this._setQuery({ ...this._requested }, this._requestedText);
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
    if (this._total !== totalBefore) {
      await this._refreshSummary();
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
      this._forgetSettledDeletions(reply.runs);
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

  /**
   * Drop the local deleted/restored marks the server's rows now agree with, so a later
   * change made elsewhere (the CLI restoring a run) shows.
   */
  private _forgetSettledDeletions(runs: ReadonlyArray<IRun>): void {
    for (const run of runs) {
      if (run.deleted !== undefined && this._deleted.get(run.run_id) === run.deleted) {
        this._deleted.delete(run.run_id);
      }
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
    return true;
  }

  private async _refreshExperiments(): Promise<void> {
    void this.refreshAliases();
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

  private _aliases = new Map<string, string[]>();
  private _anchor: number | null = null;
  private _busy = false;
  private _changed = new Signal<this, void>(this);
  private _chosenMetrics: string[] | null = null;
  private _chosenParams: string[] | null = null;
  private _columns: IRunColumns = { params: [], metrics: [] };
  private _deleted = new Map<string, boolean>();
  private _error: string | null = null;
  private _experiments: IExperiment[] = [];
  private _experimentsStale = true;
  private _filterError: string | null = null;
  private _filterText = '';
  private _generation = 0;
  private _groupBy = '';
  private _inflight = new Map<number, Promise<void>>();
  private _isDisposed = false;
  private _loaded = false;
  private _pages = new Map<number, IRun[]>();
  private _poll: Poll;
  private _query: IRunsQuery = { filter: '', order_by: '', experiment: '', deleted: false };
  private _queryTicket = 0;
  private _requested: IRunsQuery = this._query;
  private _requestedText = '';
  private _selected = new Set<string>();
  private _selection: string[] = [];
  private _showConstant = false;
  private _signatures = new Map<number, string>();
  private _sort: ISort | null = null;
  private _stateChanged = new Signal<this, void>(this);
  private _summary: IColumnsReply | null = null;
  private _total = 0;
  private _visible = { start: 0, end: RUNS_PAGE_SIZE };
  private _widths: { [id: string]: number } = {};
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
