import * as React from 'react';

import * as api from '../api';
import { TuneHistory } from '../components/detail/TuneHistory';
import { ITuneReply } from '../tokens';
import { flush, IMounted, mount } from './render';

jest.mock('../api', () => ({ ...jest.requireActual('../api'), getTune: jest.fn() }));

// vega-embed draws nothing in jsdom: record what it was asked to draw.
const embed = jest.fn(async (element: HTMLElement, spec: unknown) => {
  element.setAttribute('data-spec', JSON.stringify(spec));
  return { finalize: jest.fn() };
});
jest.mock('vega-embed', () => ({
  __esModule: true,
  default: (...args: unknown[]) => embed(...(args as [HTMLElement, unknown]))
}));

const getTune = api.getTune as jest.Mock;

const trial = (
  n: number,
  state: string,
  value: number | null,
  best: number | null,
  alpha: string
) => ({
  trial: n,
  run_id: `run${n}`.padEnd(32, '0'),
  state,
  value,
  best_so_far: best,
  params: { alpha }
});

const HISTORY = {
  tune_id: 'abcd1234',
  study: 'diabetes-rmse',
  objective: 'rmse',
  direction: 'minimize',
  trials: [
    trial(0, 'complete', 5, 5, '0.1'),
    trial(1, 'complete', 3, 3, '0.5'),
    trial(2, 'pruned', null, 3, '0.9'),
    trial(3, 'fail', null, 3, '0.7')
  ],
  best: trial(1, 'complete', 3, 3, '0.5'),
  chart: { mark: 'point', data: { values: [] } }
} as unknown as ITuneReply;

describe('TuneHistory', () => {
  let mounted: IMounted | null = null;
  afterEach(() => {
    mounted?.unmount();
    mounted = null;
    jest.clearAllMocks();
  });

  it('lists every trial, marks the best and the run shown, and draws the history', async () => {
    getTune.mockResolvedValue(HISTORY);
    const openRun = jest.fn();
    mounted = await mount(
      <TuneHistory
        tuneId="abcd1234"
        runId={HISTORY.trials[2].run_id}
        version="v"
        openRun={openRun}
      />
    );
    await flush();
    expect(getTune).toHaveBeenCalledWith('abcd1234');
    const root = mounted.container;
    const summary = root.querySelector('.jp-workbench-TuneHistory-summary')!.textContent;
    expect(summary).toBe('diabetes-rmse: 4 trials, minimizing rmse; best: trial 1 = 3 (alpha=0.5)');
    const rows = [...root.querySelectorAll('tbody tr')];
    expect(rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))).toEqual([
      ['0', 'complete', '5', '5', '0.1'],
      ['1', 'complete', '3 ★', '3', '0.5'],
      ['2', 'pruned', '–', '3', '0.9'],
      ['3', 'fail', '–', '3', '0.7']
    ]);
    expect(rows.map(r => r.className)).toEqual(['', 'jp-mod-best', 'jp-mod-current', '']);
    expect([...root.querySelectorAll('thead th')].map(th => th.textContent)).toEqual([
      '#',
      'state',
      'rmse',
      'best so far',
      'alpha'
    ]);
    expect(JSON.parse(root.querySelector('[data-spec]')!.getAttribute('data-spec')!)).toEqual(
      HISTORY.chart
    );
    (rows[0] as HTMLElement).click();
    expect(openRun).toHaveBeenCalledWith(HISTORY.trials[0].run_id);
  });

  it('says so when no trial has a value yet, and shows a server error', async () => {
    getTune.mockResolvedValue({ ...HISTORY, best: null, chart: null });
    mounted = await mount(<TuneHistory tuneId="abcd1234" runId="x" version="v" />);
    await flush();
    expect(mounted.container.textContent).toContain('No trial has a value yet.');
    mounted.unmount();
    getTune.mockRejectedValue(new Error("no runs of a tune 'abcd1234'"));
    mounted = await mount(<TuneHistory tuneId="abcd1234" runId="x" version="v" />);
    await flush();
    expect(mounted.container.querySelector('.jp-workbench-error')!.textContent).toContain(
      'no runs of a tune'
    );
  });
});
