// Renders deploy/k8s/base and every overlay and validates each object against
// the Kubernetes API schema (strictly) and the deployment policy.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { idOf, loadYamlDocuments, render } from './lib/kustomize.mjs';
import { durationSeconds, policyProblems, secretTemplateProblems } from './lib/policy.mjs';
import { K8S_DIR } from './lib/repo.mjs';
import { schemaProblems } from './lib/schema.mjs';

const SECRET_TEMPLATE = path.join(K8S_DIR, 'base/secret.example.yaml');
const secretTemplate = () => loadYamlDocuments(SECRET_TEMPLATE)[0];

const overlays = readdirSync(path.join(K8S_DIR, 'overlays')).map((d) => `overlays/${d}`);
const targets = ['base', ...overlays];

const find = (objects, kind, name) =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
const serverContainer = (objects) =>
  find(objects, 'Deployment', 'halopsa').spec.template.spec.containers.find((c) => c.name === 'halopsa-server');

for (const target of targets) {
  test(`${target}: every rendered object is valid against the Kubernetes API schema`, async () => {
    const objects = render(path.join(K8S_DIR, target));
    const problems = (await Promise.all(objects.map(schemaProblems))).flat();
    assert.deepEqual(problems, []);
  });

  test(`${target}: passes the deployment policy`, () => {
    const objects = render(path.join(K8S_DIR, target));
    const options = { secretTemplate: secretTemplate(), requirePinnedImage: target !== 'base' };
    assert.deepEqual(policyProblems(objects, options), []);
  });
}

test('the Secret template is schema-valid and holds placeholders only', async () => {
  const template = secretTemplate();
  assert.deepEqual(await schemaProblems(template), []);
  assert.deepEqual(secretTemplateProblems(template), []);
  assert.deepEqual(Object.keys(template.stringData).sort(), ['halopsa-client-secret', 'lc-extension-secret']);
});

test('base renders the expected objects', () => {
  const ids = render(path.join(K8S_DIR, 'base')).map(idOf).sort();
  assert.deepEqual(ids.filter((id) => !id.includes('/ConfigMap/')), [
    'apps/v1/Deployment//halopsa',
    'autoscaling/v2/HorizontalPodAutoscaler//halopsa',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-allow-grpc',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-allow-metrics',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-allow-webhook',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-egress',
    'policy/v1/PodDisruptionBudget//halopsa',
    'v1/Service//halopsa-grpc',
    'v1/Service//halopsa-grpc-headless',
    'v1/Service//halopsa-webhook',
    'v1/ServiceAccount//halopsa',
  ]);
  assert.match(ids.find((id) => id.includes('/ConfigMap/')), /^v1\/ConfigMap\/\/halopsa-config-[a-z0-9]{10}$/);
});

test('base: readiness asks the gRPC health service, liveness and startup the admin /healthz', () => {
  const container = serverContainer(render(path.join(K8S_DIR, 'base')));
  assert.deepEqual(container.readinessProbe.grpc, { port: 50051 });
  assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
  assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'admin' });
});

test('base: the shutdown budget covers the preStop pause and the drain', () => {
  const objects = render(path.join(K8S_DIR, 'base'));
  const grace = durationSeconds(find(objects, 'ConfigMap').data.HALOPSA_SHUTDOWN_GRACE);
  const container = serverContainer(objects);
  assert.equal(grace, 20);
  assert.deepEqual(container.lifecycle.preStop.exec.command, ['/usr/bin/sleep', '5']);
  assert.equal(find(objects, 'Deployment').spec.template.spec.terminationGracePeriodSeconds, 35);
});

test('example overlay: namespace, pinned image, merged config, gRPC TLS and HPA patch', () => {
  const objects = render(path.join(K8S_DIR, 'overlays/example'));
  for (const obj of objects.filter((o) => o.kind !== 'Namespace')) assert.equal(obj.metadata.namespace, 'halopsa', idOf(obj));

  const container = serverContainer(objects);
  assert.equal(container.image, 'registry.example.com/secops/ext-halopsa:1.4.2');

  const config = find(objects, 'ConfigMap');
  assert.equal(container.envFrom[0].configMapRef.name, config.metadata.name);
  assert.equal(config.data.HALOPSA_INSTANCE_URL, 'https://contoso-msp.halopsa.com');
  assert.equal(config.data.HALOPSA_IO_THREADS, '4');
  assert.equal(config.data.HALOPSA_SHUTDOWN_GRACE, '20s'); // kept from the base
  const baseConfig = find(render(path.join(K8S_DIR, 'base')), 'ConfigMap');
  assert.notEqual(config.metadata.name, baseConfig.metadata.name, 'a config change must change the name (and roll the pods)');

  const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
  assert.equal(env.HALOPSA_GRPC_TLS_CERT_FILE, '/etc/halopsa/grpc-tls/tls.crt');
  assert.equal(env.HALOPSA_GRPC_PLAINTEXT, 'false');
  assert.equal(env.HALOPSA_GRPC_LISTEN, '0.0.0.0:50051'); // base env kept by the merge
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
  assert.equal(container.readinessProbe.grpc, undefined);
  assert.deepEqual(container.volumeMounts.map((m) => m.mountPath).sort(), ['/etc/halopsa/grpc-tls', '/etc/halopsa/secrets', '/tmp']);

  const hpa = find(objects, 'HorizontalPodAutoscaler');
  assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 10]);
  const metrics = find(objects, 'NetworkPolicy', 'halopsa-allow-metrics');
  assert.equal(metrics.spec.ingress[0].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], 'observability');
});
