import * as React from 'react';

import { StoreBusyError } from '../api';
import { BusyNotice, STORE_BUSY_TEXT } from '../components/BusyNotice';
import { IRequestState, useRequest } from '../hooks';
import { flush, IMounted, mount } from './render';

/** Renders the hook's state as text, so tests read what a component would show. */
function Probe(props: {
  requestKey: string | null;
  request: () => Promise<string>;
  version?: number;
}): JSX.Element {
  const state: IRequestState<string> = useRequest(props.requestKey, props.request, props.version);
  return (
    <div>
      {state.busy && <BusyNotice />}
      <span className="data">{state.data ?? ''}</span>
      <span className="stale">{String(state.isStale)}</span>
      <span className="error">{state.error ?? ''}</span>
      <span className="loading">{String(state.loading)}</span>
    </div>
  );
}

function busy(seconds: number): StoreBusyError {
  return new StoreBusyError(new Response('', { status: 503 }), 'store busy: locked', seconds);
}

function read(m: IMounted, part: string): string {
  return m.container.querySelector(`.${part}`)?.textContent ?? '';
}

let mounted: IMounted | null = null;

afterEach(() => {
  mounted?.unmount();
  mounted = null;
  jest.useRealTimers();
});

describe('useRequest', () => {
  it('fetches once per key and shows the answer', async () => {
    const request = jest.fn().mockResolvedValue('one');
    mounted = await mount(<Probe requestKey="a" request={request} />);
    await flush();
    expect(read(mounted, 'data')).toBe('one');
    expect(read(mounted, 'loading')).toBe('false');
    expect(request).toHaveBeenCalledTimes(1);
  });

  it('sends nothing for a null key', async () => {
    const request = jest.fn().mockResolvedValue('one');
    mounted = await mount(<Probe requestKey={null} request={request} />);
    await flush();
    expect(request).not.toHaveBeenCalled();
    expect(read(mounted, 'loading')).toBe('false');
  });

  it('drops the answer of a key that is no longer current', async () => {
    let answerOld: (value: string) => void = () => undefined;
    const old = (): Promise<string> => new Promise(resolve => (answerOld = resolve));
    mounted = await mount(<Probe requestKey="old" request={old} />);
    await flush();
    await React.act(async () => {
      mounted?.root.render(<Probe requestKey="new" request={() => Promise.resolve('new')} />);
    });
    await flush();
    answerOld('old');
    await flush();
    expect(read(mounted, 'data')).toBe('new');
    expect(read(mounted, 'stale')).toBe('false');
  });

  it('keeps the data while another key loads, marked stale', async () => {
    mounted = await mount(<Probe requestKey="a" request={() => Promise.resolve('A')} />);
    await flush();
    await React.act(async () => {
      mounted?.root.render(<Probe requestKey="b" request={() => new Promise(() => undefined)} />);
    });
    expect(read(mounted, 'data')).toBe('A');
    expect(read(mounted, 'stale')).toBe('true');
    expect(read(mounted, 'loading')).toBe('true');
  });

  it('reports an error message and keeps the last answer', async () => {
    const request = jest
      .fn()
      .mockResolvedValueOnce('fine')
      .mockRejectedValueOnce(new Error('broken'));
    mounted = await mount(<Probe requestKey="a" request={request} version={1} />);
    await flush();
    await React.act(async () => {
      mounted?.root.render(<Probe requestKey="a" request={request} version={2} />);
    });
    await flush();
    expect(read(mounted, 'error')).toBe('broken');
    expect(read(mounted, 'data')).toBe('fine');
    expect(read(mounted, 'stale')).toBe('false');
  });

  it('shows "store busy, retrying" instead of an error and retries after Retry-After', async () => {
    jest.useFakeTimers();
    const request = jest.fn().mockRejectedValueOnce(busy(4)).mockResolvedValueOnce('after');
    mounted = await mount(<Probe requestKey="a" request={request} />);
    await flush(10);
    expect(mounted.container.textContent).toContain(STORE_BUSY_TEXT);
    expect(read(mounted, 'error')).toBe('');
    expect(request).toHaveBeenCalledTimes(1);

    await flush(3900);
    expect(request).toHaveBeenCalledTimes(1);
    await flush(200);
    expect(request).toHaveBeenCalledTimes(2);
    expect(read(mounted, 'data')).toBe('after');
    expect(mounted.container.textContent).not.toContain(STORE_BUSY_TEXT);
  });

  it('stops retrying once unmounted', async () => {
    jest.useFakeTimers();
    const request = jest.fn().mockRejectedValue(busy(1));
    mounted = await mount(<Probe requestKey="a" request={request} />);
    await flush(10);
    mounted.unmount();
    mounted = null;
    await jest.advanceTimersByTimeAsync(5000);
    expect(request).toHaveBeenCalledTimes(1);
  });
});
