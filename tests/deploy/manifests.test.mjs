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
const REDIS_SECRET_TEMPLATE = path.join(K8S_DIR, 'components/redis/secret.example.yaml');
const secretTemplate = () => loadYamlDocuments(SECRET_TEMPLATE)[0];
const secretTemplates = () => [SECRET_TEMPLATE, REDIS_SECRET_TEMPLATE].map((f) => loadYamlDocuments(f)[0]);

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
    const options = { secretTemplates: secretTemplates(), requirePinnedImage: target !== 'base' };
    assert.deepEqual(policyProblems(objects, options), []);
  });
}

test('the Secret templates are schema-valid and hold placeholders only', async () => {
  for (const template of secretTemplates()) {
    assert.deepEqual(await schemaProblems(template), []);
    assert.deepEqual(secretTemplateProblems(template), []);
  }
  assert.deepEqual(Object.keys(secretTemplate().stringData).sort(), ['halopsa-client-secret', 'lc-extension-secret']);
  assert.deepEqual(Object.keys(secretTemplates()[1].stringData), ['redis-password']);
});

test('base renders the expected objects', () => {
  const ids = render(path.join(K8S_DIR, 'base')).map(idOf).sort();
  assert.deepEqual(ids.filter((id) => !id.includes('/ConfigMap/')), [
    'apps/v1/Deployment//halopsa',
    'apps/v1/StatefulSet//halopsa-redis',
    'autoscaling/v2/HorizontalPodAutoscaler//halopsa',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-allow-grpc',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-allow-metrics',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-allow-webhook',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-egress',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-egress-redis',
    'networking.k8s.io/v1/NetworkPolicy//halopsa-redis',
    'policy/v1/PodDisruptionBudget//halopsa',
    'v1/Service//halopsa-grpc',
    'v1/Service//halopsa-grpc-headless',
    'v1/Service//halopsa-redis',
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

test('base: the fleet shares state in the redis component, with one request budget for the tenant', () => {
  const objects = render(path.join(K8S_DIR, 'base'));
  const container = serverContainer(objects);
  const names = container.env.map((e) => e.name);
  // The kubelet expands $(REDIS_PASSWORD) only from a variable defined before.
  assert.ok(names.indexOf('REDIS_PASSWORD') < names.indexOf('HALOPSA_REDIS_URL'));
  const env = Object.fromEntries(container.env.map((e) => [e.name, e]));
  assert.deepEqual(env.REDIS_PASSWORD.valueFrom, { secretKeyRef: { name: 'halopsa-redis', key: 'redis-password' } });
  assert.equal(env.HALOPSA_REDIS_URL.value, 'redis://:$(REDIS_PASSWORD)@halopsa-redis:6379/0');
  // Hosted HaloPSA's 300 per 5 minutes for the whole fleet, no longer a per-pod share.
  const config = find(objects, 'ConfigMap').data;
  assert.deepEqual([config.HALOPSA_RATE_LIMIT_REQUESTS, config.HALOPSA_RATE_LIMIT_WINDOW], ['300', '5m']);

  const redis = find(objects, 'StatefulSet', 'halopsa-redis');
  assert.equal(redis.spec.replicas, 1);
  const args = redis.spec.template.spec.containers[0].command;
  assert.deepEqual(args.slice(args.indexOf('--maxmemory-policy'), args.indexOf('--maxmemory-policy') + 2), ['--maxmemory-policy', 'noeviction']);
  assert.doesNotMatch(JSON.stringify(redis), /requirepass [^%]/, 'the password is never on a command line');
  const ingress = find(objects, 'NetworkPolicy', 'halopsa-redis').spec.ingress;
  assert.deepEqual(ingress, [{
    from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'halopsa', 'app.kubernetes.io/instance': 'halopsa' } } }],
    ports: [{ protocol: 'TCP', port: 6379 }],
  }]);
});

test('single-replica overlay: one pod, Recreate, no autoscaler, no disruption budget, no Redis', () => {
  const objects = render(path.join(K8S_DIR, 'overlays/single-replica'));
  const deployment = find(objects, 'Deployment', 'halopsa');
  assert.equal(deployment.spec.replicas, 1);
  assert.deepEqual(deployment.spec.strategy, { type: 'Recreate' });
  for (const kind of ['HorizontalPodAutoscaler', 'PodDisruptionBudget', 'StatefulSet']) assert.equal(find(objects, kind), undefined, kind);
  assert.deepEqual(objects.filter((o) => /redis/.test(o.metadata.name)).map(idOf), []);
  const names = serverContainer(objects).env.map((e) => e.name);
  assert.deepEqual(names.filter((n) => /REDIS/.test(n)), []);
  assert.ok(names.includes('HALOPSA_GRPC_LISTEN'), 'the base env is kept');
});

test('managed-redis overlay: the URL whole from a Secret, no in-cluster Redis, egress to its address', () => {
  const objects = render(path.join(K8S_DIR, 'overlays/managed-redis'));
  assert.equal(find(objects, 'StatefulSet'), undefined);
  assert.equal(find(objects, 'Service', 'halopsa-redis'), undefined);
  const env = serverContainer(objects).env.filter((e) => /REDIS/.test(e.name));
  assert.deepEqual(env, [{ name: 'HALOPSA_REDIS_URL', valueFrom: { secretKeyRef: { name: 'halopsa-redis-url', key: 'url' } } }]);
  const egress = find(objects, 'NetworkPolicy', 'halopsa-egress-managed-redis').spec.egress;
  assert.deepEqual(egress[0].ports, [{ protocol: 'TCP', port: 6379 }]);
  assert.deepEqual(find(objects, 'HorizontalPodAutoscaler').spec.maxReplicas, 6, 'the fleet scales as the base');
});
