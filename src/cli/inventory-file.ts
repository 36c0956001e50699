// Reading and writing inventory files (`snapshot -o`, `audit --from`). Every problem is named with the
// file and the field; nothing here throws a stack trace at a user.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InputError } from '../errors.js';
import type { Inventory } from '../model/inventory.js';
import { validateInventory } from '../model/schema.js';
import { isCidr } from '../engine/addresses.js';

export async function loadInventory(file: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, [code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not an inventory file' : `cannot be read (${code ?? e})`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, [`not valid JSON (${(e as Error).message}); make one with \`rdpcloud snapshot -o ${file}\``]);
  }
  const problems = validateInventory(data);
  if (problems.length === 0) problems.push(...addressProblems(data as Inventory));
  if (problems.length) throw new InputError(file, problems);
  return data as Inventory;
}

function addressProblems(inv: Inventory): string[] {
  const out: string[] = [];
  inv.ruleSets.forEach((rs, i) =>
    rs.rules.forEach((r, j) =>
      [...r.sourceRanges, ...(r.destinationRanges ?? [])].forEach((c) => {
        // `*` is everything, `internet` the public address space (both read by the engine)
        if (c !== '*' && c !== 'internet' && !isCidr(c)) out.push(`ruleSets[${i}].rules[${j}] (${r.name}): "${c}" is not a CIDR`);
      }),
    ),
  );
  inv.instances.forEach((inst, i) =>
    (inst.gateways ?? []).forEach((g, j) =>
      (g.sourceRanges ?? []).forEach((c) => {
        if (!isCidr(c)) out.push(`instances[${i}].gateways[${j}] (${g.name}): "${c}" is not a CIDR`);
      }),
    ),
  );
  inv.instances.forEach((inst, i) =>
    inst.nics.forEach((n, j) => {
      for (const k of ['internalIPv4', 'internalIPv6', 'externalIPv4', 'externalIPv6'] as const) {
        const v = n[k];
        if (v !== undefined && !isCidr(v)) out.push(`instances[${i}].nics[${j}].${k}: "${v}" is not an IP address`);
      }
    }),
  );
  return out.slice(0, 20);
}

/** Writes the inventory to `path` (its folder made if missing); `named`: the file as the user wrote it, for errors. */
export async function saveInventory(path: string, inv: Inventory, named = path): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify(inv, null, 1) + '\n', 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code === 'ENOTDIR' ? 'a parent is not a directory' : code === 'ENOSPC' ? 'no space left on the device' : `cannot be written (${code ?? (e as Error).message})`;
    throw new InputError(named, [`${why}; name another file with --output`]);
  }
}
