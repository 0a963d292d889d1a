// The validation must fail on broken manifests: each case copies deploy/k8s
// to a temporary directory, breaks one thing and expects the problem that
// names it.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { KustomizeError, loadYamlDocuments, render } from './lib/kustomize.mjs';
import { policyProblems, secretTemplateProblems } from './lib/policy.mjs';
import { K8S_DIR } from './lib/repo.mjs';
import { schemaProblems } from './lib/schema.mjs';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'halopsa-k8s-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let copies = 0;
function brokenCopy(file, from, to) {
  const dir = path.join(scratch, String(copies++));
  cpSync(K8S_DIR, dir, { recursive: true });
  const target = path.join(dir, file);
  const text = readFileSync(target, 'utf8');
  assert.ok(text.includes(from), `${file} no longer contains ${JSON.stringify(from)}: update this case`);
  writeFileSync(target, text.replace(from, to));
  return dir;
}

// Everything the manifest tests would report for one rendering.
async function problemsOf(k8sDir, target) {
  let objects;
  try {
    objects = render(path.join(k8sDir, target));
  } catch (error) {
    if (error instanceof KustomizeError) return [error.message];
    throw error;
  }
  const secretTemplates = ['base/secret.example.yaml', 'components/redis/secret.example.yaml']
    .map((f) => loadYamlDocuments(path.join(k8sDir, f))[0]);
  return [
    ...(await Promise.all(objects.map(schemaProblems))).flat(),
    ...policyProblems(objects, { secretTemplates, requirePinnedImage: target !== 'base' }),
    ...secretTemplates.flatMap(secretTemplateProblems),
  ];
}

test('an unbroken copy has no problems (so each case below fails for its own reason)', async () => {
  const dir = path.join(scratch, 'unbroken');
  cpSync(K8S_DIR, dir, { recursive: true });
  assert.deepEqual(await problemsOf(dir, 'base'), []);
  assert.deepEqual(await problemsOf(dir, 'overlays/example'), []);
  assert.deepEqual(await problemsOf(dir, 'overlays/single-replica'), []);
  assert.deepEqual(await problemsOf(dir, 'overlays/managed-redis'), []);
});

const BASE = 'base';
const EXAMPLE = 'overlays/example';
const SINGLE = 'overlays/single-replica';
const MANAGED = 'overlays/managed-redis';
const cases = [
  // Schema: unknown fields (a typo the API server's strict validation rejects) and wrong types.
  ['a misspelt field (readinesProbe)', BASE, 'base/deployment.yaml',
    '          readinessProbe:', '          readinesProbe:',
    /unknown field \/spec\/template\/spec\/containers\/0\/readinesProbe/],
  ['a port given as a string', BASE, 'base/deployment.yaml',
    'containerPort: 50051', 'containerPort: "50051"',
    /containerPort must be integer/],
  ['a YAML 1.1 boolean where a number belongs (minAvailable: yes)', BASE, 'base/pdb.yaml',
    'minAvailable: 1', 'minAvailable: yes',
    /minAvailable must match exactly one schema/],
  // Container hardening and sizing.
  ['a container without a CPU limit', BASE, 'base/deployment.yaml',
    '            limits:\n              cpu: "1"\n', '            limits:\n',
    /no cpu limit/],
  ['a memory request above the limit', BASE, 'base/deployment.yaml',
    '              memory: 192Mi', '              memory: 512Mi',
    /memory limit 320Mi is below the request 512Mi/],
  ['a container running as root', BASE, 'base/deployment.yaml',
    '            runAsUser: 10001\n            runAsGroup', '            runAsUser: 0\n            runAsGroup',
    /runs as uid 0/],
  ['a writable root filesystem', BASE, 'base/deployment.yaml',
    'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false',
    /root filesystem is writable/],
  ['privilege escalation allowed', BASE, 'base/deployment.yaml',
    'allowPrivilegeEscalation: false', 'allowPrivilegeEscalation: true',
    /allowPrivilegeEscalation is not false/],
  ['capabilities not dropped', BASE, 'base/deployment.yaml',
    'drop: ["ALL"]', 'drop: ["NET_RAW"]',
    /capabilities are not dropped/],
  ['service links enabled', BASE, 'base/deployment.yaml',
    '      enableServiceLinks: false\n', '',
    /enableServiceLinks is not false/],
  ['spec.replicas fighting the HorizontalPodAutoscaler', BASE, 'base/deployment.yaml',
    '  revisionHistoryLimit: 5', '  replicas: 2\n  revisionHistoryLimit: 5',
    /sets spec.replicas although HorizontalPodAutoscaler\/halopsa owns/],
  // Probes, ports and shutdown.
  ['a gRPC readiness probe on a port the container does not expose', BASE, 'base/deployment.yaml',
    '            grpc:\n              port: 50051', '            grpc:\n              port: 50052',
    /readinessProbe gRPC port 50052 is not a container port/],
  ['a listen address that disagrees with the container port', BASE, 'base/deployment.yaml',
    'value: 0.0.0.0:8080', 'value: 0.0.0.0:8081',
    /HALOPSA_GATEWAY_LISTEN=0.0.0.0:8081 does not listen on the webhook port 8080/],
  ['a shutdown grace longer than the termination grace period allows', BASE, 'base/kustomization.yaml',
    'HALOPSA_SHUTDOWN_GRACE=20s', 'HALOPSA_SHUTDOWN_GRACE=40s',
    /terminationGracePeriodSeconds 35 does not cover .* \(50\)/],
  ['a preStop hook that needs a shell', BASE, 'base/deployment.yaml',
    'command: ["/usr/bin/sleep", "5"]', 'command: ["/bin/sh", "-c", "sleep 5"]',
    /preStop runs a shell/],
  ['gRPC TLS with both probe handlers left in readiness', EXAMPLE, 'components/grpc-tls/deployment-patch.yaml',
    '            grpc: null\n', '',
    /readinessProbe needs exactly one handler, has httpGet, grpc/],
  ['gRPC TLS with the plaintext gRPC readiness probe kept', EXAMPLE, 'components/grpc-tls/deployment-patch.yaml',
    '            grpc: null\n            httpGet:\n              path: /readyz\n              port: admin\n', '            periodSeconds: 5\n',
    /readinessProbe uses the kubelet's plaintext gRPC probe while gRPC TLS is on/],
  ['plaintext gRPC without HALOPSA_GRPC_PLAINTEXT', BASE, 'base/deployment.yaml',
    '            - name: HALOPSA_GRPC_PLAINTEXT\n              value: "true"\n', '',
    /neither a certificate nor HALOPSA_GRPC_PLAINTEXT=true/],
  ['gRPC TLS with HALOPSA_GRPC_PLAINTEXT still true', EXAMPLE, 'components/grpc-tls/deployment-patch.yaml',
    '            - name: HALOPSA_GRPC_PLAINTEXT\n              value: "false"\n', '',
    /has a certificate and HALOPSA_GRPC_PLAINTEXT=true/],
  // Secrets and files.
  ['a secret file path naming a key the Secret lacks', BASE, 'base/deployment.yaml',
    '/etc/halopsa/secrets/lc-extension-secret', '/etc/halopsa/secrets/lc-extension-key',
    /reads key lc-extension-key, which Secret halopsa-secrets does not have/],
  ['a secret file outside every mounted volume', BASE, 'base/deployment.yaml',
    'value: /etc/halopsa/secrets/halopsa-client-secret', 'value: /etc/halopsa/client-secret',
    /HALOPSA_CLIENT_SECRET_FILE=\/etc\/halopsa\/client-secret is on no volume/],
  ['a real-looking value in the Secret template', BASE, 'base/secret.example.yaml',
    'REPLACE_ME-limacharlie-extension-secret', 'c2VjcmV0LXRoYXQtbG9va3MtcmVhbA',
    /lc-extension-secret is not a REPLACE_ME placeholder/],
  ['a secret in the ConfigMap', BASE, 'base/kustomization.yaml',
    '      - HALOPSA_SCOPE=all', '      - HALOPSA_SCOPE=all\n      - HALOPSA_CLIENT_SECRET=abc',
    /HALOPSA_CLIENT_SECRET looks like a secret in a ConfigMap/],
  ['the Secret template rendered as a resource', BASE, 'base/kustomization.yaml',
    '  - networkpolicy.yaml', '  - networkpolicy.yaml\n  - secret.example.yaml',
    /Secret\/halopsa-secrets: Secrets are created out of band/],
  // Services, selectors, network policy.
  ['a Service selecting no pods', BASE, 'base/services.yaml',
    '    app.kubernetes.io/instance: halopsa\n  ports:', '    app.kubernetes.io/instance: halopsa-typo\n  ports:',
    /Service\/halopsa-grpc: selector matches 0 workloads/],
  ['a Service targeting a port no container has', BASE, 'base/services.yaml',
    'targetPort: webhook', 'targetPort: http',
    /targets http, which no container exposes/],
  ['the admin port on a Service', BASE, 'base/services.yaml',
    'targetPort: webhook', 'targetPort: admin',
    /Service\/halopsa-webhook: exposes the admin port/],
  ['a NetworkPolicy without the admin port', BASE, 'base/networkpolicy.yaml',
    'port: 9090', 'port: 9091',
    /no NetworkPolicy admits port admin 9090/],
  ['a gRPC ingress rule open to any source', BASE, 'base/networkpolicy.yaml',
    '    - from:\n        - podSelector: {}\n        - namespaceSelector:\n            matchLabels:\n              ext-halopsa/grpc-client: allowed\n      ports:', '    - ports:',
    /an ingress rule allows any source/],
  ['egress without DNS over TCP', BASE, 'base/networkpolicy.yaml',
    '        - protocol: TCP\n          port: 53\n', '',
    /egress does not allow DNS over TCP/],
  ['an Ingress backend naming a missing Service port', EXAMPLE, 'overlays/example/ingress.yaml',
    'name: http', 'name: grpc',
    /backend halopsa-webhook:grpc does not exist/],
  // Overlay plumbing and the renderer's subset.
  ['an overlay image tagged latest', EXAMPLE, 'overlays/example/kustomization.yaml',
    'newTag: "1.4.2"', 'newTag: latest',
    /image registry.example.com\/secops\/ext-halopsa:latest is not pinned/],
  ['a kustomize field outside the rendered subset', EXAMPLE, 'overlays/example/kustomization.yaml',
    'namespace: halopsa\n', 'namespace: halopsa\ncommonLabels:\n  team: secops\n',
    /kustomize field "commonLabels" is outside the subset/],
  ['a patch whose target does not exist', EXAMPLE, 'overlays/example/hpa-patch.yaml',
    'name: halopsa', 'name: halopsa-api',
    /patch for HorizontalPodAutoscaler halopsa-api matches 0 resources/],
  ['a namespace not enforcing the restricted Pod Security Standard', EXAMPLE, 'overlays/example/namespace.yaml',
    'enforce: restricted', 'enforce: baseline',
    /does not enforce the restricted Pod Security Standard/],
  // More than one pod only with the shared state in Redis.
  ['the base without its Redis (the autoscaler may run 6 pods)', BASE, 'base/kustomization.yaml',
    'components:\n  - ../components/redis\n', '',
    /Deployment\/halopsa: allows 6 replicas without HALOPSA_REDIS_URL/],
  ['an empty HALOPSA_REDIS_URL under the autoscaler', EXAMPLE, 'components/redis/deployment-patch.yaml',
    'value: redis://:$(REDIS_PASSWORD)@halopsa-redis:6379/0', 'value: ""',
    /Deployment\/halopsa: allows 10 replicas without HALOPSA_REDIS_URL/],
  ['a managed Redis whose URL is dropped', MANAGED, 'overlays/managed-redis/kustomization.yaml',
    'patches:\n  - path: deployment-patch.yaml\n', '',
    /Deployment\/halopsa: allows 6 replicas without HALOPSA_REDIS_URL/],
  ['a single-replica overlay scaled to 2', SINGLE, 'overlays/single-replica/deployment-patch.yaml',
    '  replicas: 1', '  replicas: 2',
    /Deployment\/halopsa: allows 2 replicas without HALOPSA_REDIS_URL/],
  ['a single-replica overlay that keeps the autoscaler', SINGLE, 'overlays/single-replica/kustomization.yaml',
    '  - path: remove-hpa.yaml\n', '',
    /Deployment\/halopsa: allows 6 replicas without HALOPSA_REDIS_URL/],
  ['a single replica rolled by RollingUpdate', SINGLE, 'overlays/single-replica/deployment-patch.yaml',
    '    type: Recreate\n    rollingUpdate: null\n', '    type: RollingUpdate\n',
    /without HALOPSA_REDIS_URL the strategy must be Recreate/],
  ['a single replica under a PodDisruptionBudget', SINGLE, 'overlays/single-replica/kustomization.yaml',
    '  - path: remove-pdb.yaml\n', '',
    /a PodDisruptionBudget on its single replica blocks every node drain/],
  // The Redis itself, and the way to it.
  ['a second Redis pod behind the one Service', BASE, 'components/redis/statefulset.yaml',
    '  replicas: 1', '  replicas: 2',
    /StatefulSet\/halopsa-redis may run 2 pods; a standalone Redis is exactly one/],
  ['Redis admitting every pod of the namespace', BASE, 'components/redis/networkpolicy.yaml',
    '        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: halopsa\n              app.kubernetes.io/instance: halopsa\n      ports:',
    '        - podSelector: {}\n      ports:',
    /StatefulSet\/halopsa-redis: an ingress peer other than Deployment\/halopsa's pods/],
  ['Redis admitting another namespace', BASE, 'components/redis/networkpolicy.yaml',
    '        - podSelector:\n            matchLabels:\n              app.kubernetes.io/name: halopsa\n              app.kubernetes.io/instance: halopsa\n      ports:',
    '        - namespaceSelector:\n            matchLabels:\n              team: other\n      ports:',
    /StatefulSet\/halopsa-redis: an ingress peer other than/],
  ['halopsa without egress to Redis', BASE, 'components/redis/kustomization.yaml',
    '  - networkpolicy.yaml\n', '',
    /no egress rule of its pods admits TCP 6379 to StatefulSet\/halopsa-redis's pods/],
  ['the URL before the password it expands', BASE, 'components/redis/deployment-patch.yaml',
    '            - name: REDIS_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: halopsa-redis\n                  key: redis-password\n            - name: HALOPSA_REDIS_URL\n              value: redis://:$(REDIS_PASSWORD)@halopsa-redis:6379/0\n',
    '            - name: HALOPSA_REDIS_URL\n              value: redis://:$(REDIS_PASSWORD)@halopsa-redis:6379/0\n            - name: REDIS_PASSWORD\n              valueFrom:\n                secretKeyRef:\n                  name: halopsa-redis\n                  key: redis-password\n',
    /HALOPSA_REDIS_URL refers to \$\(REDIS_PASSWORD\), which is not defined before it/],
  ['a Redis password in plain manifests', BASE, 'components/redis/deployment-patch.yaml',
    'redis://:$(REDIS_PASSWORD)@', 'redis://:hunter2@',
    /HALOPSA_REDIS_URL carries a password in the manifests/],
  ['the Redis password from a key the Secret lacks', BASE, 'components/redis/deployment-patch.yaml',
    'key: redis-password', 'key: password',
    /REDIS_PASSWORD reads key password, which Secret halopsa-redis does not have/],
  ['the Redis password from a Secret Redis does not use', BASE, 'components/redis/deployment-patch.yaml',
    'name: halopsa-redis\n', 'name: halopsa-secrets\n',
    /its password comes from Secret halopsa-secrets, which StatefulSet\/halopsa-redis does not mount/],
  ['a Secret in the environment for anything but the Redis URL', BASE, 'components/redis/deployment-patch.yaml',
    'value: redis://:$(REDIS_PASSWORD)@halopsa-redis:6379/0', 'value: redis://halopsa-redis:6379/0',
    /REDIS_PASSWORD takes a Secret into the environment; mount it as a file/],
  ['a Redis init container running as root', BASE, 'components/redis/statefulset.yaml',
    '            runAsUser: 999\n', '            runAsUser: 0\n',
    /StatefulSet\/halopsa-redis container auth-config: runs as uid 0, not a fixed non-root uid/],
  ['Redis with its Secret mounted writable', BASE, 'components/redis/statefulset.yaml',
    '              mountPath: /etc/redis/secret\n              readOnly: true\n      volumes:', '              mountPath: /etc/redis/secret\n      volumes:',
    /StatefulSet\/halopsa-redis container redis: Secret volume secret is mounted writable/],
  ['Redis without a liveness probe', BASE, 'components/redis/statefulset.yaml',
    '          livenessProbe:\n', '          x-livenessProbe:\n',
    /StatefulSet\/halopsa-redis container redis: no livenessProbe/],
  ['an init container without limits', BASE, 'components/redis/statefulset.yaml',
    '              cpu: 100m\n              memory: 32Mi', '              cpu: 100m',
    /container auth-config: no memory limit/],
  ['a two-document file of $patch: delete (kustomize v5 panics on it)', SINGLE, 'overlays/single-replica/remove-hpa.yaml',
    '$patch: delete\n', '$patch: delete\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: halopsa\n$patch: delete\n',
    /must be alone in its file/],
];

for (const [what, target, file, from, to, expected] of cases) {
  test(`rejects ${what}`, async () => {
    const problems = await problemsOf(brokenCopy(file, from, to), target);
    assert.ok(problems.some((p) => expected.test(p)), `expected a problem matching ${expected}, got:\n${problems.join('\n')}`);
  });
}
