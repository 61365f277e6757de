/**
 * A run's lineage: the server-drawn graph of the runs and files linked to it (upstream
 * left, downstream right), a depth selector, and the linked runs as lists.
 */
import * as React from 'react';
import { Button, HTMLSelect, launchIcon } from '@jupyterlab/ui-components';

import { getLineage } from '../api';
import { shortId } from '../format';
import { useRequest } from '../hooks';
import { ILineageNode, ILineageReply } from '../tokens';
import { StatusBadge } from './Badges';
import { BusyNotice } from './BusyNotice';

/** CSS class of the lineage view. */
export const LINEAGE_CLASS = 'jp-workbench-Lineage';

/** The depth asked for first, as the server's default. */
const DEFAULT_DEPTH = 3;

/** "fit" shrinks the graph no further than this: smaller text cannot be read. */
const MIN_SCALE = 0.7;

/** The server accepts depths 1 to 10. */
const DEPTHS = Array.from({ length: 10 }, (_, i) => ({
  label: String(i + 1),
  value: String(i + 1)
}));

/**
 * Props of {@link Lineage}.
 */
export interface ILineageProps {
  /** The full id of the run at the centre of the graph. */
  runId: string;
  /** Shows another run's detail; run nodes and list entries are inert without it. */
  openRun?: (runId: string) => void;
  /** Opens this lineage in a main-area tab; no button without it. */
  openInTab?: (runId: string) => void;
}

interface ILineageState {
  data: ILineageReply | null;
  error: string | null;
  loading: boolean;
  busy: boolean;
}

/** Fetch the graph; the previous one stays (dimmed) while another depth loads. */
function useLineage(runId: string, depth: number): ILineageState {
  const { data, error, loading, busy } = useRequest(JSON.stringify([runId, depth]), () =>
    getLineage(runId, depth)
  );
  // A graph of another run than asked for is stale: never show it.
  const shown = data && !error && data.run_id === runId ? data : null;
  return { data: shown, error, loading, busy };
}

/** The run id of the `[data-run-id]` node an event happened in, unless it is `focus`. */
function runIdAt(target: EventTarget | null, container: HTMLElement, focus: string): string | null {
  if (!(target instanceof Element)) {
    return null;
  }
  const node = target.closest('[data-run-id]');
  if (!node || !container.contains(node)) {
    return null;
  }
  const runId = node.getAttribute('data-run-id');
  return runId && runId !== focus ? runId : null;
}

/** The server's SVG, inserted as is, with its run nodes made clickable and focusable. */
function Graph(props: {
  data: ILineageReply;
  fit: boolean;
  openRun?: (runId: string) => void;
}): JSX.Element {
  const { data, openRun } = props;
  const ref = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    const svg = ref.current?.querySelector('svg');
    if (!svg) {
      return;
    }
    // Scaling to the panel's width needs a viewBox; add one from the drawn size.
    const width = parseFloat(svg.getAttribute('width') ?? '');
    const height = parseFloat(svg.getAttribute('height') ?? '');
    if (!svg.hasAttribute('viewBox') && width > 0 && height > 0) {
      svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    }
    svg.style.minWidth = props.fit && width > 0 ? `${Math.round(width * MIN_SCALE)}px` : '';
    // A graph wider than the view scrolls: start with the focus run in the middle.
    const container = ref.current!;
    const focus = svg.querySelector(`[data-node-id="run:${CSS.escape(data.run_id)}"]`);
    if (focus && container.scrollWidth > container.clientWidth) {
      const box = focus.getBoundingClientRect();
      const view = container.getBoundingClientRect();
      container.scrollLeft += box.left + box.width / 2 - (view.left + view.width / 2);
    }
    if (!openRun) {
      return;
    }
    for (const node of Array.from(svg.querySelectorAll('[data-run-id]'))) {
      if (node.getAttribute('data-run-id') !== data.run_id) {
        node.setAttribute('tabindex', '0');
        node.setAttribute('role', 'link');
        node.classList.add('jp-mod-link');
      }
    }
  }, [data.svg, data.run_id, openRun, props.fit]);

  const open = (target: EventTarget | null): boolean => {
    const runId = ref.current && openRun ? runIdAt(target, ref.current, data.run_id) : null;
    if (runId && openRun) {
      openRun(runId);
      return true;
    }
    return false;
  };
  return (
    <div
      ref={ref}
      className={`${LINEAGE_CLASS}-graph${props.fit ? ' jp-mod-fit' : ''}`}
      onClick={event => open(event.target)}
      onKeyDown={event => {
        if ((event.key === 'Enter' || event.key === ' ') && open(event.target)) {
          event.preventDefault();
        }
      }}
      // Generated and escaped by the Workbench server (labels are XML-escaped there).
      dangerouslySetInnerHTML={{ __html: data.svg }}
    />
  );
}

function RunList(props: {
  title: string;
  className: string;
  runIds: string[];
  nodes: Map<string, ILineageNode>;
  openRun?: (runId: string) => void;
}): JSX.Element {
  const { runIds, nodes, openRun } = props;
  return (
    <div className={`${LINEAGE_CLASS}-runs ${props.className}`}>
      <div className={`${LINEAGE_CLASS}-runsTitle`}>
        {props.title} ({runIds.length})
      </div>
      {runIds.length === 0 ? (
        <div className="jp-workbench-note">none</div>
      ) : (
        <ul>
          {runIds.map(runId => {
            const node = nodes.get(runId);
            const label = node?.label || shortId(runId);
            return (
              <li key={runId} title={runId}>
                {node?.status && <StatusBadge status={node.status} />}
                {openRun ? (
                  <button
                    className={`${LINEAGE_CLASS}-runLink`}
                    data-run-id={runId}
                    onClick={() => openRun(runId)}
                  >
                    {label}
                  </button>
                ) : (
                  <span>{label}</span>
                )}
                <code>{shortId(runId)}</code>
                {node?.experiment && (
                  <span className={`${LINEAGE_CLASS}-experiment`}>{node.experiment}</span>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

/** Depth, fit, a spinner while loading, and "Open in tab". */
function Toolbar(props: {
  depth: number;
  onDepth: (depth: number) => void;
  /** Whether the graph is scaled to the view; null hides the checkbox (no graph). */
  fit: boolean | null;
  onFit: (fit: boolean) => void;
  loading: boolean;
  onOpenTab?: () => void;
}): JSX.Element {
  return (
    <div className={`${LINEAGE_CLASS}-toolbar`}>
      <label title="How many links to follow upstream and downstream">
        Depth{' '}
        <HTMLSelect
          className={`${LINEAGE_CLASS}-depth`}
          aria-label="Lineage depth"
          value={String(props.depth)}
          options={DEPTHS}
          onChange={event => props.onDepth(Number(event.currentTarget.value))}
        />
      </label>
      {props.fit !== null && (
        <label title="Scale the graph to the width of the view">
          <input
            type="checkbox"
            checked={props.fit}
            onChange={event => props.onFit(event.currentTarget.checked)}
          />
          fit
        </label>
      )}
      {props.loading && <span className="jp-workbench-Spinner" aria-label="Loading" />}
      {props.onOpenTab && (
        <Button
          small
          minimal
          className={`${LINEAGE_CLASS}-openTab`}
          title="Open this lineage in a tab, where the graph has room"
          onClick={props.onOpenTab}
        >
          <launchIcon.react tag="span" className={`${LINEAGE_CLASS}-buttonIcon`} />
          Open in tab
        </Button>
      )}
    </div>
  );
}

/**
 * The lineage of one run.
 *
 * @param props - The run and a way to open other runs.
 * @returns The lineage view.
 */
export function Lineage(props: ILineageProps): JSX.Element {
  const { runId, openRun, openInTab } = props;
  const [depth, setDepth] = React.useState(DEFAULT_DEPTH);
  const [fit, setFit] = React.useState(true);
  const { data, error, loading, busy } = useLineage(runId, depth);
  const runNodes = React.useMemo(() => {
    const map = new Map<string, ILineageNode>();
    for (const node of data?.nodes ?? []) {
      if (node.type === 'run' && node.run_id) {
        map.set(node.run_id, node);
      }
    }
    return map;
  }, [data]);
  const empty = data !== null && (data.edges.length === 0 || data.nodes.length <= 1);

  return (
    <div className={`${LINEAGE_CLASS}${loading ? ' jp-mod-loading' : ''}`} data-run-id={runId}>
      <Toolbar
        depth={depth}
        onDepth={setDepth}
        fit={data && !empty ? fit : null}
        onFit={setFit}
        loading={loading}
        onOpenTab={openInTab ? () => openInTab(runId) : undefined}
      />
      {busy && <BusyNotice />}
      {error && (
        <div className="jp-workbench-error" role="alert">
          {error}
        </div>
      )}
      {data &&
        (empty ? (
          <p className={`${LINEAGE_CLASS}-empty jp-workbench-note`}>
            No recorded datasets or artifacts link this run to others.
          </p>
        ) : (
          <>
            <Graph data={data} fit={fit} openRun={openRun} />
            <RunList
              title="Upstream runs"
              className={`${LINEAGE_CLASS}-upstream`}
              runIds={data.upstream_runs}
              nodes={runNodes}
              openRun={openRun}
            />
            <RunList
              title="Downstream runs"
              className={`${LINEAGE_CLASS}-downstream`}
              runIds={data.downstream_runs}
              nodes={runNodes}
              openRun={openRun}
            />
          </>
        ))}
    </div>
  );
}
