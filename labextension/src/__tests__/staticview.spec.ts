import { ISessionContext } from '@jupyterlab/apputils';
import {
  IRenderMime,
  MimeModel,
  RenderMimeRegistry,
  standardRendererFactories
} from '@jupyterlab/rendermime';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import {
  STATIC_VIEW_MIMETYPE,
  STATIC_VIEW_RANK,
  staticParts,
  staticViewFactory,
  WIDGET_VIEW_MIMETYPE,
  widgetModelId
} from '../staticview';

const TABLE = '<div class="workbench-runs"><table><tr><td>zesty-sparrow</td></tr></table></div>';

/** A saved `%wb runs` output: widget view, static HTML and the static view naming it. */
const RUNS_OUTPUT: ReadonlyPartialJSONObject = {
  [WIDGET_VIEW_MIMETYPE]: { model_id: 'abc123', version_major: 2, version_minor: 0 },
  'text/html': TABLE,
  'text/plain': '<RunsWidget: 1 run>',
  [STATIC_VIEW_MIMETYPE]: { version: 1, outputs: ['text/html', { 'text/plain': 'a chart' }] }
};

/** The kernel as the renderer sees it: which comms it holds. */
function session(options: {
  kernel: boolean;
  comms: string[];
  pageKnows?: boolean;
}): ISessionContext {
  const kernel = options.kernel
    ? {
        hasComm: (id: string) => (options.pageKnows ?? true) && options.comms.includes(id),
        requestCommInfo: async () => ({
          content: { status: 'ok', comms: Object.fromEntries(options.comms.map(c => [c, {}])) }
        })
      }
    : null;
  return { ready: Promise.resolve(), session: { kernel } } as unknown as ISessionContext;
}

/** The notebook's widget renderer, recording what it was asked to draw. */
class FakeWidgetRenderer extends Widget implements IRenderMime.IRenderer {
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.node.textContent = `widget ${widgetModelId(model.data)}`;
  }
}

function registry(): RenderMimeRegistry {
  const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
  rendermime.addFactory(
    {
      safe: false,
      mimeTypes: [WIDGET_VIEW_MIMETYPE],
      createRenderer: () => new FakeWidgetRenderer()
    },
    -10
  );
  return rendermime;
}

async function render(trusted: boolean, sessionContext: ISessionContext): Promise<Widget> {
  const rendermime = registry();
  rendermime.addFactory(staticViewFactory({ rendermime, sessionContext }), STATIC_VIEW_RANK);
  expect(rendermime.preferredMimeType(RUNS_OUTPUT, trusted ? 'any' : 'ensure')).toBe(
    STATIC_VIEW_MIMETYPE
  );
  const renderer = rendermime.createRenderer(STATIC_VIEW_MIMETYPE);
  await renderer.renderModel(new MimeModel({ data: RUNS_OUTPUT, trusted }));
  // The look again once the kernel is ready.
  await new Promise(resolve => setTimeout(resolve, 0));
  return renderer;
}

describe('staticParts', () => {
  it('resolves references to the output own mimetypes and skips what is not there', () => {
    const parts = staticParts({
      'text/html': '<b>t</b>',
      [STATIC_VIEW_MIMETYPE]: {
        version: 1,
        outputs: ['text/html', 'image/png', { 'text/plain': 'x' }]
      }
    });
    expect(parts).toEqual([{ 'text/html': '<b>t</b>' }, { 'text/plain': 'x' }]);
    expect(staticParts({ [STATIC_VIEW_MIMETYPE]: { version: 1 } })).toEqual([]);
  });
});

describe('StaticViewRenderer', () => {
  it('shows the static parts when the notebook has no kernel', async () => {
    const node = (await render(true, session({ kernel: false, comms: [] }))).node;
    expect(node.querySelector('.workbench-runs td')?.textContent).toBe('zesty-sparrow');
    expect(node.textContent).toContain('a chart');
    expect(node.textContent).not.toContain('widget abc123');
  });

  it('shows the static parts when the kernel lacks the model (reopened, restarted)', async () => {
    const node = (await render(true, session({ kernel: true, comms: ['other'] }))).node;
    expect(node.querySelector('.workbench-runs td')?.textContent).toBe('zesty-sparrow');
    expect(node.textContent).not.toContain('widget abc123');
  });

  it('shows the live widget when the kernel holds its model', async () => {
    const node = (await render(true, session({ kernel: true, comms: ['abc123'] }))).node;
    expect(node.textContent).toBe('widget abc123');
    expect(node.querySelector('.workbench-runs')).toBeNull();
  });

  it('turns into the widget when a reloaded page finds the model in the kept kernel', async () => {
    const node = (
      await render(true, session({ kernel: true, comms: ['abc123'], pageKnows: false }))
    ).node;
    expect(node.textContent).toBe('widget abc123');
  });

  it('never shows a widget in an untrusted notebook', async () => {
    const node = (await render(false, session({ kernel: true, comms: ['abc123'] }))).node;
    expect(node.textContent).not.toContain('widget abc123');
    expect(node.querySelector('.workbench-runs td')?.textContent).toBe('zesty-sparrow');
  });
});
