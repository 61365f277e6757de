/**
 * vega-lite v5 specs of the comparison charts: metric curves and parallel coordinates.
 */
import type { VisualizationSpec } from 'vega-embed';

import { formatMetric } from './format';
import { IMetricSeries } from './tokens';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** Curves with at most this many points per run also draw their points. */
const MAX_POINTS_MARKED = 30;

/**
 * One metric's curves, one line per run.
 *
 * @param key - The metric name.
 * @param series - The runs' curves of that metric.
 * @param labelOf - The legend label of a run id.
 * @param runLabels - Every compared run's label, in order, so colours match across charts.
 * @returns A line chart spec.
 */
export function curvesSpec(
  key: string,
  series: ReadonlyArray<IMetricSeries>,
  labelOf: (runId: string) => string,
  runLabels: ReadonlyArray<string>
): VisualizationSpec {
  const values: { run: string; step: number; value: number }[] = [];
  let longest = 0;
  for (const s of series) {
    const run = labelOf(s.run_id);
    longest = Math.max(longest, s.steps.length);
    s.steps.forEach((step, i) => values.push({ run, step, value: s.values[i] }));
  }
  return {
    $schema: SCHEMA,
    title: key,
    width: 'container',
    height: 200,
    data: { values },
    mark: { type: 'line', point: longest <= MAX_POINTS_MARKED, tooltip: true },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: key, scale: { zero: false } },
      color: {
        field: 'run',
        type: 'nominal',
        title: 'run',
        scale: { domain: [...runLabels] },
        legend: { orient: 'bottom', columns: 2, labelLimit: 260 }
      },
      tooltip: [
        { field: 'run', type: 'nominal' },
        { field: 'step', type: 'quantitative' },
        { field: 'value', type: 'quantitative', format: '.5~g' }
      ]
    }
  };
}

/** One axis of the parallel coordinates: a param or the chosen metric. */
export interface IDimension {
  name: string;
  /** One value per run; null where the run lacks it. */
  values: ReadonlyArray<string | number | null>;
}

interface IScaled {
  /** Positions in [0, 1] per run (null where missing). */
  positions: (number | null)[];
  /** Labels drawn along the axis. */
  ticks: { position: number; label: string }[];
}

/** Place a dimension's values on [0, 1]: numbers linearly, anything else as categories. */
function scale(values: ReadonlyArray<string | number | null>): IScaled {
  const present = values.filter((v): v is string | number => v !== null && v !== '');
  const numbers = present.map(v => (typeof v === 'number' ? v : Number(v)));
  // Params arrive as strings ("0.1"); they are numeric when every present value parses.
  if (present.length > 0 && numbers.every(n => isFinite(n))) {
    const lo = Math.min(...numbers);
    const hi = Math.max(...numbers);
    const at = (n: number): number => (hi === lo ? 0.5 : (n - lo) / (hi - lo));
    return {
      positions: values.map(v => (v === null || v === '' ? null : at(Number(v)))),
      ticks:
        hi === lo
          ? [{ position: 0.5, label: formatMetric(lo) }]
          : [
              { position: 0, label: formatMetric(lo) },
              { position: 1, label: formatMetric(hi) }
            ]
    };
  }
  const categories = [...new Set(present.map(String))].sort();
  const at = (c: string): number =>
    categories.length === 1 ? 0.5 : categories.indexOf(c) / (categories.length - 1);
  return {
    positions: values.map(v => (v === null || v === '' ? null : at(String(v)))),
    ticks: categories.map(c => ({ position: at(c), label: c }))
  };
}

/**
 * Parallel coordinates: one vertical axis per dimension, one line per run.
 *
 * @param dimensions - The params, then the metric, in axis order.
 * @param runLabels - The runs' labels, in the order of the dimensions' values.
 * @returns A layered spec (axes, lines, points with tooltips, axis labels).
 */
export function parallelSpec(
  dimensions: ReadonlyArray<IDimension>,
  runLabels: ReadonlyArray<string>
): VisualizationSpec {
  const names = dimensions.map(d => d.name);
  const lines: { run: string; dim: string; y: number; value: string }[] = [];
  const ticks: { dim: string; y: number; label: string }[] = [];
  for (const dim of dimensions) {
    const scaled = scale(dim.values);
    scaled.positions.forEach((y, i) => {
      if (y !== null) {
        lines.push({ run: runLabels[i], dim: dim.name, y, value: String(dim.values[i]) });
      }
    });
    for (const t of scaled.ticks) {
      ticks.push({ dim: dim.name, y: t.position, label: t.label });
    }
  }
  const x = {
    field: 'dim',
    type: 'nominal' as const,
    scale: { domain: names },
    title: null,
    axis: { labelAngle: 0, orient: 'bottom' as const, domain: false, ticks: false, labelLimit: 140 }
  };
  const y = {
    field: 'y',
    type: 'quantitative' as const,
    scale: { domain: [0, 1] },
    axis: null
  };
  return {
    $schema: SCHEMA,
    width: 'container',
    height: 260,
    layer: [
      {
        data: { values: names.map(dim => ({ dim, y: 0, y2: 1 })) },
        mark: { type: 'rule', opacity: 0.6 },
        encoding: { x, y, y2: { field: 'y2' } }
      },
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 2, opacity: 0.85 },
        encoding: {
          x,
          y,
          detail: { field: 'run', type: 'nominal' },
          color: {
            field: 'run',
            type: 'nominal',
            title: 'run',
            scale: { domain: [...runLabels] },
            legend: { orient: 'bottom', columns: 2, labelLimit: 260 }
          }
        }
      },
      {
        data: { values: lines },
        mark: { type: 'point', filled: true, size: 40 },
        encoding: {
          x,
          y,
          color: { field: 'run', type: 'nominal', scale: { domain: [...runLabels] }, legend: null },
          tooltip: [
            { field: 'run', type: 'nominal' },
            { field: 'dim', type: 'nominal', title: 'axis' },
            { field: 'value', type: 'nominal' }
          ]
        }
      },
      {
        data: { values: ticks },
        mark: { type: 'text', align: 'left', dx: 5, fontSize: 10 },
        encoding: { x, y, text: { field: 'label', type: 'nominal' } }
      }
    ]
  };
}
