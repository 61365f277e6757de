import { ServerConnection } from '@jupyterlab/services';

import {
  DEFAULT_RETRY_AFTER_S,
  errorMessage,
  fetchCard,
  getCurvesChart,
  getMetrics,
  getParallelChart,
  getRun,
  listRuns,
  MIN_RETRY_AFTER_S,
  retryAfterSeconds,
  retryWhileBusy,
  StoreBusyError
} from '../api';

/** Answer every request with this response; returns the mock to read calls from. */
function answer(...responses: Response[]): jest.SpyInstance {
  const spy = jest.spyOn(ServerConnection, 'makeRequest');
  for (const response of responses) {
    spy.mockResolvedValueOnce(response);
  }
  return spy;
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers }
  });
}

/** The requested URL, relative to the Workbench API, decoded into path and query. */
function requested(
  spy: jest.SpyInstance,
  call = 0
): { path: string; query: Record<string, string> } {
  const url = new URL(spy.mock.calls[call][0] as string);
  const prefix = '/workbench/api/';
  expect(url.pathname.startsWith(prefix)).toBe(true);
  return {
    path: url.pathname.slice(prefix.length),
    query: Object.fromEntries(url.searchParams.entries())
  };
}

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
});

describe('api: URLs', () => {
  it('lists runs with only the query parts that are set', async () => {
    const spy = answer(json({ runs: [], total: 0, columns: { params: [], metrics: [] } }));
    await listRuns(
      { filter: "params.model = 'ridge'", order_by: '', experiment: '', deleted: true },
      200,
      50
    );
    expect(requested(spy)).toEqual({
      path: 'runs',
      query: { filter: "params.model = 'ridge'", deleted: '1', offset: '200', limit: '50' }
    });
  });

  it('escapes run ids in paths', async () => {
    const spy = answer(json({ run_id: 'a/b' }));
    await getRun('a/b c');
    expect(spy.mock.calls[0][0]).toMatch(/\/workbench\/api\/runs\/a%2Fb%20c$/);
  });

  it('asks for metric curves with keys and a point budget', async () => {
    const spy = answer(json({ series: [] }), json({ series: [] }));
    await getMetrics(['r1', 'r2'], ['loss', 'acc'], 4);
    await getMetrics(['r1']);
    expect(requested(spy, 0).query).toEqual({ ids: 'r1,r2', keys: 'loss,acc', max_points: '4' });
    expect(requested(spy, 1).query).toEqual({ ids: 'r1', max_points: '1000' });
  });

  it('asks the server for a curves chart', async () => {
    const spec = { mark: 'line' };
    const spy = answer(json({ spec }), json({ spec }));
    const reply = await getCurvesChart(['r1', 'r2'], 'val loss');
    await getCurvesChart(['r1'], 'loss', 'project/notebooks');
    expect(reply.spec).toEqual(spec);
    expect(requested(spy, 0)).toEqual({
      path: 'charts',
      query: { kind: 'curves', ids: 'r1,r2', key: 'val loss' }
    });
    expect(requested(spy, 1).query).toEqual({
      kind: 'curves',
      ids: 'r1',
      key: 'loss',
      path: 'project/notebooks'
    });
  });

  it('asks the server for parallel coordinates, params optional', async () => {
    const spy = answer(json({ spec: {} }), json({ spec: {} }), json({ spec: {} }));
    await getParallelChart(['r1', 'r2', 'r3'], 'rmse', ['alpha', 'model']);
    await getParallelChart(['r1', 'r2'], 'rmse');
    await getParallelChart(['r1', 'r2'], 'rmse', [], 'nb');
    expect(requested(spy, 0)).toEqual({
      path: 'charts',
      query: { kind: 'parallel', ids: 'r1,r2,r3', metric: 'rmse', params: 'alpha,model' }
    });
    expect(requested(spy, 1).query).toEqual({ kind: 'parallel', ids: 'r1,r2', metric: 'rmse' });
    expect(requested(spy, 2).query).toEqual({
      kind: 'parallel',
      ids: 'r1,r2',
      metric: 'rmse',
      path: 'nb'
    });
  });

  it('reads a card with its file name and media type', async () => {
    answer(
      new Response('# Card', {
        status: 200,
        headers: {
          'Content-Type': 'text/markdown; charset=utf-8',
          'Content-Disposition': 'attachment; filename="../diabetes.md"'
        }
      })
    );
    await expect(fetchCard('3f2a1b9c4d', 'md')).resolves.toEqual({
      text: '# Card',
      filename: 'diabetes.md',
      mime: 'text/markdown'
    });
  });
});

describe('api: errors', () => {
  it('throws a ResponseError with the server message', async () => {
    answer(json({ message: 'no run matches 3f2a' }, 404));
    const error = await getRun('3f2a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerConnection.ResponseError);
    expect(error).not.toBeInstanceOf(StoreBusyError);
    expect((error as ServerConnection.ResponseError).response.status).toBe(404);
    expect(errorMessage(error)).toBe('no run matches 3f2a');
  });

  it('keeps the start of a non-JSON error body as the message', async () => {
    answer(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const error = await getRun('x').catch((e: unknown) => e);
    expect(errorMessage(error)).toBe('<html>Bad gateway</html>');
  });

  it('turns a 503 with Retry-After into a StoreBusyError', async () => {
    answer(json({ message: 'store busy: a run is writing' }, 503, { 'Retry-After': '3' }));
    const error = await listRuns({
      filter: '',
      order_by: '',
      experiment: '',
      deleted: false
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreBusyError);
    // Still a ResponseError, so code that only knows those keeps working.
    expect(error).toBeInstanceOf(ServerConnection.ResponseError);
    const busy = error as StoreBusyError;
    expect(busy.retryAfter).toBe(3);
    expect(busy.response.status).toBe(503);
    expect(busy.message).toBe('store busy: a run is writing');
  });

  it('recognises a store-busy 503 without Retry-After and waits the default', async () => {
    answer(json({ message: 'store busy: migrating' }, 503));
    const error = await getRun('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreBusyError);
    expect((error as StoreBusyError).retryAfter).toBe(DEFAULT_RETRY_AFTER_S);
  });

  it("leaves a proxy's 503 a plain ResponseError", async () => {
    answer(new Response('Service Unavailable', { status: 503 }));
    const error = await getRun('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerConnection.ResponseError);
    expect(error).not.toBeInstanceOf(StoreBusyError);
  });

  it('says when the server cannot be reached', () => {
    const error = new ServerConnection.NetworkError(new TypeError('Failed to fetch'));
    expect(errorMessage(error)).toBe('Cannot reach the Jupyter server.');
    expect(errorMessage('plain')).toBe('plain');
  });
});

describe('retryAfterSeconds', () => {
  it('reads delay seconds', () => {
    expect(retryAfterSeconds('7')).toBe(7);
    expect(retryAfterSeconds(' 1.5 ')).toBe(1.5);
  });

  it('reads an HTTP date relative to now', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(retryAfterSeconds('Wed, 21 Oct 2015 07:28:10 GMT', now)).toBe(10);
  });

  it('falls back to the default and never goes below the minimum', () => {
    expect(retryAfterSeconds(null)).toBe(DEFAULT_RETRY_AFTER_S);
    expect(retryAfterSeconds('soon')).toBe(DEFAULT_RETRY_AFTER_S);
    expect(retryAfterSeconds('0')).toBe(MIN_RETRY_AFTER_S);
    expect(retryAfterSeconds('Wed, 21 Oct 2015 07:28:00 GMT', Date.now())).toBe(MIN_RETRY_AFTER_S);
  });
});

describe('retryWhileBusy', () => {
  const busy = (seconds: number): StoreBusyError =>
    new StoreBusyError(new Response('', { status: 503 }), 'store busy', seconds);

  it('waits Retry-After seconds between tries', async () => {
    jest.useFakeTimers();
    const request = jest
      .fn<Promise<string>, []>()
      .mockRejectedValueOnce(busy(2))
      .mockResolvedValueOnce('done');
    const onBusy = jest.fn();
    const result = retryWhileBusy(request, onBusy);
    await jest.advanceTimersByTimeAsync(1999);
    expect(request).toHaveBeenCalledTimes(1);
    expect(onBusy).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe('done');
    expect(request).toHaveBeenCalledTimes(2);
  });

  it('rethrows other errors at once', async () => {
    const request = jest.fn().mockRejectedValue(new Error('boom'));
    await expect(retryWhileBusy(request)).rejects.toThrow('boom');
    expect(request).toHaveBeenCalledTimes(1);
  });

  it('gives up when onBusy says so', async () => {
    const request = jest.fn().mockRejectedValue(busy(1));
    await expect(retryWhileBusy(request, () => false)).rejects.toBeInstanceOf(StoreBusyError);
    expect(request).toHaveBeenCalledTimes(1);
  });
});
