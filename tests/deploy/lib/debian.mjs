// Questions answered from this machine's dpkg database and the built binaries
// (no network): which packages are installed, what they depend on, which
// package ships a file, which shared libraries a binary loads.
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result;
}

export function hasDpkg() {
  return !run('sh', ['-c', 'command -v dpkg-query && command -v ldd && command -v readelf']).status;
}

export function debianRelease() {
  return run('cat', ['/etc/debian_version']).stdout.trim();
}

// name -> true when installed here.
export function installed(names) {
  const out = run('dpkg-query', ['-W', '-f=${Package}\t${db:Status-Status}\n', ...names]).stdout;
  const status = new Map(out.trim().split('\n').filter(Boolean).map((l) => l.split('\t')));
  return new Map(names.map((n) => [n, status.get(n) === 'installed']));
}

function parseDepends(field) {
  return field.split(',').map((s) => s.trim()).filter(Boolean)
    .map((alternatives) => alternatives.split('|').map((a) => a.trim().split(/[\s(:]/)[0]));
}

// The installed packages that `names` need, themselves included.
export function dependencyClosure(names) {
  const closure = new Set();
  let frontier = [...names];
  while (frontier.length > 0) {
    const out = run('dpkg-query', ['-W', '-f=${Package}\t${Depends}\t${Pre-Depends}\n', ...frontier]).stdout;
    frontier.forEach((n) => closure.add(n));
    const groups = out.split('\n').filter(Boolean).flatMap((line) => {
      const [, depends = '', preDepends = ''] = line.split('\t');
      return parseDepends(`${depends},${preDepends}`);
    });
    const present = installed([...new Set(groups.flat())]);
    const next = new Set(groups.flat().filter((n) => present.get(n) && !closure.has(n)));
    frontier = [...next];
  }
  return closure;
}

// Shared libraries the dynamic loader resolves for `binary`:
// [{ soname, path }], path undefined when not found.
export function loadedLibraries(binary) {
  const out = run('ldd', [binary]).stdout;
  const libraries = [];
  for (const line of out.split('\n')) {
    let m = /^\s*(\S+) => (not found|(\S+) \(0x[0-9a-f]+\))/.exec(line);
    if (m) libraries.push({ soname: m[1], path: m[3] });
    else if ((m = /^\s*(\/\S+) \(0x[0-9a-f]+\)/.exec(line))) libraries.push({ soname: m[1].split('/').at(-1), path: m[1] });
  }
  return libraries;
}

// The sonames `binary` itself names (DT_NEEDED).
export function neededSonames(binary) {
  return [...run('readelf', ['-d', binary]).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
}

// file -> package shipping it (dpkg records /lib or /usr/lib paths, whichever
// the package uses; /lib is a symlink to /usr/lib on Debian 12).
export function owningPackages(files) {
  const candidates = new Map();
  for (const file of files) {
    const real = realpathSync(file);
    const forms = new Set([file, real]);
    for (const f of [file, real]) {
      if (f.startsWith('/usr/lib/')) forms.add(f.slice(4));
      else if (f.startsWith('/lib')) forms.add(`/usr${f}`);
    }
    candidates.set(file, [...forms]);
  }
  const out = run('dpkg', ['-S', ...new Set([...candidates.values()].flat())]).stdout;
  const byPath = new Map();
  for (const line of out.split('\n')) {
    const m = /^([^:,]+)(?::[a-z0-9]+)?: (\/.*)$/.exec(line);
    if (m) byPath.set(m[2], m[1]);
  }
  return new Map([...candidates].map(([file, forms]) => [file, forms.map((f) => byPath.get(f)).find(Boolean)]));
}

// Packages debian:12-slim always has (Essential or Priority: required).
export const BASE_IMAGE_PACKAGES = ['libc6', 'libgcc-s1'];

// Why `binary` would not load in a debian:12-slim image that installs
// `packages`: a library it loads is unresolved here, or comes from a package
// outside the packages' dependency closure, or it links a library directly
// whose package is not named (left to another package's dependencies).
export function runtimeLibraryProblems(binary, packages) {
  const libraries = loadedLibraries(binary);
  const problems = libraries.filter((l) => !l.path).map((l) => `${l.soname}: not found on this machine`);
  const resolved = libraries.filter((l) => l.path);
  const owners = owningPackages(resolved.map((l) => l.path));
  const closure = dependencyClosure([...packages, ...BASE_IMAGE_PACKAGES]);
  const direct = new Set(neededSonames(binary));
  for (const library of resolved) {
    const owner = owners.get(library.path);
    if (!closure.has(owner)) problems.push(`${library.soname}: from ${owner ?? 'no Debian package'}, which the image does not install`);
    else if (direct.has(library.soname) && !packages.includes(owner) && !BASE_IMAGE_PACKAGES.includes(owner)) {
      problems.push(`${library.soname}: linked directly, but its package ${owner} is not named`);
    }
  }
  return problems;
}
