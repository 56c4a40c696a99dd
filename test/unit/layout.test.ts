import path from 'node:path';
import { Layout } from '../../src/store/layout';

const root = path.join(path.sep, 'data');
const layout = new Layout(root);
const app = path.join(root, 'loop-apps', 'spam-001');

describe('Layout', () => {
  test('every path of an app, as README.md lists the data directory', () => {
    expect(layout.appsDir).toBe(path.join(root, 'loop-apps'));
    expect(layout.app('spam-001')).toBe(app);
    expect(layout.config('spam-001')).toBe(path.join(app, 'config.yaml'));
    expect(layout.artifacts('spam-001')).toBe(path.join(app, 'artifacts'));
    expect(layout.version('spam-001', 'v3')).toBe(path.join(app, 'artifacts', 'v3'));
    expect(layout.active('spam-001')).toBe(path.join(app, 'artifacts', 'active'));
    expect(layout.datasets('spam-001')).toBe(path.join(app, 'datasets'));
    expect(layout.examples('spam-001')).toBe(path.join(app, 'datasets', 'examples.jsonl'));
    expect(layout.executionsDir('spam-001')).toBe(path.join(app, 'datasets', 'executions'));
    expect(layout.executions('spam-001', '2025-06-01')).toBe(
      path.join(app, 'datasets', 'executions', '2025-06-01.jsonl'),
    );
    expect(layout.validationsDir('spam-001')).toBe(path.join(app, 'datasets', 'validations'));
    expect(layout.verdicts('spam-001')).toBe(path.join(app, 'datasets', 'validations', 'sampled.jsonl'));
    expect(layout.validationState('spam-001')).toBe(path.join(app, 'datasets', 'validations', 'state.json'));
    expect(layout.dailyStats('spam-001')).toBe(path.join(app, 'datasets', 'analytics', 'daily-stats.json'));
    expect(layout.events('spam-001')).toBe(path.join(app, 'datasets', 'events.jsonl'));
  });

  test('the app folder of a file inside it', () => {
    expect(layout.appFolderOf(layout.executions('spam-001', '2025-06-01'))).toBe(app);
    expect(layout.appFolderOf(layout.config('spam-001'))).toBe(app);
  });

  test.each(['../etc', 'Spam', 'a/b', '__proto__', ''])(
    'app id %p is refused before it becomes a path',
    (id) => {
      expect(() => layout.app(id)).toThrow(expect.objectContaining({ code: 'invalid_id' }));
      expect(() => layout.executions(id, '2025-06-01')).toThrow(
        expect.objectContaining({ code: 'invalid_id' }),
      );
    },
  );

  test.each(['../v1', 'active', 'v01', 'v1/..'])(
    'version %p is refused before it becomes a path',
    (version) => {
      expect(() => layout.version('spam-001', version)).toThrow(
        expect.objectContaining({ code: 'invalid_version' }),
      );
    },
  );
});
