/**
 * A vega-lite chart rendered by vega-embed, coloured from the JupyterLab theme.
 */
import * as React from 'react';
import type { EmbedOptions, Result, VisualizationSpec } from 'vega-embed';

import { useThemeKey } from '../hooks';

/** CSS class of every chart container. */
export const CHART_CLASS = 'jp-workbench-Chart';

/** Vega config from the theme's CSS variables, so charts read in light and dark themes. */
function themeConfig(): EmbedOptions['config'] {
  const css = getComputedStyle(document.body);
  const v = (name: string): string => css.getPropertyValue(name).trim();
  const text = v('--jp-ui-font-color1');
  const muted = v('--jp-ui-font-color2');
  const lines = v('--jp-border-color2');
  const font = v('--jp-ui-font-family');
  return {
    background: 'transparent',
    font,
    axis: {
      labelColor: muted,
      titleColor: text,
      gridColor: lines,
      domainColor: lines,
      tickColor: lines
    },
    legend: { labelColor: muted, titleColor: text },
    title: { color: text },
    view: { stroke: lines },
    text: { color: text }
  };
}

/** A drawn chart's Vega view and the name of its inline data set (to add rows to). */
export interface IChartView {
  view: Result['view'];
  /** The data set holding the spec's inline values (`source_0` for Vega-Lite). */
  data: string;
}

/**
 * Props of {@link VegaChart}.
 */
export interface IVegaChartProps {
  /** A vega-lite v5 spec. */
  spec: VisualizationSpec;
  /** Accessible name of the chart. */
  label: string;
  /** Called with each drawn view (a live chart adds rows to it), and null when it goes. */
  onView?: (chart: IChartView | null) => void;
}

/**
 * Render a vega-lite spec; re-rendered when the spec or the theme changes.
 *
 * vega-embed (with vega and vega-lite, about 1 MB) is imported on first use, so it
 * loads only when a comparison is opened, not with JupyterLab.
 *
 * @param props - The spec and a label.
 * @returns The chart container (class `jp-workbench-Chart`).
 */
export function VegaChart(props: IVegaChartProps): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  const theme = useThemeKey();
  const [error, setError] = React.useState<string | null>(null);
  // Compared by content: parents rebuild spec objects on every render.
  const specText = JSON.stringify(props.spec);
  const onView = React.useRef(props.onView);
  React.useLayoutEffect(() => {
    onView.current = props.onView;
  });

  React.useEffect(() => {
    let cancelled = false;
    let finalize: (() => void) | null = null;
    import('vega-embed')
      .then(async ({ default: embed }) => {
        if (cancelled || !ref.current) {
          return;
        }
        const result = await embed(ref.current, JSON.parse(specText) as VisualizationSpec, {
          actions: false,
          renderer: 'svg',
          config: themeConfig()
        });
        if (cancelled) {
          result.finalize();
        } else {
          finalize = () => {
            onView.current?.(null);
            result.finalize();
          };
          setError(null);
          const inline = (result.vgSpec?.data ?? []).find(d => 'values' in d);
          if (result.view && inline) {
            onView.current?.({ view: result.view, data: inline.name });
          }
        }
      })
      .catch((reason: unknown) => {
        if (!cancelled) {
          setError(reason instanceof Error ? reason.message : String(reason));
        }
      });
    return () => {
      cancelled = true;
      finalize?.();
    };
  }, [specText, theme]);

  return (
    <figure className={`${CHART_CLASS}-figure`}>
      <div ref={ref} className={CHART_CLASS} role="img" aria-label={props.label} />
      {error && <div className="jp-workbench-error">Chart failed: {error}</div>}
    </figure>
  );
}
