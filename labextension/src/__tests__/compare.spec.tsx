import * as React from 'react';

import * as api from '../api';
import { CompareView, curveKeys } from '../components/compare';
import { STORE_BUSY_TEXT } from '../components/BusyNotice';
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

// vega-embed draws nothing in jsdom: record what it was asked to draw.
const embed = jest.fn(async (element: HTMLElement, spec: unknown) => {
  element.setAttribute('data-spec', JSON.stringify(spec));
  return { finalize: jest.fn() };
});
jest.mock('vega-embed', () => ({
  __esModule: true,
  default: (...args: unknown[]) => embed(...(args as [HTMLElement, unknown]))
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

const COMPARISON: ICompareReply = {
  runs: IDS.map((run_id, i) => ({
    run_id,
    run_name: `run${i}`,
    status: 'finished',
    experiment: 'demo',
    origin: 'magic'
  })),
  params: { alpha: ['0.1', '1.0'], model: ['ridge', 'ridge'] },
  differing_params: ['alpha'],
  metrics: { rmse: [55.2, 54.1], loss: [0.3, 0.2] },
  best: { rmse: 1 },
  sources: ['x = 1\n', 'x = 2\n'],
  notebooks_differ: false
};

function detail(run_id: string): IRunDetail {
  return {
    run_id,
    run_name: run_id.slice(0, 4),
    experiment: 'demo',
    status: 'finished',
    start_time: 0,
    end_time: 1000,
    duration_s: 1,
    source: '',
    parent_run_id: null,
    origin: 'magic',
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

function busy(seconds: number): api.StoreBusyError {
  return new api.StoreBusyError(new Response('', { status: 503 }), 'store busy', seconds);
}

let mounted: IMounted | null = null;

beforeEach(() => {
  jest.clearAllMocks();
  mocked.compareRuns.mockResolvedValue(COMPARISON);
  mocked.getRun.mockImplementation(async (id: string) => detail(id));
  // rmse was logged once per run (a final value), loss at several steps.
  mocked.getMetrics.mockResolvedValue({
    series: [
      { run_id: IDS[0], key: 'rmse', steps: [0], values: [55.2] },
      { run_id: IDS[0], key: 'loss', steps: [0, 9], values: [1, 0.3] },
      { run_id: IDS[1], key: 'loss', steps: [0, 4, 9], values: [1, 0.5, 0.2] }
    ]
  });
  mocked.getCurvesChart.mockImplementation(async (_ids: string[], key: string) => ({
    spec: { title: `curves of ${key}` }
  }));
  mocked.getParallelChart.mockResolvedValue({ spec: { title: 'parallel' } });
  mocked.getScatterChart.mockResolvedValue({ spec: { title: 'scatter' } });
});

afterEach(() => {
  mounted?.unmount();
  mounted = null;
  jest.useRealTimers();
});

function drawn(m: IMounted): unknown[] {
  return Array.from(m.container.querySelectorAll('.jp-workbench-Chart[data-spec]')).map(node =>
    JSON.parse(node.getAttribute('data-spec') ?? 'null')
  );
}

describe('CompareView charts', () => {
  it('asks for smoothed curves when the slider moves', async () => {
    jest.useFakeTimers();
    mounted = await mount(<CompareView runIds={IDS} />);
    await flush();
    await flush();
    const slider = mounted.container.querySelector(
      '.jp-workbench-Compare-smoothing'
    ) as HTMLInputElement;
    expect(slider).not.toBeNull();
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set;
    setValue?.call(slider, '0.6');
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    jest.advanceTimersByTime(300);
    await flush();
    expect(mocked.getCurvesChart).toHaveBeenLastCalledWith(IDS, 'loss', undefined, {
      smoothing: 0.6
    });
  });

  it('draws the specs the server builds: curves per stepped metric, parallel coordinates', async () => {
    mounted = await mount(<CompareView runIds={IDS} />);
    await flush();
    await flush();

    // Only a few points per curve are asked for: just enough to see which have steps.
    expect(mocked.getMetrics).toHaveBeenCalledWith(IDS, undefined, 4);
    expect(mocked.getCurvesChart).toHaveBeenCalledTimes(1);
    // Plain curves until the controls ask for smoothing, a log scale or a time axis.
    expect(mocked.getCurvesChart).toHaveBeenCalledWith(IDS, 'loss', undefined, {});
    // The best-known metric on the last axis, the differing params on the others (the
    // width is unknown in jsdom: the chart fills its container).
    expect(mocked.getParallelChart).toHaveBeenCalledWith(
      IDS,
      'rmse',
      ['alpha'],
      undefined,
      undefined
    );
    // A parameter against the metric.
    expect(mocked.getScatterChart).toHaveBeenCalledWith(IDS, 'alpha', 'rmse');
    expect(drawn(mounted)).toEqual([
      { title: 'curves of loss' },
      { title: 'parallel' },
      { title: 'scatter' }
    ]);
    expect(mounted.container.querySelector('.jp-workbench-Compare-toolbar h2')?.textContent).toBe(
      'Comparing 2 runs'
    );
  });

  it('shows the server error in place of a chart', async () => {
    mocked.getCurvesChart.mockRejectedValue(new Error('unknown metric loss'));
    mounted = await mount(<CompareView runIds={IDS} />);
    await flush();
    await flush();
    const section = mounted.container.querySelector('.jp-workbench-Compare-curvesSection');
    expect(section?.textContent).toContain('unknown metric loss');
  });

  it('waits out a busy store with a notice, not an error', async () => {
    jest.useFakeTimers();
    mocked.compareRuns.mockReset();
    mocked.compareRuns.mockRejectedValueOnce(busy(2)).mockResolvedValue(COMPARISON);
    mounted = await mount(<CompareView runIds={IDS} />);
    await flush(10);
    expect(mounted.container.textContent).toContain(STORE_BUSY_TEXT);
    expect(mounted.container.querySelector('.jp-workbench-error')).toBeNull();

    await flush(2000);
    await flush(10);
    expect(mocked.compareRuns).toHaveBeenCalledTimes(2);
    expect(mounted.container.textContent).not.toContain(STORE_BUSY_TEXT);
    expect(mounted.container.textContent).toContain('Comparing 2 runs');
  });

  it('lists curves only for metrics with more than one point', () => {
    expect(
      curveKeys([
        { run_id: 'a', key: 'z', steps: [0, 1], values: [1, 2] },
        { run_id: 'a', key: 'final', steps: [3], values: [1] },
        { run_id: 'b', key: 'a', steps: [0, 5], values: [1, 2] },
        { run_id: 'b', key: 'z', steps: [0, 1], values: [1, 2] }
      ])
    ).toEqual(['a', 'z']);
  });
});
