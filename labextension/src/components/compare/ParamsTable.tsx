/**
 * The parameters of the compared runs side by side.
 */
import * as React from 'react';

import { distinctParams } from '../../format';
import { ICompareReply } from '../../tokens';
import { COMPARE_CLASS } from './constants';
import { RunHeaders } from './RunHeaders';

/**
 * Every parameter with one column per run; differing rows are marked and can be shown
 * alone.
 *
 * @param props - The comparison.
 * @returns The toggle and the table.
 */
export function ParamsTable(props: { data: ICompareReply }): JSX.Element {
  const { data } = props;
  const differing = new Set(data.differing_params);
  const [onlyDiffering, setOnlyDiffering] = React.useState(false);
  // Autologged copies (`Estimator.max_depth` beside `max_depth`) are left out.
  const names = distinctParams(data.params, Object.keys(data.params)).filter(
    n => !onlyDiffering || differing.has(n)
  );
  return (
    <>
      <label className={`${COMPARE_CLASS}-toggle`}>
        <input
          type="checkbox"
          checked={onlyDiffering}
          onChange={event => setOnlyDiffering(event.currentTarget.checked)}
        />
        Only the {differing.size} that differ
      </label>
      <div className={`${COMPARE_CLASS}-tableScroll`}>
        <table className={`${COMPARE_CLASS}-table ${COMPARE_CLASS}-params`}>
          <thead>
            <RunHeaders data={data} first="parameter" />
          </thead>
          <tbody>
            {names.map(name => (
              <tr key={name} className={differing.has(name) ? 'jp-mod-differs' : ''}>
                <th title={name}>{breakable(name)}</th>
                {data.params[name].map((value, i) => (
                  <td key={i} className={value === null ? 'jp-mod-missing' : ''}>
                    {value ?? '—'}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {names.length === 0 && <p className="jp-workbench-note">No parameters recorded.</p>}
    </>
  );
}

/**
 * A name that wraps only after its `.` and `_` separators, never mid-word.
 *
 * @param name - A parameter name.
 * @returns The name with line-break opportunities.
 */
export function breakable(name: string): React.ReactNode {
  return name.split(/(?<=[._])/).map((part, i) => (
    <React.Fragment key={i}>
      {i > 0 && <wbr />}
      {part}
    </React.Fragment>
  ));
}
