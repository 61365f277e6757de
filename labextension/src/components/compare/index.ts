/**
 * The comparison view's React components.
 */
export { COMPARE_CLASS, CURVE_PROBE_POINTS, LIVE_RELOAD_MS } from './constants';
export { CompareView, ICompareViewProps } from './CompareView';
export { Curves, ICurvesProps } from './Curves';
export { DatasetsTable, oddHashes } from './DatasetsTable';
export { Details, IDetailsProps } from './Details';
export { DriftTable, IDriftTableProps } from './DriftTable';
export { MetricsTable } from './MetricsTable';
export { IParallelCoordinatesProps, ParallelCoordinates } from './ParallelCoordinates';
export { ParamsTable } from './ParamsTable';
export { IRunHeadersProps, RunHeaders } from './RunHeaders';
export { ISectionProps, Section } from './Section';
export { curveKeys, IComparison, useComparison } from './useComparison';
