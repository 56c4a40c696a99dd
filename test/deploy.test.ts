import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as policy from 'kubernetes-models/policy/v1';
import { loadSettings } from '../src/settings';

// deploy/k8s: every object checked against the Kubernetes API schema (kubernetes-models, no cluster needed), and
// the parts wired together as the README says (CI also renders the kustomization with Debian's kubectl).

const DIR = path.join(__dirname, '..', 'deploy', 'k8s');
/** kubernetes-models: one module per API group version, one class per kind (its `validate` checks the schema). */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'autoscaling/v2': autoscaling,
  'policy/v1': policy,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: any;
  stringData?: Record<string, string>;
}

const kustomization = yaml.load(fs.readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8')) as {
  resources: string[];
};
const objects = kustomization.resources.flatMap(
  (file) => yaml.loadAll(fs.readFileSync(path.join(DIR, file), 'utf8')) as K8sObject[],
);
const find = (kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const envOf = (o: K8sObject) => o.spec.template.spec.containers[0].env as Array<Record<string, any>>;
const secret = () => find('Secret', 'loopai-keys').stringData!;
/** The environment a container gets, with its secrets filled in from the Secret. */
const resolvedEnv = (o: K8sObject): Record<string, string> =>
  Object.fromEntries(
    envOf(o)
      .filter((e) => e.value !== undefined || e.valueFrom?.secretKeyRef)
      .map((e) => [e.name, e.value ?? secret()[e.valueFrom.secretKeyRef.key]]),
  );

describe('the Kubernetes manifests', () => {
  test.each(objects.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
    '%s is valid against the Kubernetes API schema',
    (_name, object) => {
      const group = MODELS[object.apiVersion] as Record<string, new (o: object) => { validate(): void }>;
      expect(group[object.kind]).toBeDefined();
      expect(() => new group[object.kind](object).validate()).not.toThrow();
    },
  );

  test('the schema check fails on a broken object (it is a real check)', () => {
    const { Deployment } = apps;
    const broken = JSON.parse(JSON.stringify(find('Deployment', 'loopai-edge')));
    broken.spec.replicas = 'two';
    expect(() => new Deployment(broken).validate()).toThrow(/replicas/);
  });

  test('the cloud is one replica on a persistent volume; edges keep an emptyDir cache; both are ready on /ready', () => {
    const cloud = find('StatefulSet', 'loopai-cloud');
    expect(cloud.spec.replicas).toBe(1);
    expect(cloud.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const edge = find('Deployment', 'loopai-edge');
    expect(edge.spec.template.spec.volumes).toEqual([
      expect.objectContaining({ emptyDir: expect.any(Object) }),
    ]);
    for (const o of [cloud, edge])
      expect(o.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/ready');
  });

  test("the edges' settings load, name the cloud's Service, and present a key the cloud knows as an edge key", () => {
    const edge = loadSettings(
      {},
      { ...resolvedEnv(find('Deployment', 'loopai-edge')), LOOPAI_CONFIG: '/nonexistent' },
    );
    const cloud = loadSettings(
      {},
      { ...resolvedEnv(find('StatefulSet', 'loopai-cloud')), LOOPAI_CONFIG: '/nonexistent' },
    );
    expect(edge.role).toBe('edge');
    expect(cloud.role).toBe('cloud');
    const service = find('Service', 'loopai-cloud');
    expect(edge.cloud.url).toBe(`http://${service.metadata.name}:${service.spec.ports[0].port}`);
    const sha256 = crypto.createHash('sha256').update(edge.cloud.key!).digest('hex');
    expect(cloud.auth.api_keys).toContainEqual(expect.objectContaining({ role: 'edge', key_sha256: sha256 }));
  });

  test('the autoscaler and the disruption budget are for the edges', () => {
    const edge = find('Deployment', 'loopai-edge');
    expect(find('HorizontalPodAutoscaler', 'loopai-edge').spec.scaleTargetRef).toMatchObject({
      kind: 'Deployment',
      name: edge.metadata.name,
    });
    expect(find('PodDisruptionBudget', 'loopai-edge').spec.selector.matchLabels).toEqual(
      edge.spec.selector.matchLabels,
    );
    expect(find('Service', 'loopai-edge').spec.selector).toEqual(edge.spec.template.metadata.labels);
  });
});
