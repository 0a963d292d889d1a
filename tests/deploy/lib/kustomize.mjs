// Renders a kustomization the way `kustomize build` (v5) does, for the subset
// of kustomize that deploy/k8s uses: resources, components, namespace,
// images, patches (strategic merge, matched by kind and name, with
// `$patch: delete` for a whole object or a list item) and
// configMapGenerator (literals, with the content-hash name suffix). Anything
// outside that subset throws instead of rendering something kustomize would
// not, and kustomize-parity.test.mjs compares the output with the real
// `kubectl kustomize` wherever one is installed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_FIELDS = new Set([
  'apiVersion', 'kind', 'resources', 'components', 'namespace', 'images', 'patches', 'configMapGenerator',
]);
const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume',
  'StorageClass', 'PriorityClass', 'IngressClass', 'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

// Strategic-merge keys of the lists deploy/k8s patches, keyed by
// "<parent field>.<list field>" (Kubernetes' patchMergeKey). Other lists are
// replaced whole, as kustomize does for lists without one.
const MERGE_KEYS = new Map([
  ['spec.containers', 'name'],
  ['spec.initContainers', 'name'],
  ['spec.volumes', 'name'],
  ['spec.imagePullSecrets', 'name'],
  ['spec.topologySpreadConstraints', 'topologyKey'],
  ['spec.ports', 'port'], // Service
  ...['containers', 'initContainers'].flatMap((c) => [
    [`${c}.env`, 'name'],
    [`${c}.volumeMounts`, 'mountPath'],
    [`${c}.ports`, 'containerPort'],
  ]),
]);

export class KustomizeError extends Error {}

function fail(message) {
  throw new KustomizeError(message);
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = (v) => structuredClone(v);

// Kubernetes decodes YAML with 1.1 rules (yes/no/on/off are booleans), so the
// manifests are read that way too: a value that only 1.2 reads as a string
// fails schema validation here as it would fail in the cluster.
export function loadYamlDocuments(file) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1', uniqueKeys: true });
  const objects = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) fail(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isObject(value)) fail(`${file}: a document is not a mapping`);
    objects.push(value);
  }
  return objects;
}

export function idOf(obj) {
  const ns = obj.metadata?.namespace ?? '';
  return `${obj.apiVersion}/${obj.kind}/${ns}/${obj.metadata?.name}`;
}

function groupOf(apiVersion) {
  return apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
}

function loadKustomization(dir, expectedKind) {
  const file = KUSTOMIZATION_FILES.map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (!file) fail(`${dir}: no kustomization file`);
  const docs = loadYamlDocuments(file);
  if (docs.length !== 1) fail(`${file}: expected one document`);
  const k = docs[0];
  const kind = k.kind ?? 'Kustomization';
  if (kind !== expectedKind) fail(`${file}: kind ${kind} where ${expectedKind} was expected`);
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field)) {
      fail(`${file}: kustomize field "${field}" is outside the subset tests/deploy renders`);
    }
  }
  return { file, k };
}

function localPath(dir, entry, file) {
  if (typeof entry !== 'string' || /^[a-z]+:\/\//i.test(entry) || entry.startsWith('github.com/')) {
    fail(`${file}: only local paths are supported, not ${JSON.stringify(entry)}`);
  }
  const p = path.resolve(dir, entry);
  if (!existsSync(p)) fail(`${file}: ${entry} does not exist`);
  return p;
}

function addObject(state, obj, source) {
  if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) {
    fail(`${source}: every resource needs apiVersion, kind and metadata.name`);
  }
  const id = idOf(obj);
  if (state.objects.some((o) => idOf(o) === id)) fail(`${source}: ${id} is defined twice`);
  state.objects.push(obj);
}

function parseLiteral(literal, file) {
  const at = typeof literal === 'string' ? literal.indexOf('=') : -1;
  if (at <= 0) fail(`${file}: literal ${JSON.stringify(literal)} is not KEY=VALUE`);
  const key = literal.slice(0, at);
  let value = literal.slice(at + 1);
  if (!/^[-._a-zA-Z0-9]+$/.test(key)) fail(`${file}: ${JSON.stringify(key)} is not a valid ConfigMap key`);
  // kustomize strips one pair of matching surrounding quotes.
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
    value = value.slice(1, -1);
  }
  return [key, value];
}

function applyConfigMapGenerators(state, generators, file) {
  for (const gen of generators ?? []) {
    for (const field of Object.keys(gen)) {
      if (!['name', 'behavior', 'literals', 'options'].includes(field)) {
        fail(`${file}: configMapGenerator field "${field}" is outside the supported subset`);
      }
    }
    for (const field of Object.keys(gen.options ?? {})) {
      if (!['labels', 'annotations'].includes(field)) {
        fail(`${file}: configMapGenerator option "${field}" is outside the supported subset`);
      }
    }
    const data = Object.fromEntries((gen.literals ?? []).map((l) => parseLiteral(l, file)));
    const behavior = gen.behavior ?? 'create';
    const existing = state.objects.find(
      (o) => o.kind === 'ConfigMap' && state.generated.has(o) && o.metadata.name === gen.name,
    );
    if (behavior === 'create') {
      if (existing) fail(`${file}: ConfigMap ${gen.name} is already generated (use behavior: merge)`);
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data };
      if (gen.options?.labels) cm.metadata.labels = { ...gen.options.labels };
      if (gen.options?.annotations) cm.metadata.annotations = { ...gen.options.annotations };
      addObject(state, cm, file);
      state.generated.add(cm);
    } else if (behavior === 'merge' || behavior === 'replace') {
      if (!existing) fail(`${file}: no generated ConfigMap ${gen.name} to ${behavior}`);
      existing.data = behavior === 'merge' ? { ...existing.data, ...data } : data;
      for (const field of ['labels', 'annotations']) {
        if (gen.options?.[field]) existing.metadata[field] = { ...existing.metadata[field], ...gen.options[field] };
      }
    } else {
      fail(`${file}: unknown configMapGenerator behavior ${behavior}`);
    }
  }
}

function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

// The one directive supported: `$patch: delete` on an object or list item.
function deletes(patch) {
  for (const [field, value] of Object.entries(patch)) {
    if (field.startsWith('$') && !(field === '$patch' && value === 'delete')) {
      fail(`patch directive ${field}: ${JSON.stringify(value)} is outside the supported subset`);
    }
  }
  return patch.$patch === 'delete';
}

// Strategic merge patch: maps merge, null deletes a key, lists with a merge
// key merge item by item (patch items first, then the remaining original
// items, which is kustomize's order; an item with `$patch: delete` removes
// its match), other lists are replaced.
function strategicMerge(original, patch, parentField) {
  if (!isObject(patch)) return clone(patch);
  if (deletes(patch)) fail(`$patch: delete is supported on whole objects and merge-keyed list items only`);
  if (!isObject(original)) return withoutNulls(patch);
  const out = clone(original);
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) {
      delete out[field];
    } else if (Array.isArray(value) && Array.isArray(original[field]) && MERGE_KEYS.has(`${parentField}.${field}`)) {
      out[field] = mergeList(original[field], value, MERGE_KEYS.get(`${parentField}.${field}`), field);
    } else {
      out[field] = strategicMerge(original[field], value, field);
    }
  }
  return out;
}

function mergeList(original, patch, key, field) {
  const used = new Set();
  const merged = patch.flatMap((item) => {
    const match = original.find((o) => isObject(o) && isObject(item) && o[key] === item[key]);
    if (match) used.add(match);
    if (isObject(item) && deletes(item)) return [];
    if (!match) return [withoutNulls(item)];
    return [strategicMerge(match, item, field)];
  });
  return [...merged, ...original.filter((o) => !used.has(o)).map(clone)];
}

function applyPatches(state, patches, dir, file) {
  for (const entry of patches ?? []) {
    if (!isObject(entry) || Object.keys(entry).some((f) => f !== 'path')) {
      fail(`${file}: only "patches: - path: <strategic merge patch>" is supported`);
    }
    const patchFile = localPath(dir, entry.path, file);
    const patches = loadYamlDocuments(patchFile);
    if (patches.filter(deletes).length > 0 && patches.length > 1) {
      fail(`${patchFile}: a $patch: delete document must be alone in its file (kustomize v5 panics otherwise)`);
    }
    for (const patch of patches) {
      const matches = state.objects.filter(
        (o) =>
          o.kind === patch.kind &&
          o.metadata.name === patch.metadata?.name &&
          groupOf(o.apiVersion) === groupOf(patch.apiVersion ?? '') &&
          (patch.metadata?.namespace === undefined || o.metadata.namespace === patch.metadata.namespace),
      );
      if (matches.length !== 1) {
        fail(`${patchFile}: patch for ${patch.kind} ${patch.metadata?.name} matches ${matches.length} resources`);
      }
      const target = matches[0];
      if (deletes(patch)) {
        state.objects.splice(state.objects.indexOf(target), 1);
        state.generated.delete(target);
        continue;
      }
      const merged = strategicMerge(target, patch, '');
      for (const k of Object.keys(target)) delete target[k];
      Object.assign(target, merged);
    }
  }
}

function setNamespace(state, namespace) {
  for (const obj of state.objects) {
    if (!CLUSTER_SCOPED_KINDS.has(obj.kind)) obj.metadata.namespace = namespace;
  }
}

function splitImage(image) {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at) : '';
  const rest = at >= 0 ? image.slice(0, at) : image;
  const colon = rest.lastIndexOf(':');
  const tagged = colon > rest.lastIndexOf('/');
  return { name: tagged ? rest.slice(0, colon) : rest, tag: tagged ? rest.slice(colon) : '', digest };
}

function applyImages(state, images, file) {
  for (const img of images ?? []) {
    for (const field of Object.keys(img)) {
      if (!['name', 'newName', 'newTag', 'digest'].includes(field)) fail(`${file}: images field ${field} is unsupported`);
    }
  }
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isObject(node)) return;
    for (const [field, value] of Object.entries(node)) {
      if ((field === 'containers' || field === 'initContainers') && Array.isArray(value)) {
        for (const container of value) {
          if (typeof container.image !== 'string') continue;
          const current = splitImage(container.image);
          const rule = images.find((i) => i.name === current.name);
          if (!rule) continue;
          const name = rule.newName ?? current.name;
          if (rule.digest) container.image = `${name}@${rule.digest}`;
          else if (rule.newTag !== undefined) container.image = `${name}:${rule.newTag}`;
          else container.image = `${name}${current.tag}${current.digest}`;
        }
      } else {
        visit(value);
      }
    }
  };
  if (images) state.objects.forEach(visit);
}

function accumulate(state, dir, expectedKind) {
  const { file, k } = loadKustomization(dir, expectedKind);
  for (const entry of k.resources ?? []) {
    const p = localPath(dir, entry, file);
    if (statSync(p).isDirectory()) {
      const sub = { objects: [], generated: new Set() };
      accumulate(sub, p, 'Kustomization');
      for (const obj of sub.objects) {
        addObject(state, obj, p);
        if (sub.generated.has(obj)) state.generated.add(obj);
      }
    } else {
      for (const obj of loadYamlDocuments(p)) addObject(state, obj, p);
    }
  }
  for (const entry of k.components ?? []) accumulate(state, localPath(dir, entry, file), 'Component');
  applyConfigMapGenerators(state, k.configMapGenerator, file);
  applyPatches(state, k.patches, dir, file);
  if (k.namespace) setNamespace(state, k.namespace);
  applyImages(state, k.images, file);
}

// kustomize's ConfigMap hash: sha256 over Go's sorted-key JSON of kind, data
// and (as kustomize v5 computes it) an empty name; first 10 hex digits with
// vowel-like digits mapped to consonants.
function configMapHash(cm) {
  if (Object.values(cm.data).some((v) => /[<>&\u2028\u2029]/.test(v))) {
    fail(`ConfigMap ${cm.metadata.name}: values with <, >, & are outside the supported subset (Go escapes them)`);
  }
  const data = Object.fromEntries(Object.keys(cm.data).sort().map((k) => [k, cm.data[k]]));
  const hex = createHash('sha256').update(JSON.stringify({ data, kind: 'ConfigMap', name: '' })).digest('hex');
  const map = { 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => map[c] ?? c).join('');
}

function renameConfigMapReferences(node, namespace, renames) {
  if (Array.isArray(node)) return node.forEach((n) => renameConfigMapReferences(n, namespace, renames));
  if (!isObject(node)) return;
  for (const [field, value] of Object.entries(node)) {
    if (['configMapRef', 'configMapKeyRef', 'configMap'].includes(field) && isObject(value)) {
      const renamed = renames.get(`${namespace}/${value.name}`);
      if (renamed) value.name = renamed;
    } else {
      renameConfigMapReferences(value, namespace, renames);
    }
  }
}

// Returns the objects `kustomize build <dir>` would output (in no particular
// order: compare by idOf).
export function render(dir) {
  const state = { objects: [], generated: new Set() };
  accumulate(state, path.resolve(dir), 'Kustomization');
  const renames = new Map();
  for (const cm of state.generated) {
    const renamed = `${cm.metadata.name}-${configMapHash(cm)}`;
    renames.set(`${cm.metadata.namespace ?? ''}/${cm.metadata.name}`, renamed);
    cm.metadata.name = renamed;
  }
  for (const obj of state.objects) {
    if (obj.kind !== 'ConfigMap') renameConfigMapReferences(obj.spec, obj.metadata.namespace ?? '', renames);
  }
  return state.objects;
}
