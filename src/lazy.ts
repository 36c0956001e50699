// A package loaded with require() when it is first used, not when rdpcloud starts: each command pays only for
// what it reads or writes (yaml and Ajv for user files, fast-xml-parser for JUnit, a cloud's SDK when that
// cloud is audited). require(), not import(), so that the loading stays synchronous where it is needed and
// CommonJS packages are not scanned for ESM syntax first.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function lazyRequire<T>(id: string): () => T {
  let m: T | undefined;
  return () => (m ??= require(id) as T);
}
