import { groupRuns, higherIsBetter } from '../components/runs/grouping';
import { IRun } from '../tokens';

function run(i: number, params: { [k: string]: string }, rmse: number, sweep?: string): IRun {
  return {
    run_id: `run${i}`,
    run_name: `r${i}`,
    experiment: i < 2 ? 'a' : 'b',
    status: 'finished',
    start_time: 0,
    end_time: 1,
    source: 'sweep',
    parent_run_id: null,
    origin: '',
    params,
    metrics: { rmse, r2: 1 - rmse / 100 },
    tags: sweep ? { sweep_id: sweep } : {}
  };
}

const RUNS = [
  run(0, { depth: '2' }, 50, 'sweep1'),
  run(1, { depth: '3' }, 48, 'sweep1'),
  run(2, { depth: '2' }, 47),
  run(3, {}, 52, 'sweep2')
];

describe('groupRuns', () => {
  it('groups by sweep with counts and the best value of the metric', () => {
    const groups = groupRuns(RUNS, 'sweep', 'rmse');
    expect(groups.map(g => [g.label, g.runs.length, g.best])).toEqual([
      ['sweep sweep1', 2, 48],
      ['not in a sweep', 1, 47],
      ['sweep sweep2', 1, 52]
    ]);
  });

  it('groups by a parameter and by experiment, best by the sort direction or the name', () => {
    const byDepth = groupRuns(RUNS, 'param:depth', 'r2');
    expect(byDepth.map(g => [g.label, g.runs.length, g.best])).toEqual([
      ['depth = 2', 2, 0.53],
      ['depth = 3', 1, 0.52],
      ['depth not set', 1, 0.48]
    ]);
    const byExperiment = groupRuns(RUNS, 'experiment', 'rmse', 'DESC');
    expect(byExperiment.map(g => [g.key, g.best])).toEqual([
      ['a', 50],
      ['b', 52]
    ]);
    expect(higherIsBetter('val_accuracy')).toBe(true);
    expect(higherIsBetter('rmse')).toBe(false);
  });
});
