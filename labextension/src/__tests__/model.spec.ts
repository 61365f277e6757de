import { ServerConnection } from '@jupyterlab/services';

import * as api from '../api';
import { RunsModel } from '../model';
import { IRun, IRunsQuery, IRunsReply } from '../tokens';

jest.mock('../api', () => ({
  ...jest.requireActual('../api'),
  listRuns: jest.fn(),
  listExperiments: jest.fn(),
  listModels: jest.fn(),
  getColumns: jest.fn()
}));

const listRuns = api.listRuns as jest.MockedFunction<typeof api.listRuns>;
const listExperiments = api.listExperiments as jest.MockedFunction<typeof api.listExperiments>;
const getColumns = api.getColumns as jest.MockedFunction<typeof api.getColumns>;
const listModels = api.listModels as jest.MockedFunction<typeof api.listModels>;
const PAGE = api.RUNS_PAGE_SIZE;

function run(i: number, extra: Partial<IRun> = {}): IRun {
  return {
    run_id: `run${String(i).padStart(5, '0')}`,
    run_name: `r${i}`,
    experiment: 'demo',
    status: 'finished',
    start_time: 1_700_000_000_000 + i,
    end_time: 1_700_000_001_000 + i,
    source: 'nb.ipynb',
    parent_run_id: null,
    origin: 'magic',
    params: { alpha: String(i) },
    metrics: { rmse: i / 10 },
    tags: {},
    ...extra
  };
}

const COLUMNS = { params: ['alpha', 'beta', 'gamma', 'delta'], metrics: ['rmse'] };

/** A fake server holding `total` runs, answering pages like the real one. */
function serve(total: number, columns = COLUMNS): void {
  listRuns.mockImplementation(async (_q: IRunsQuery, offset = 0, limit = PAGE) => {
    const runs: IRun[] = [];
    for (let i = offset; i < Math.min(total, offset + limit); i++) {
      runs.push(run(i));
    }
    return { runs, total, columns } as IRunsReply;
  });
}

function responseError(status: number, message: string): ServerConnection.ResponseError {
  return new ServerConnection.ResponseError(new Response('', { status }), message);
}

function storeBusy(seconds: number): api.StoreBusyError {
  return new api.StoreBusyError(new Response('', { status: 503 }), 'store busy: locked', seconds);
}

/** The model's poll, to read its state (phase, next interval). */
function pollOf(model: RunsModel): { state: { phase: string; interval: number } } {
  return (model as unknown as { _poll: { state: { phase: string; interval: number } } })._poll;
}

const EMPTY: IRunsQuery = { filter: '', order_by: '', experiment: '', deleted: false };

let model: RunsModel;

beforeEach(() => {
  listRuns.mockReset();
  listExperiments.mockReset();
  listExperiments.mockResolvedValue({ experiments: [] });
  getColumns.mockReset();
  listModels.mockReset();
  listModels.mockResolvedValue({ models: [] });
  // No summary: the model falls back to the page's first columns.
  getColumns.mockRejectedValue(new Error('no summary'));
});

afterEach(() => {
  model?.dispose();
  jest.useRealTimers();
});

describe('RunsModel without polling', () => {
  beforeEach(() => {
    model = new RunsModel({ auto: false });
  });

  it('loads the first page of a query and takes the server columns', async () => {
    serve(3);
    const changed = jest.fn();
    model.changed.connect(changed);
    expect(model.isLoaded).toBe(false);
    await model.setFilter('  metrics.rmse < 1  ');
    expect(listRuns).toHaveBeenCalledWith({ ...EMPTY, filter: 'metrics.rmse < 1' }, 0, PAGE);
    expect(model.isLoaded).toBe(true);
    expect(model.total).toBe(3);
    expect(model.query.filter).toBe('metrics.rmse < 1');
    expect(model.runAt(2)?.run_id).toBe('run00002');
    expect(model.runAt(3)).toBeUndefined();
    // Without the server's column summary the first three params are shown.
    expect(model.visibleParams).toEqual(['alpha', 'beta', 'gamma']);
    expect(model.visibleMetrics).toEqual(['rmse']);
    expect(model.generation).toBe(1);
    expect(changed).toHaveBeenCalled();
  });

  it('fetches only the pages on screen', async () => {
    serve(2 * PAGE + 50);
    await model.setFilter('');
    expect(listRuns).toHaveBeenCalledTimes(1);
    expect(model.runAt(PAGE)).toBeUndefined();

    model.setVisibleRange(PAGE + 10, PAGE + 40);
    await Promise.resolve();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(listRuns).toHaveBeenCalledTimes(2);
    expect(listRuns.mock.calls[1].slice(1)).toEqual([PAGE, PAGE]);
    expect(model.runAt(PAGE + 10)?.run_id).toBe(`run00${PAGE + 10}`);
    expect(model.runAt(2 * PAGE)).toBeUndefined();
    expect(model.runById(`run00${PAGE + 1}`)?.run_name).toBe(`r${PAGE + 1}`);
  });

  it('keeps the rows and reports a refused filter under the filter box', async () => {
    serve(5);
    await model.setFilter('');
    listRuns.mockRejectedValueOnce(responseError(400, "unknown column 'foo' at 1"));
    await model.setFilter('foo = 1');
    expect(model.filterError).toBe("unknown column 'foo' at 1");
    expect(model.error).toBeNull();
    expect(model.query.filter).toBe('');
    expect(model.requestedQuery.filter).toBe('');
    expect(model.runAt(0)?.run_id).toBe('run00000');

    await model.setFilter('');
    expect(model.filterError).toBeNull();
  });

  it('reports other failures as errors', async () => {
    listRuns.mockRejectedValueOnce(responseError(500, 'Unhandled error'));
    await model.setExperiment('demo');
    expect(model.error).toBe('Unhandled error');
    expect(model.filterError).toBeNull();
    expect(model.isLoaded).toBe(false);
  });

  it('drops the answer to a query that a newer one replaced', async () => {
    let release: (reply: IRunsReply) => void = () => undefined;
    listRuns.mockImplementationOnce(() => new Promise<IRunsReply>(resolve => (release = resolve)));
    const slow = model.setFilter('metrics.a = 1');
    serve(1);
    await model.setFilter('metrics.a = 2');
    release({ runs: [run(7), run(8)], total: 2, columns: COLUMNS });
    await slow;
    expect(model.query.filter).toBe('metrics.a = 2');
    expect(model.total).toBe(1);
  });

  it('sorts by a column, flips it, and returns to newest first', async () => {
    serve(3);
    await model.toggleSort('metrics.rmse');
    expect(model.sort).toEqual({ key: 'metrics.rmse', direction: 'ASC' });
    expect(model.query.order_by).toBe('metrics.rmse ASC');
    await model.toggleSort('metrics.rmse');
    expect(model.sort).toEqual({ key: 'metrics.rmse', direction: 'DESC' });
    expect(model.query.order_by).toBe('metrics.rmse DESC');
    await model.toggleSort(null);
    expect(model.sort).toBeNull();
    expect(listRuns.mock.calls[2][0].order_by).toBe('');
  });

  it('selects like a list: click, ctrl-click, shift-click', async () => {
    serve(10);
    await model.setFilter('');
    const changed = jest.fn();
    model.changed.connect(changed);

    model.select(2, { toggle: false, range: false });
    expect(model.selection).toEqual(['run00002']);
    model.select(5, { toggle: true, range: false });
    expect(model.selection).toEqual(['run00002', 'run00005']);
    model.select(2, { toggle: true, range: false });
    expect(model.selection).toEqual(['run00005']);
    // The range starts at the last row clicked without Shift (2), even if deselected.
    model.select(4, { toggle: false, range: true });
    expect(model.selection).toEqual(['run00002', 'run00003', 'run00004']);
    model.select(6, { toggle: true, range: true });
    expect(model.selection).toEqual(['run00002', 'run00003', 'run00004', 'run00005', 'run00006']);
    expect(model.isSelected('run00006')).toBe(true);
    expect(model.isSelected('run00007')).toBe(false);
    expect(changed).toHaveBeenCalledTimes(5);

    model.select(99, { toggle: false, range: false }); // not loaded: ignored
    expect(model.selection).toHaveLength(5);
    model.setSelection([]);
    expect(model.selection).toEqual([]);
  });

  it('shows and hides columns', async () => {
    serve(1);
    await model.setFilter('');
    model.setColumnVisible('params', 'delta', true);
    model.setColumnVisible('params', 'alpha', false);
    expect(model.visibleParams).toEqual(['beta', 'gamma', 'delta']);
  });

  it('shows the summary default columns, the sort metric first, constants on request', async () => {
    serve(3, { params: ['alpha', 'beta', 'gamma', 'delta'], metrics: ['mae', 'rmse', 'r2'] });
    getColumns.mockResolvedValue({
      total: 3,
      params: ['alpha', 'beta', 'gamma', 'delta', 'Ridge.alpha'].map(name => ({
        name,
        runs: 3,
        values: name === 'gamma' ? 1 : 3,
        constant: name === 'gamma',
        swept: name === 'beta',
        autologged: name === 'Ridge.alpha',
        duplicate_of: name === 'Ridge.alpha' ? 'alpha' : null
      })),
      metrics: ['mae', 'rmse', 'r2'].map(name => ({ name, runs: 3, system: false })),
      objective: null,
      default_params: ['beta', 'alpha', 'delta'],
      default_metrics: ['rmse', 'mae', 'r2'],
      constant_params: ['gamma']
    });
    await model.setFilter('');
    expect(getColumns).toHaveBeenCalledWith({ ...EMPTY });
    expect(model.columns.params).toContain('Ridge.alpha');
    expect(model.visibleParams).toEqual(['beta', 'alpha', 'delta']);
    expect(model.visibleMetrics).toEqual(['rmse', 'mae', 'r2']);
    await model.toggleSort('metrics.r2');
    expect(model.visibleMetrics).toEqual(['r2', 'rmse', 'mae']);
    model.setShowConstant(true);
    expect(model.visibleParams).toEqual(['beta', 'alpha', 'delta', 'gamma']);
    model.setShowConstant(false);
    model.setColumnVisible('metrics', 'mae', false);
    expect(model.columnsChosen).toBe(true);
    expect(model.visibleMetrics).toEqual(['r2', 'rmse']);
    expect(model.visibleParams).toEqual(['beta', 'alpha', 'delta']);
    model.resetColumns();
    expect(model.visibleMetrics).toEqual(['r2', 'rmse', 'mae']);
  });

  it('saves and restores its view state', async () => {
    serve(2);
    const saved = jest.fn();
    model.stateChanged.connect(saved);
    await model.setFilter('sunny');
    expect(model.query.filter).toBe("attributes.run_name ILIKE '%sunny%'");
    expect(model.filterText).toBe('sunny');
    model.setColumnVisible('params', 'delta', true);
    model.setColumnWidth('params.delta', 12);
    await model.toggleSort('metrics.rmse');
    expect(saved).toHaveBeenCalled();
    const state = model.viewState;
    expect(state).toEqual({
      filter: 'sunny',
      experiment: '',
      deleted: false,
      sort: { key: 'metrics.rmse', direction: 'ASC' },
      params: ['alpha', 'beta', 'gamma', 'delta'],
      metrics: ['rmse'],
      widths: { 'params.delta': 40 },
      show_constant: false,
      group_by: ''
    });

    const other = new RunsModel({ auto: false });
    listRuns.mockClear();
    await other.restoreViewState(JSON.parse(JSON.stringify(state)));
    expect(listRuns).toHaveBeenCalledTimes(1);
    expect(listRuns).toHaveBeenCalledWith(
      { ...EMPTY, filter: "attributes.run_name ILIKE '%sunny%'", order_by: 'metrics.rmse ASC' },
      0,
      PAGE
    );
    expect(other.viewState).toEqual(state);
    expect(other.columnWidth('params.delta')).toBe(40);
    other.dispose();
  });

  it('restores the experiment and the grouping it saved', async () => {
    serve(2);
    await model.setExperiment('diabetes-demo');
    model.setGroupBy('param:alpha');
    const state = model.viewState;
    expect(state).toMatchObject({ experiment: 'diabetes-demo', group_by: 'param:alpha' });

    const other = new RunsModel({ auto: false });
    listRuns.mockClear();
    await other.restoreViewState(JSON.parse(JSON.stringify(state)));
    expect(listRuns).toHaveBeenCalledWith({ ...EMPTY, experiment: 'diabetes-demo' }, 0, PAGE);
    expect(other.groupBy).toBe('param:alpha');
    expect(other.viewState).toEqual(state);
    other.dispose();
  });

  it('keeps a restored query when a refresh comes while it loads', async () => {
    serve(3);
    const restoring = model.restoreViewState({ filter: 'metrics.rmse < 1' });
    await model.refresh();
    await restoring;
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(model.query.filter).toBe('metrics.rmse < 1');
    expect(model.filterText).toBe('metrics.rmse < 1');
  });

  it('ignores a malformed saved state', async () => {
    serve(1);
    await model.restoreViewState({
      params: 'alpha' as unknown as string[],
      sort: { key: 1, direction: 'UP' } as unknown as null
    });
    expect(model.sort).toBeNull();
    expect(model.columnsChosen).toBe(false);
  });

  it('knows which runs hold a registry alias', async () => {
    listModels.mockResolvedValue({
      models: [
        {
          name: 'diabetes',
          aliases: { champion: 1 },
          versions: [
            {
              version: 1,
              run_id: 'run00001',
              run_name: 'r1',
              sha256: 'x',
              path: 'm.joblib',
              created_at: 0,
              aliases: ['champion'],
              metrics: {}
            }
          ]
        }
      ]
    });
    await model.refreshAliases();
    expect(model.aliasesOf('run00001')).toEqual(['diabetes@champion']);
    expect(model.aliasesOf('run00002')).toEqual([]);
  });

  it('remembers deletions and emits only on a change', async () => {
    serve(2);
    await model.setFilter('');
    const changed = jest.fn();
    model.changed.connect(changed);
    expect(model.isDeleted('run00000')).toBe(false);
    model.markDeleted(['run00000'], true);
    model.markDeleted(['run00000'], true);
    expect(model.isDeleted('run00000')).toBe(true);
    expect(changed).toHaveBeenCalledTimes(1);
  });

  it('fetches every run page by page for the CSV', async () => {
    serve(PAGE + 3);
    await model.setFilter('');
    const runs = await model.fetchAll();
    expect(runs).toHaveLength(PAGE + 3);
    expect(runs[PAGE + 2].run_id).toBe(`run00${PAGE + 2}`);
  });

  it('stops emitting once disposed', async () => {
    serve(1);
    const changed = jest.fn();
    model.changed.connect(changed);
    model.dispose();
    expect(model.isDisposed).toBe(true);
    await model.setFilter('x');
    expect(changed).toHaveBeenCalledTimes(0);
  });
});

describe('RunsModel polling', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  /** Let the poll start (its first tick is a 0 ms timer) and the replies arrive. */
  const start = (): Promise<void> => jest.advanceTimersByTimeAsync(10);

  it('polls the pages on screen and picks up new runs', async () => {
    serve(2);
    model = new RunsModel({ interval: 1000 });
    await start();
    expect(model.total).toBe(2);
    const calls = listRuns.mock.calls.length;

    serve(3);
    await jest.advanceTimersByTimeAsync(1000);
    expect(listRuns.mock.calls.length).toBe(calls + 1);
    expect(model.total).toBe(3);
    expect(model.runAt(2)?.run_id).toBe('run00002');
  });

  it('backs off while the server fails, keeping the rows, and recovers', async () => {
    serve(2);
    model = new RunsModel({ interval: 1000 });
    await start();
    listRuns.mockReset();
    listRuns.mockRejectedValue(new ServerConnection.NetworkError(new TypeError('offline')));
    // Deterministic backoff: each wait the longest Lumino allows (growth x3, max 60 s).
    jest.spyOn(Math, 'random').mockReturnValue(0.999);

    const intervals: number[] = [];
    for (let t = 0; t < 5 * 60; t++) {
      await jest.advanceTimersByTimeAsync(1000);
      const { phase, interval } = pollOf(model).state;
      if (phase === 'rejected' && intervals[intervals.length - 1] !== interval) {
        intervals.push(interval);
      }
    }
    expect(model.error).toBe('Cannot reach the Jupyter server.');
    expect(model.runAt(1)?.run_id).toBe('run00001');
    // Without backoff five minutes at 1 s would be 300 requests.
    expect(listRuns.mock.calls.length).toBeLessThan(20);
    expect(intervals[intervals.length - 1]).toBe(60 * 1000);
    for (let i = 1; i < intervals.length; i++) {
      expect(intervals[i]).toBeGreaterThanOrEqual(intervals[i - 1]);
    }

    serve(2);
    await jest.advanceTimersByTimeAsync(60 * 1000);
    expect(model.error).toBeNull();
    // Back to the normal interval once the server answers.
    expect(['reconnected', 'resolved']).toContain(pollOf(model).state.phase);
    expect(pollOf(model).state.interval).toBe(1000);
  });

  it('shows a busy store as a notice and retries after Retry-After', async () => {
    serve(2);
    model = new RunsModel({ interval: 1000 });
    await start();
    const changed = jest.fn();
    model.changed.connect(changed);

    listRuns.mockRejectedValueOnce(storeBusy(5));
    await jest.advanceTimersByTimeAsync(1000);
    expect(model.busy).toBe(true);
    expect(model.error).toBeNull();
    expect(changed).toHaveBeenCalled();
    expect(pollOf(model).state.interval).toBe(5000);
    const calls = listRuns.mock.calls.length;

    serve(4);
    // Not the poll's 1 s interval nor its backoff: the 5 s the server asked for.
    await jest.advanceTimersByTimeAsync(4990);
    expect(listRuns.mock.calls.length).toBe(calls);
    await jest.advanceTimersByTimeAsync(20);
    expect(listRuns.mock.calls.length).toBe(calls + 1);
    expect(model.busy).toBe(false);
    expect(model.total).toBe(4);
  });

  it('waits out a busy store for a new query, then applies it', async () => {
    serve(2);
    model = new RunsModel({ interval: 60 * 1000 });
    await start();

    listRuns.mockRejectedValueOnce(storeBusy(2));
    const done = model.setFilter('params.alpha = "1"');
    await jest.advanceTimersByTimeAsync(10);
    expect(model.busy).toBe(true);
    expect(model.error).toBeNull();
    expect(model.requestedQuery.filter).toBe('params.alpha = "1"');
    expect(model.query.filter).toBe('');

    expect(listRuns).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(2000);
    await done;
    expect(listRuns).toHaveBeenCalledTimes(3);
    expect(model.busy).toBe(false);
    expect(model.query.filter).toBe('params.alpha = "1"');
  });

  it('waits out a busy store on the first load without an error', async () => {
    serve(1);
    listRuns.mockRejectedValueOnce(storeBusy(3));
    model = new RunsModel({ interval: 1000 });
    await start();
    expect(model.busy).toBe(true);
    expect(model.error).toBeNull();
    expect(model.isLoaded).toBe(false);
    await jest.advanceTimersByTimeAsync(3000);
    expect(model.isLoaded).toBe(true);
    expect(model.busy).toBe(false);
  });
});
