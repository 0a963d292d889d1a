// A Dockerfile reader for the checks in dockerfile.test.mjs: instructions with
// continuation lines joined and comments dropped, grouped into stages.

export function parseDockerfile(text) {
  const instructions = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue; // comments, also inside continued instructions
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (!whole) continue;
    const match = /^(\S+)\s+(.*)$/s.exec(whole);
    if (!match) throw new Error(`cannot read Dockerfile line: ${whole}`);
    instructions.push({ keyword: match[1].toUpperCase(), args: match[2].replace(/\s+/g, ' ') });
  }
  const stages = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(' ').filter((t) => !t.startsWith('--'));
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before FROM`);
    } else {
      stages.at(-1).instructions.push(instruction);
    }
  }
  return stages;
}

export function instructionsOf(stage, keyword) {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

// Package names given to `apt-get install` in the stage's RUN instructions.
export function aptInstalledPackages(stage) {
  const packages = [];
  for (const run of instructionsOf(stage, 'RUN')) {
    for (const command of run.split(/&&|;|\|\|/)) {
      const words = command.trim().split(' ').filter((w) => !/^[A-Z_]+=/.test(w));
      const at = words.indexOf('install');
      if (words[0] !== 'apt-get' || at < 0) continue;
      packages.push(...words.slice(at + 1).filter((w) => !w.startsWith('-')));
    }
  }
  return packages;
}

// ["a", "b"] (exec form) as an array; undefined for the shell form.
export function execForm(args) {
  try {
    const value = JSON.parse(args);
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
