import * as React from 'react';

import * as api from '../api';
import { CompareView, LIVE_RELOAD_MS } from '../components/compare';
import { cursors, lastSteps, liveRunIds, rowsToAdd, specDomain } from '../live';
import { ICompareReply, IRunDetail } from '../tokens';
import { flush, IMounted, mount } from './render';

jest.mock('../api', () => ({
  ...jest.requireActual('../api'),
  compareRuns: jest.fn(),
  getRun: jest.fn(),
  getMetrics: jest.fn(),
  getCurvesChart: jest.fn(),
  getParallelChart: jest.fn(),
  getScatterChart: jest.fn()
}));

/** A Vega view stand-in: the rows of its one data set, and what was inserted. */
interface IFakeView {
  rows: { run: string; step: number }[];
  inserted: unknown[][];
}
const views: IFakeView[] = [];
jest.mock('vega-embed', () => ({
  __esModule: true,
  default: async (_element: HTMLElement, spec: { data?: { values?: unknown[] } }) => {
    const fake: IFakeView = {
      rows: [...((spec.data?.values ?? []) as IFakeView['rows'])],
      inserted: []
    };
    views.push(fake);
    const view = {
      data: () => fake.rows,
      insert: (_name: string, rows: IFakeView['rows']) => {
        fake.inserted.push(rows);
        fake.rows.push(...rows);
        return { runAsync: async () => view };
      }
    };
    return { view, vgSpec: { data: [{ name: 'source_0', values: [] }] }, finalize: jest.fn() };
  }
}));

const mocked = {
  compareRuns: api.compareRuns as jest.Mock,
  getRun: api.getRun as jest.Mock,
  getMetrics: api.getMetrics as jest.Mock,
  getCurvesChart: api.getCurvesChart as jest.Mock,
  getParallelChart: api.getParallelChart as jest.Mock,
  getScatterChart: api.getScatterChart as jest.Mock
};

const IDS = ['aaaaaaaa1111', 'bbbbbbbb2222'];
const LABELS = ['live · aaaaaaaa', 'done · bbbbbbbb'];

function comparison(status: string): ICompareReply {
  return {
    runs: [
      { run_id: IDS[0], run_name: 'live', status, experiment: 'e', origin: '' },
      { run_id: IDS[1], run_name: 'done', status: 'finished', experiment: 'e', origin: '' }
    ],
    params: {},
    differing_params: [],
    metrics: { loss: [0.3, 0.2] },
    best: {},
    sources: [null, null],
    notebooks_differ: false
  };
}

function detail(run_id: string): IRunDetail {
  return {
    run_id,
    run_name: run_id.slice(0, 4),
    experiment: 'e',
    status: 'finished',
    start_time: 0,
    end_time: 1000,
    duration_s: 1,
    source: '',
    parent_run_id: null,
    origin: '',
    error: null,
    params: {},
    metrics: {},
    tags: {},
    artifacts: [],
    context: {},
    children: [],
    deleted: false
  };
}

describe('live helpers', () => {
  it('polls running runs and those that just finished, never finished ones', () => {
    expect(liveRunIds(null, comparison('running'))).toEqual([IDS[0]]);
    expect(liveRunIds(comparison('running'), comparison('finished'))).toEqual([IDS[0]]);
    expect(liveRunIds(comparison('finished'), comparison('finished'))).toEqual([]);
  });

  it('asks from the last step drawn and adds only later points', () => {
    const rows = [
      { run: 'a', step: 0 },
      { run: 'a', step: 7 },
      { run: 'a', step: 3 }
    ];
    const last = lastSteps(rows);
    expect([...last]).toEqual([['a', 7]]);
    const labelOf = (id: string): string | undefined => ({ A: 'a', B: 'b' })[id];
    expect(cursors(['A', 'B', 'C'], labelOf, last)).toEqual([7, null, null]);
    const series = [
      { run_id: 'A', key: 'loss', steps: [6, 7, 8, 9], values: [1, 2, 3, 4] },
      { run_id: 'B', key: 'loss', steps: [0], values: [5] },
      { run_id: 'C', key: 'loss', steps: [1], values: [6] }
    ];
    expect(rowsToAdd(series, labelOf, last)).toEqual([
      { run: 'a', key: 'loss', step: 8, value: 3 },
      { run: 'a', key: 'loss', step: 9, value: 4 },
      { run: 'b', key: 'loss', step: 0, value: 5 }
    ]);
  });

  it('reads the runs of a curves spec from its colour domain', () => {
    expect(specDomain({ encoding: { color: { scale: { domain: ['x', 'y'] } } } })).toEqual([
      'x',
      'y'
    ]);
    expect(specDomain({ layer: [] })).toBeNull();
  });
});

describe('a live comparison', () => {
  let mounted: IMounted | null = null;

  beforeEach(() => {
    jest.useFakeTimers();
    jest.clearAllMocks();
    views.length = 0;
    mocked.getRun.mockImplementation(async (id: string) => detail(id));
    mocked.getMetrics.mockImplementation(async (ids: string[], keys?: string[]) => ({
      series: keys
        ? [{ run_id: IDS[0], key: 'loss', steps: [9, 10, 11], values: [0.4, 0.35, 0.3] }]
        : ids.map(run_id => ({ run_id, key: 'loss', steps: [0, 9], values: [1, 0.4] }))
    }));
    mocked.getCurvesChart.mockResolvedValue({
      spec: {
        encoding: { color: { scale: { domain: LABELS } } },
        data: {
          values: [
            { run: LABELS[0], key: 'loss', step: 0, value: 1 },
            { run: LABELS[0], key: 'loss', step: 9, value: 0.4 },
            { run: LABELS[1], key: 'loss', step: 20, value: 0.2 }
          ]
        }
      }
    });
    mocked.getParallelChart.mockResolvedValue({ spec: {} });
    mocked.getScatterChart.mockResolvedValue({ spec: {} });
  });

  afterEach(() => {
    mounted?.unmount();
    mounted = null;
    jest.useRealTimers();
  });

  it('adds the running run’s new points, then stops polling once it finished', async () => {
    mocked.compareRuns
      .mockResolvedValueOnce(comparison('running'))
      .mockResolvedValueOnce(comparison('running'))
      .mockResolvedValue(comparison('finished'));
    mounted = await mount(<CompareView runIds={IDS} />);
    for (let i = 0; i < 4; i++) {
      await flush(10);
    }
    const curve = (): Element | null =>
      mounted!.container.querySelector('.jp-workbench-Compare-liveCurve');
    expect(curve()?.getAttribute('data-points')).toBe('3');
    expect(mocked.getCurvesChart).toHaveBeenCalledTimes(1);

    // The second answer (still running) polls the running run from its last step drawn.
    await flush(LIVE_RELOAD_MS);
    await flush(10);
    await flush(10);
    const polls = (): unknown[][] => mocked.getMetrics.mock.calls.filter(c => c[1] !== undefined);
    expect(polls()).toEqual([[[IDS[0]], ['loss'], 1000, [9]]]);
    expect(views[0].inserted).toEqual([
      [
        { run: LABELS[0], key: 'loss', step: 10, value: 0.35 },
        { run: LABELS[0], key: 'loss', step: 11, value: 0.3 }
      ]
    ]);
    expect(curve()?.getAttribute('data-points')).toBe('5');
    expect(curve()?.getAttribute('data-last-step')).toBe('20');
    // The finished run's detail was fetched once; the running one's at each reload.
    expect(mocked.getRun.mock.calls.filter(c => c[0] === IDS[1])).toHaveLength(1);
    expect(mocked.getRun.mock.calls.filter(c => c[0] === IDS[0])).toHaveLength(2);

    // It finished: one last poll for its last points, then nothing more is asked.
    await flush(LIVE_RELOAD_MS);
    await flush(10);
    await flush(10);
    expect(polls()).toHaveLength(2);
    expect(polls()[1]).toEqual([[IDS[0]], ['loss'], 1000, [11]]);
    const compares = mocked.compareRuns.mock.calls.length;
    await flush(3 * LIVE_RELOAD_MS);
    expect(mocked.compareRuns.mock.calls.length).toBe(compares);
    expect(polls()).toHaveLength(2);
    // The whole chart was never fetched again.
    expect(mocked.getCurvesChart).toHaveBeenCalledTimes(1);
    expect(mounted.container.querySelector('.jp-workbench-StatusBadge')?.textContent).toBe(
      'finished'
    );
  });
});
