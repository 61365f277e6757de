import * as React from 'react';

import { MetricsTable } from '../components/compare';
import { buildColumns } from '../components/runs/columns';
import { groupRuns } from '../components/runs/grouping';
import { modelBest, modelFirst, splitMetrics, systemLabel } from '../metricGroups';
import { ICompareReply, IRun } from '../tokens';
import { IMounted, mount } from './render';

const CPU = 'system/cpu_utilization_percentage';
const GPU = 'system/gpu_0_utilization_percentage';

describe('the System group', () => {
  it('splits system metrics from the model’s, each keeping its order', () => {
    expect(splitMetrics([CPU, 'rmse', GPU, 'loss'])).toEqual({
      model: ['rmse', 'loss'],
      system: [CPU, GPU]
    });
    expect(modelFirst([GPU, 'rmse', CPU])).toEqual(['rmse', GPU, CPU]);
    expect(systemLabel(CPU)).toBe('cpu_utilization_percentage');
    // Only the prefix counts: a metric named like it elsewhere stays the model's.
    expect(splitMetrics(['val/system_loss']).model).toEqual(['val/system_loss']);
  });

  it('never names a best run for a system metric', () => {
    expect(modelBest({ rmse: 1, [CPU]: 0 })).toEqual({ rmse: 1 });
  });

  it('puts system metric columns after the parameters, short-named, in their group', () => {
    const columns = buildColumns(['alpha'], [CPU, 'rmse', GPU]);
    expect(columns.map(c => c.id)).toEqual([
      'status',
      'name',
      'metrics.rmse',
      'params.alpha',
      `metrics.${CPU}`,
      `metrics.${GPU}`,
      'origin',
      'start',
      'duration'
    ]);
    const cpu = columns.find(c => c.id === `metrics.${CPU}`);
    expect(cpu?.label).toBe('cpu_utilization_percentage');
    expect(cpu?.group).toBe('system');
    expect(cpu?.description).toContain(`System: ${CPU}`);
    expect(columns.find(c => c.id === 'metrics.rmse')?.group).toBeUndefined();
  });

  it('shows no best value in a run group sorted by a system metric', () => {
    const run = (i: number, cpu: number): IRun => ({
      run_id: `r${i}`,
      run_name: `r${i}`,
      experiment: 'e',
      status: 'finished',
      start_time: 0,
      end_time: 1,
      source: '',
      parent_run_id: null,
      origin: '',
      params: {},
      metrics: { [CPU]: cpu, rmse: 10 - i },
      tags: {}
    });
    const runs = [run(0, 30), run(1, 80)];
    expect(groupRuns(runs, 'experiment', CPU, 'ASC')[0].best).toBeNull();
    expect(groupRuns(runs, 'experiment', 'rmse', 'ASC')[0].best).toBe(9);
  });
});

describe('the compared final metrics', () => {
  let mounted: IMounted | null = null;
  afterEach(() => {
    mounted?.unmount();
    mounted = null;
  });

  it('lists system metrics under a System row, never starred', async () => {
    const data: ICompareReply = {
      runs: ['a', 'b'].map(run_id => ({
        run_id,
        run_name: run_id,
        status: 'finished',
        experiment: 'e',
        origin: ''
      })),
      params: {},
      differing_params: [],
      metrics: { [CPU]: [20, 80], rmse: [50, 40] },
      // A server that starred one anyway (an older one): the table still does not.
      best: { rmse: 1, [CPU]: 0 },
      sources: [null, null],
      notebooks_differ: false
    };
    mounted = await mount(<MetricsTable data={data} />);
    const bodies = mounted.container.querySelectorAll('tbody');
    expect(bodies).toHaveLength(2);
    const names = (body: Element): string[] =>
      Array.from(body.querySelectorAll('tr[data-metric] th')).map(th => th.textContent ?? '');
    expect(names(bodies[0])).toEqual(['rmse']);
    expect(bodies[1].getAttribute('data-group')).toBe('system');
    expect(bodies[1].querySelector('.jp-workbench-Compare-groupRow')?.textContent).toBe('System');
    expect(names(bodies[1])).toEqual(['cpu_utilization_percentage']);
    expect(bodies[1].querySelector('.jp-mod-best')).toBeNull();
    expect(bodies[0].querySelectorAll('.jp-mod-best')).toHaveLength(1);
  });
});
