// What a reviewer checks in rendered manifests beyond the API schema: the pod
// runs locked down, every container is bounded and probed, the pieces refer to
// each other correctly (selectors, ports, ConfigMaps, secret files), the
// network is closed except for the intended peers, shutdown fits the grace
// period, no secret value is in the manifests, and more than one pod runs
// only with the shared state in Redis (HALOPSA_REDIS_URL). Each function
// returns a list of problems ("<Kind>/<name>: ..."); empty means it passed.

export const RUNTIME_UID = 10001;
const REQUIRED_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/part-of'];
const LISTEN_VARIABLES = {
  HALOPSA_GRPC_LISTEN: 'grpc',
  HALOPSA_GATEWAY_LISTEN: 'webhook',
  HALOPSA_ADMIN_LISTEN: 'admin',
};
const DEFAULT_SHUTDOWN_GRACE_SECONDS = 20;
const SHUTDOWN_MARGIN_SECONDS = 5;
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const SECRET_LIKE_KEY = /SECRET|PASSWORD|TOKEN|PRIVATE_KEY|API_KEY/i;
const PLACEHOLDER = /^REPLACE_ME/;

const label = (obj) => `${obj.kind}/${obj.metadata?.name}`;
const sameNamespace = (a, b) => (a.metadata.namespace ?? '') === (b.metadata.namespace ?? '');

function selects(selector, labels) {
  if (!selector) return false;
  if (selector.matchExpressions) return false; // not modelled: fail closed
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
}

function selectsMap(selectorMap, labels) {
  const entries = Object.entries(selectorMap ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

function quantity(value) {
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(value));
  if (!match) return NaN;
  const scale = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(match[1]) * (match[2] ? scale[match[2]] : 1);
}

// Durations as halopsa-server's flags take them (absl: 20s, 1m30s, 500ms).
export function durationSeconds(text) {
  const parts = [...String(text).matchAll(/([0-9.]+)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== String(text)) return NaN;
  const scale = { ms: 1e-3, s: 1, m: 60, h: 3600 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * scale[p[2]], 0);
}

function containerPort(container, port) {
  return (container.ports ?? []).find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

// halopsa runs as a Deployment; its Redis (components/redis) as a StatefulSet.
const workloads = (objects) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const deployments = (objects) => objects.filter((o) => o.kind === 'Deployment');
const podSpec = (deployment) => deployment.spec?.template?.spec ?? {};
const podLabels = (deployment) => deployment.spec?.template?.metadata?.labels ?? {};

// The environment a container starts with: envFrom ConfigMaps, then env.
export function containerEnvironment(objects, deployment, container) {
  const env = new Map();
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name && sameNamespace(o, deployment));
    for (const [k, v] of Object.entries(cm?.data ?? {})) env.set(k, v);
  }
  for (const e of container.env ?? []) env.set(e.name, e.value);
  return env;
}

// Names a variable's value refers to as $(NAME), which the kubelet expands
// from the variables defined before it.
export const expansionsOf = (value) => [...String(value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]);

const REDIS_URL = 'HALOPSA_REDIS_URL';

// Whether the container gets a non-empty HALOPSA_REDIS_URL (a literal or a
// Secret reference, e.g. a managed Redis's URL kept whole in a Secret).
function usesRedis(container, env) {
  const entry = (container.env ?? []).findLast((e) => e.name === REDIS_URL);
  return Boolean(env.get(REDIS_URL)) || Boolean(entry?.valueFrom?.secretKeyRef);
}

function checkLabels(objects) {
  return objects
    .filter((o) => o.kind !== 'Namespace')
    .flatMap((o) => REQUIRED_LABELS.filter((l) => !o.metadata.labels?.[l]).map((l) => `${label(o)}: label ${l} missing`));
}

const grpcServesTls = (env) => Boolean(env.get('HALOPSA_GRPC_TLS_CERT_FILE'));

// halopsa-server serves gRPC with a certificate, or in plaintext only when
// told so explicitly; it refuses to start otherwise.
function checkGrpcTransport(deployment, container, env) {
  const where = `${label(deployment)} container ${container.name}`;
  const plaintext = env.get('HALOPSA_GRPC_PLAINTEXT') === 'true';
  const tls = grpcServesTls(env);
  if (tls && !env.get('HALOPSA_GRPC_TLS_KEY_FILE')) return [`${where}: gRPC certificate without HALOPSA_GRPC_TLS_KEY_FILE`];
  if (tls && plaintext) return [`${where}: gRPC has a certificate and HALOPSA_GRPC_PLAINTEXT=true`];
  if (!tls && !plaintext) return [`${where}: gRPC has neither a certificate nor HALOPSA_GRPC_PLAINTEXT=true (the server would not start)`];
  return [];
}

function checkProbes(workload, container, env) {
  const problems = [];
  const where = `${label(workload)} container ${container.name}`;
  for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const probe = container[kind];
    if (!probe) {
      problems.push(`${where}: no ${kind}`);
      continue;
    }
    const handlers = PROBE_HANDLERS.filter((h) => probe[h]);
    if (handlers.length !== 1) {
      problems.push(`${where}: ${kind} needs exactly one handler, has ${handlers.join(', ') || 'none'}`);
      continue;
    }
    const handler = probe[handlers[0]];
    if ((handlers[0] === 'httpGet' || handlers[0] === 'tcpSocket') && !containerPort(container, handler.port)) {
      problems.push(`${where}: ${kind} port ${handler.port} is not a container port`);
    }
    if (handlers[0] === 'grpc') {
      if (!containerPort(container, handler.port)) problems.push(`${where}: ${kind} gRPC port ${handler.port} is not a container port`);
      if (grpcServesTls(env)) {
        problems.push(`${where}: ${kind} uses the kubelet's plaintext gRPC probe while gRPC TLS is on`);
      }
    }
  }
  return problems;
}

// imageUid: the uid the container's image is built for (halopsa's), or
// undefined for other images, which must then name some non-root uid.
function checkContainerSecurity(workload, container, imageUid) {
  const pod = podSpec(workload).securityContext ?? {};
  const sc = container.securityContext ?? {};
  const where = `${label(workload)} container ${container.name}`;
  const problems = [];
  if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
  const uid = sc.runAsUser ?? pod.runAsUser;
  if (imageUid !== undefined && uid !== imageUid) problems.push(`${where}: runs as uid ${uid}, not the image's ${imageUid}`);
  if (imageUid === undefined && !(uid > 0)) problems.push(`${where}: runs as uid ${uid}, not a fixed non-root uid`);
  if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
  if (sc.privileged === true) problems.push(`${where}: privileged`);
  if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities are not dropped (drop: [ALL])`);
  if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities`);
  if ((sc.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${where}: seccompProfile is not RuntimeDefault`);
  return problems;
}

function checkResources(workload, container) {
  const where = `${label(workload)} container ${container.name}`;
  const problems = [];
  for (const resource of ['cpu', 'memory']) {
    const request = container.resources?.requests?.[resource];
    const limit = container.resources?.limits?.[resource];
    if (request === undefined) problems.push(`${where}: no ${resource} request`);
    if (limit === undefined) problems.push(`${where}: no ${resource} limit`);
    if (request !== undefined && limit !== undefined && !(quantity(limit) >= quantity(request))) {
      problems.push(`${where}: ${resource} limit ${limit} is below the request ${request}`);
    }
  }
  return problems;
}

function checkVolumeMounts(workload, container) {
  const where = `${label(workload)} container ${container.name}`;
  const volumes = podSpec(workload).volumes ?? [];
  const claims = (workload.spec.volumeClaimTemplates ?? []).map((c) => c.metadata.name);
  const problems = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.find((v) => v.name === mount.name);
    if (!volume && !claims.includes(mount.name)) problems.push(`${where}: volumeMount ${mount.name} has no volume`);
    else if (volume?.secret && mount.readOnly !== true) problems.push(`${where}: Secret volume ${mount.name} is mounted writable`);
  }
  return problems;
}

// A problem when the Secret has a template (secret.example.yaml) without `key`.
function secretKeyProblem(secretTemplates, secretName, key, what) {
  const template = (secretTemplates ?? []).find((s) => s.metadata.name === secretName);
  if (!template) return [];
  const keys = Object.keys({ ...template.data, ...template.stringData });
  return keys.includes(key) ? [] : [`${what} reads key ${key}, which Secret ${secretName} does not have`];
}

// Secrets reach halopsa-server as files. The one exception is the Redis URL:
// the server takes the password only inside it, so HALOPSA_REDIS_URL may come
// from a Secret, or be composed by the kubelet from $(VARIABLES) that do and
// serve nothing else.
function checkSecretEnvironment(container, env, secretTemplates, where) {
  const problems = [];
  const entries = container.env ?? [];
  const forUrl = new Set(expansionsOf(env.get(REDIS_URL)));
  const password = /^rediss?:\/\/[^@/]*:([^@/]*)@/.exec(env.get(REDIS_URL) ?? '')?.[1];
  if (password && password.replace(/\$\([A-Za-z0-9_]+\)/g, '') !== '') {
    problems.push(`${where}: ${REDIS_URL} carries a password in the manifests; compose it from a Secret with $(VARIABLE) or take the whole URL from a Secret`);
  }
  entries.forEach((e, index) => {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const composed = forUrl.has(e.name) && entries.every((o) => o.name === REDIS_URL || !expansionsOf(o.value).includes(e.name));
      if (e.name !== REDIS_URL && !composed) {
        problems.push(`${where}: ${e.name} takes a Secret into the environment; mount it as a file`);
      }
      problems.push(...secretKeyProblem(secretTemplates, ref.name, ref.key, `${where}: ${e.name}`));
    }
    for (const name of expansionsOf(e.value)) {
      if (!entries.slice(0, index).some((o) => o.name === name)) {
        problems.push(`${where}: ${e.name} refers to $(${name}), which is not defined before it (the kubelet would pass the text unexpanded)`);
      }
    }
  });
  return problems;
}

function checkFilesAndConfig(objects, deployment, container, env, secretTemplates) {
  const where = `${label(deployment)} container ${container.name}`;
  const volumes = podSpec(deployment).volumes ?? [];
  const mounts = container.volumeMounts ?? [];
  const problems = [];
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    if (!name) problems.push(`${where}: envFrom other than a ConfigMap`);
    else if (!objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === name && sameNamespace(o, deployment))) {
      problems.push(`${where}: envFrom ConfigMap ${name} is not in the manifests`);
    }
  }
  problems.push(...checkSecretEnvironment(container, env, secretTemplates, where));
  for (const [name, value] of env) {
    if (!name.endsWith('_FILE') || !value) continue;
    const mount = mounts.find((m) => value.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
    if (!mount) {
      problems.push(`${where}: ${name}=${value} is on no volume (the root filesystem is the image)`);
      continue;
    }
    const secretName = volumes.find((v) => v.name === mount.name)?.secret?.secretName;
    const key = value.slice(mount.mountPath.replace(/\/$/, '').length + 1);
    problems.push(...secretKeyProblem(secretTemplates, secretName, key, `${where}: ${name}`));
  }
  problems.push(...checkVolumeMounts(deployment, container));
  const tmp = mounts.find((m) => m.mountPath === '/tmp');
  if (!tmp || !volumes.find((v) => v.name === tmp.name)?.emptyDir) problems.push(`${where}: no emptyDir at /tmp`);
  for (const [variable, portName] of Object.entries(LISTEN_VARIABLES)) {
    const port = containerPort(container, portName);
    const listen = env.get(variable);
    if (!port) problems.push(`${where}: no container port named ${portName}`);
    else if (!listen || Number(listen.split(':').at(-1)) !== port.containerPort) {
      problems.push(`${where}: ${variable}=${listen} does not listen on the ${portName} port ${port.containerPort}`);
    }
  }
  return problems;
}

// Seconds the preStop hook holds the pod before SIGTERM, or a problem.
function preStopPause(container) {
  const preStop = container.lifecycle?.preStop;
  if (!preStop) return { seconds: 0 };
  if (preStop.sleep) return { seconds: preStop.sleep.seconds };
  const command = preStop.exec?.command ?? [];
  if (/(^|\/)(ba|da)?sh$/.test(command[0] ?? '')) return { problem: 'preStop runs a shell' };
  if (/(^|\/)sleep$/.test(command[0] ?? '') && command.length === 2 && /^\d+$/.test(command[1])) {
    return { seconds: Number(command[1]) };
  }
  return { problem: `preStop ${JSON.stringify(command)} is neither a sleep nor understood here` };
}

function checkDeployment(objects, deployment, options) {
  const problems = [];
  const where = label(deployment);
  const spec = podSpec(deployment);
  const labels = podLabels(deployment);
  if (!selects(deployment.spec.selector, labels)) problems.push(`${where}: selector does not match the pod labels`);
  if (spec.automountServiceAccountToken !== false) problems.push(`${where}: mounts a service account token`);
  if (spec.enableServiceLinks !== false) {
    problems.push(`${where}: enableServiceLinks is not false (Service variables would look like HALOPSA_* flags)`);
  }
  const constraints = spec.topologySpreadConstraints ?? [];
  if (constraints.length === 0) problems.push(`${where}: no topologySpreadConstraints`);
  for (const c of constraints) {
    if (!selects(c.labelSelector, labels)) problems.push(`${where}: topology spread on ${c.topologyKey} selects other pods`);
  }

  const annotations = deployment.spec.template.metadata?.annotations ?? {};
  const containers = spec.containers ?? [];
  const adminPort = containers.map((c) => containerPort(c, 'admin')).find(Boolean);
  if (annotations['prometheus.io/scrape'] !== 'true' || annotations['prometheus.io/path'] !== '/metrics' ||
      Number(annotations['prometheus.io/port']) !== adminPort?.containerPort) {
    problems.push(`${where}: Prometheus annotations do not point at /metrics on the admin port`);
  }

  for (const container of containers) {
    const env = containerEnvironment(objects, deployment, container);
    problems.push(...checkResources(deployment, container));
    problems.push(...checkGrpcTransport(deployment, container, env));
    problems.push(...checkProbes(deployment, container, env));
    problems.push(...checkContainerSecurity(deployment, container, RUNTIME_UID));
    problems.push(...checkFilesAndConfig(objects, deployment, container, env, options.secretTemplates));
    const pinned = /(:[^:/]+|@sha256:[0-9a-f]{64})$/.test(container.image) && !/:latest$/.test(container.image);
    if (options.requirePinnedImage && !pinned) {
      problems.push(`${where} container ${container.name}: image ${container.image} is not pinned to a tag or digest`);
    }
    const grace = env.has('HALOPSA_SHUTDOWN_GRACE')
      ? durationSeconds(env.get('HALOPSA_SHUTDOWN_GRACE'))
      : DEFAULT_SHUTDOWN_GRACE_SECONDS;
    const pause = preStopPause(container);
    if (pause.problem) problems.push(`${where} container ${container.name}: ${pause.problem}`);
    const needed = (pause.seconds ?? 0) + grace + SHUTDOWN_MARGIN_SECONDS;
    const given = spec.terminationGracePeriodSeconds ?? 30;
    if (!(given >= needed)) {
      problems.push(`${where}: terminationGracePeriodSeconds ${given} does not cover preStop + HALOPSA_SHUTDOWN_GRACE + ${SHUTDOWN_MARGIN_SECONDS}s (${needed})`);
    }
  }

  const sharedState = containers.some((c) => usesRedis(c, containerEnvironment(objects, deployment, c)));
  problems.push(...checkReplicas(objects, deployment, sharedState));
  return problems;
}

// Replicas: the autoscaler (or spec.replicas) decides how many pods may run;
// more than one needs the shared state in Redis, since each pod would
// otherwise keep its own replies, journal, request budget and link locks. A
// single pod must also roll by Recreate (a rolling update runs the new pod
// beside the old one) and have no PodDisruptionBudget (it would block every
// node drain); several pods need a guaranteed two and a budget below that.
function checkReplicas(objects, deployment, sharedState) {
  const problems = [];
  const where = label(deployment);
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler' && sameNamespace(o, deployment) &&
    o.spec.scaleTargetRef.kind === 'Deployment' && o.spec.scaleTargetRef.name === deployment.metadata.name);
  let minReplicas = deployment.spec.replicas ?? 1;
  let maxReplicas = minReplicas;
  if (hpas.length > 1) problems.push(`${where}: more than one HorizontalPodAutoscaler`);
  if (hpas.length === 1) {
    const hpa = hpas[0];
    minReplicas = hpa.spec.minReplicas ?? 1;
    maxReplicas = hpa.spec.maxReplicas;
    if (deployment.spec.replicas !== undefined) {
      problems.push(`${where}: sets spec.replicas although ${label(hpa)} owns the replica count`);
    }
    if (hpa.spec.maxReplicas < minReplicas) problems.push(`${label(hpa)}: maxReplicas below minReplicas`);
  }
  if (maxReplicas > 1 && !sharedState) {
    problems.push(`${where}: allows ${maxReplicas} replicas without ${REDIS_URL} (each pod would keep its own replies, journal, request budget and link locks); set it or run one replica (overlays/single-replica)`);
  }
  if (!sharedState && deployment.spec.strategy?.type !== 'Recreate') {
    problems.push(`${where}: without ${REDIS_URL} the strategy must be Recreate (a rolling update runs a second pod beside the first)`);
  }
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget' && sameNamespace(o, deployment) && selects(o.spec.selector, podLabels(deployment)));
  if (maxReplicas === 1) {
    if (pdbs.length > 0) problems.push(`${where}: a PodDisruptionBudget on its single replica blocks every node drain`);
    return problems;
  }
  if (minReplicas < 2) problems.push(`${where}: fewer than 2 replicas guaranteed (${minReplicas})`);
  if (pdbs.length !== 1) problems.push(`${where}: ${pdbs.length} PodDisruptionBudgets select its pods, expected 1`);
  for (const pdb of pdbs) {
    if (!(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < minReplicas)) {
      problems.push(`${label(pdb)}: minAvailable ${pdb.spec.minAvailable} must be at least 1 and below the ${minReplicas} replicas`);
    }
  }
  return problems;
}

// A workload beside halopsa (the Redis of components/redis): locked down,
// bounded and probed like halopsa, governed by a Service, Secrets as files.
function checkStatefulSet(objects, set) {
  const problems = [];
  const where = label(set);
  const spec = podSpec(set);
  if (!selects(set.spec.selector, podLabels(set))) problems.push(`${where}: selector does not match the pod labels`);
  if (spec.automountServiceAccountToken !== false) problems.push(`${where}: mounts a service account token`);
  if (!objects.some((o) => o.kind === 'Service' && o.metadata.name === set.spec.serviceName && sameNamespace(o, set))) {
    problems.push(`${where}: serviceName ${set.spec.serviceName} is not a Service in the manifests`);
  }
  for (const container of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    problems.push(...checkResources(set, container), ...checkContainerSecurity(set, container, undefined));
    problems.push(...checkVolumeMounts(set, container));
    for (const e of container.env ?? []) {
      if (e.valueFrom?.secretKeyRef) problems.push(`${where} container ${container.name}: ${e.name} takes a Secret into the environment; mount it as a file`);
    }
  }
  for (const container of spec.containers ?? []) problems.push(...checkProbes(set, container, new Map()));
  return problems;
}

function checkServices(objects) {
  const problems = [];
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    const backends = workloads(objects).filter((d) => sameNamespace(d, service) && selectsMap(service.spec.selector, podLabels(d)));
    if (backends.length !== 1) {
      problems.push(`${label(service)}: selector matches ${backends.length} workloads' pods, expected 1`);
      continue;
    }
    const containers = podSpec(backends[0]).containers ?? [];
    for (const port of service.spec.ports ?? []) {
      const target = port.targetPort ?? port.port;
      const resolved = containers.map((c) => containerPort(c, target)).find(Boolean);
      if (!resolved) problems.push(`${label(service)}: port ${port.name ?? port.port} targets ${target}, which no container exposes`);
      else if (resolved.name === 'admin') problems.push(`${label(service)}: exposes the admin port`);
      if ((port.name === 'grpc' || resolved?.name === 'grpc') && port.appProtocol !== 'grpc') {
        problems.push(`${label(service)}: gRPC port without appProtocol grpc`);
      }
    }
  }
  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const ref = hpa.spec.scaleTargetRef;
    if (!objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name && sameNamespace(o, hpa))) {
      problems.push(`${label(hpa)}: scale target ${ref.kind}/${ref.name} is not in the manifests`);
    }
  }
  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    if ((ingress.spec.tls ?? []).length === 0) problems.push(`${label(ingress)}: no TLS`);
    const backends = (ingress.spec.rules ?? []).flatMap((r) => r.http?.paths ?? []).map((p) => p.backend.service);
    for (const backend of backends) {
      const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === backend?.name && sameNamespace(o, ingress));
      const port = service?.spec.ports.find((p) => p.name === backend.port.name || p.port === backend.port.number);
      if (!port) problems.push(`${label(ingress)}: backend ${backend?.name}:${backend?.port?.name ?? backend?.port?.number} does not exist`);
    }
  }
  return problems;
}

function ruleHasPort(rule, protocol, port, container) {
  return (rule.ports ?? []).some((p) => (p.protocol ?? 'TCP') === protocol &&
    (p.port === port || (container && typeof p.port === 'string' && containerPort(container, p.port)?.containerPort === port)));
}

function checkNetworkPolicies(objects) {
  const problems = [];
  for (const deployment of workloads(objects)) {
    const where = label(deployment);
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && sameNamespace(o, deployment) &&
      selects(o.spec.podSelector, podLabels(deployment)));
    const ingress = policies.filter((p) => (p.spec.policyTypes ?? ['Ingress']).includes('Ingress')).flatMap((p) => p.spec.ingress ?? []);
    const egress = policies.filter((p) => (p.spec.policyTypes ?? []).includes('Egress')).flatMap((p) => p.spec.egress ?? []);
    for (const rule of ingress) {
      if ((rule.from ?? []).length === 0) problems.push(`${where}: an ingress rule allows any source`);
      if ((rule.ports ?? []).length === 0) problems.push(`${where}: an ingress rule allows every port`);
    }
    for (const container of podSpec(deployment).containers ?? []) {
      for (const port of container.ports ?? []) {
        if (!ingress.some((rule) => ruleHasPort(rule, port.protocol ?? 'TCP', port.containerPort, container))) {
          problems.push(`${where}: no NetworkPolicy admits port ${port.name ?? ''} ${port.containerPort}`);
        }
      }
    }
    if (!policies.some((p) => (p.spec.policyTypes ?? []).includes('Egress'))) problems.push(`${where}: egress is not restricted`);
    for (const rule of egress) {
      if ((rule.to ?? []).length === 0 && (rule.ports ?? []).length === 0) problems.push(`${where}: an egress rule allows everything`);
    }
    // halopsa's own needs; other workloads (Redis) may have no egress at all.
    const needed = deployment.kind === 'Deployment' ? [['UDP', 53, 'DNS'], ['TCP', 53, 'DNS over TCP'], ['TCP', 443, 'HTTPS']] : [];
    for (const [protocol, port, what] of needed) {
      if (!egress.some((rule) => ruleHasPort(rule, protocol, port))) problems.push(`${where}: egress does not allow ${what} (${protocol} ${port})`);
    }
  }
  return problems;
}

// The in-cluster address in a redis:// URL: the Service name (first DNS
// label) and port, or undefined for unix sockets and unparsable values.
export function redisServiceAddress(url) {
  const match = /^rediss?:\/\/(?:[^@/]*@)?([a-z0-9-]+)(?:\.[^:/]*)?(?::(\d+))?(?:\/\d*)?$/.exec(String(url ?? ''));
  return match ? { service: match[1], port: Number(match[2] ?? 6379) } : undefined;
}

// When HALOPSA_REDIS_URL names a Service of the rendering (components/redis):
// the port exists, one Redis pod stands behind it (a second would be a
// separate store behind the same name), halopsa's egress reaches it, its
// ingress admits halopsa's pods and nobody else, and the password halopsa
// composes into the URL comes from the Secret that Redis mounts.
function checkSharedState(objects) {
  const problems = [];
  for (const deployment of deployments(objects)) {
    for (const container of podSpec(deployment).containers ?? []) {
      const env = containerEnvironment(objects, deployment, container);
      const address = redisServiceAddress(env.get(REDIS_URL));
      const service = address && objects.find((o) => o.kind === 'Service' && o.metadata.name === address.service && sameNamespace(o, deployment));
      if (!service) continue;
      const where = `${label(deployment)}: ${REDIS_URL} names ${label(service)}`;
      const port = (service.spec.ports ?? []).find((p) => p.port === address.port);
      const [redis, ...more] = workloads(objects).filter((w) => sameNamespace(w, service) && selectsMap(service.spec.selector, podLabels(w)));
      if (!port) problems.push(`${where} port ${address.port}, which it does not have`);
      if (!redis || more.length > 0) continue; // checkServices reports it
      if (redis.kind !== 'StatefulSet' || redis.spec.replicas !== 1) {
        problems.push(`${where}, whose ${label(redis)} may run ${redis.spec.replicas ?? 1} pods; a standalone Redis is exactly one`);
      }
      const targetPort = port && (podSpec(redis).containers ?? []).map((c) => containerPort(c, port.targetPort ?? port.port)).find(Boolean)?.containerPort;
      problems.push(...redisNetworkProblems(objects, deployment, redis, targetPort, where));
      const secretNames = (podSpec(redis).volumes ?? []).map((v) => v.secret?.secretName).filter(Boolean);
      for (const name of expansionsOf(env.get(REDIS_URL))) {
        const ref = container.env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
        if (ref && !secretNames.includes(ref.name)) {
          problems.push(`${where}; its password comes from Secret ${ref.name}, which ${label(redis)} does not mount`);
        }
      }
    }
  }
  return problems;
}

function redisNetworkProblems(objects, client, redis, port, where) {
  const problems = [];
  const policiesOf = (w) => objects.filter((o) => o.kind === 'NetworkPolicy' && sameNamespace(o, w) && selects(o.spec.podSelector, podLabels(w)));
  const egress = policiesOf(client).filter((p) => (p.spec.policyTypes ?? []).includes('Egress')).flatMap((p) => p.spec.egress ?? []);
  const reaches = egress.some((rule) => ruleHasPort(rule, 'TCP', port) &&
    (rule.to ?? []).some((peer) => !peer.namespaceSelector && selects(peer.podSelector, podLabels(redis))));
  if (!reaches) problems.push(`${where}, but no egress rule of its pods admits TCP ${port} to ${label(redis)}'s pods`);
  const ingress = policiesOf(redis).filter((p) => (p.spec.policyTypes ?? ['Ingress']).includes('Ingress')).flatMap((p) => p.spec.ingress ?? []);
  if (ingress.length === 0) problems.push(`${where}, but no NetworkPolicy limits who reaches ${label(redis)}`);
  for (const peer of ingress.flatMap((rule) => rule.from ?? [])) {
    const onlyClient = !peer.namespaceSelector && !peer.ipBlock && Object.keys(peer.podSelector?.matchLabels ?? {}).length > 0 &&
      selects(peer.podSelector, podLabels(client));
    if (!onlyClient) problems.push(`${label(redis)}: an ingress peer other than ${label(client)}'s pods: ${JSON.stringify(peer)}`);
  }
  return problems;
}

function checkNoSecrets(objects) {
  const problems = [];
  for (const obj of objects) {
    if (obj.kind === 'Secret') problems.push(`${label(obj)}: Secrets are created out of band, never rendered from the repository`);
    if (obj.kind === 'ConfigMap') {
      for (const key of Object.keys(obj.data ?? {})) {
        if (SECRET_LIKE_KEY.test(key) && !key.endsWith('_FILE')) problems.push(`${label(obj)}: ${key} looks like a secret in a ConfigMap`);
      }
    }
    if (obj.kind === 'Namespace' && obj.metadata.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') {
      problems.push(`${label(obj)}: does not enforce the restricted Pod Security Standard`);
    }
  }
  return problems;
}

export function secretTemplateProblems(secret) {
  const problems = [];
  if (secret.kind !== 'Secret') return [`${label(secret)}: not a Secret`];
  if (secret.data) problems.push(`${label(secret)}: template carries data; use stringData placeholders`);
  const values = Object.entries(secret.stringData ?? {});
  if (values.length === 0) problems.push(`${label(secret)}: template lists no keys`);
  for (const [key, value] of values) {
    if (!PLACEHOLDER.test(String(value))) problems.push(`${label(secret)}: ${key} is not a REPLACE_ME placeholder`);
  }
  return problems;
}

// options: { secretTemplates: the Secret template objects (secret.example.yaml), requirePinnedImage }
export function policyProblems(objects, options = {}) {
  return [
    ...checkLabels(objects),
    ...deployments(objects).flatMap((d) => checkDeployment(objects, d, options)),
    ...(deployments(objects).length === 0 ? ['no Deployment rendered'] : []),
    ...objects.filter((o) => o.kind === 'StatefulSet').flatMap((s) => checkStatefulSet(objects, s)),
    ...checkSharedState(objects),
    ...checkServices(objects),
    ...checkNetworkPolicies(objects),
    ...checkNoSecrets(objects),
  ];
}
