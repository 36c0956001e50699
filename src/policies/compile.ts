// `npm run build` runs this after tsc: the built-in policies, checked in full, written as one JSON catalog
// that audits load instead of parsing and schema-checking the YAML at every start (load.ts compileBuiltins).
import { compileBuiltins } from './load.js';

const { file, policies } = await compileBuiltins();
process.stderr.write(`compiled ${policies} built-in policies into ${file}\n`);
