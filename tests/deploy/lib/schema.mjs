// Validates objects against the Kubernetes API schemas of the npm package
// kubernetes-models (Kubernetes 1.30 OpenAPI), strictly: its validators accept
// fields they do not know, while an API server with strict field validation
// (kubectl's default) rejects them, so every field the validator never read
// is reported as unknown.

function trackReads(root) {
  const reads = new Map(); // original node -> names of the fields read
  const proxies = new WeakMap();
  const wrap = (node) => {
    if (node === null || typeof node !== 'object') return node;
    if (proxies.has(node)) return proxies.get(node);
    const names = new Set();
    reads.set(node, names);
    const proxy = new Proxy(node, {
      get(target, key, receiver) {
        if (typeof key === 'string') names.add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
      has(target, key) {
        if (typeof key === 'string') names.add(key);
        return Reflect.has(target, key);
      },
    });
    proxies.set(node, proxy);
    return proxy;
  };
  return { proxy: wrap(root), reads };
}

function unknownFields(node, reads, pointer) {
  if (Array.isArray(node)) return node.flatMap((item, i) => unknownFields(item, reads, `${pointer}/${i}`));
  if (node === null || typeof node !== 'object') return [];
  const known = reads.get(node) ?? new Set();
  return Object.entries(node).flatMap(([field, value]) =>
    known.has(field) ? unknownFields(value, reads, `${pointer}/${field}`) : [`${pointer}/${field}`],
  );
}

async function modelFor(apiVersion, kind) {
  let module;
  try {
    module = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    return undefined;
  }
  const model = module[kind];
  return model && model.apiVersion === apiVersion && model.kind === kind ? model : undefined;
}

// Returns the problems of one object, each "<Kind>/<name>: ...". An object of
// an API the package does not know is a problem too (fail closed).
export async function schemaProblems(obj) {
  const label = `${obj.kind}/${obj.metadata?.name}`;
  const model = await modelFor(obj.apiVersion, obj.kind);
  if (!model) return [`${label}: no schema for ${obj.apiVersion} ${obj.kind}`];
  const problems = [];
  const { proxy, reads } = trackReads(obj);
  try {
    model.prototype.validate.call(proxy);
  } catch (error) {
    problems.push(`${label}: ${error.message}`);
  }
  for (const field of unknownFields(obj, reads, '')) problems.push(`${label}: unknown field ${field}`);
  return problems;
}
