// The provider registry: explicit, one entry per cloud; a duplicate id is a bug caught at load.
import { UsageError } from '../errors.js';
import type { Provider } from '../model/inventory.js';
import type { CloudProvider, ProviderContext } from '../../providers/types.js';
import { GcpProvider } from '../../providers/gcp/index.js';

export interface ProviderFlags {
  projects: string[];
  allProjects: boolean;
  gcpEndpoint?: string;
}

type Factory = (flags: ProviderFlags, ctx: ProviderContext) => CloudProvider;

const registry = new Map<Provider, Factory>();
function register(id: Provider, f: Factory) {
  if (registry.has(id)) throw new Error(`provider ${id} registered twice`);
  registry.set(id, f);
}
register('gcp', (f, ctx) => new GcpProvider({ projects: f.projects, allProjects: f.allProjects, endpoint: f.gcpEndpoint }, ctx));

export function createProviders(names: Provider[], flags: ProviderFlags, ctx: ProviderContext): CloudProvider[] {
  return names.map((n) => {
    const f = registry.get(n);
    if (!f) throw new UsageError(`--provider ${n}: not available in this version yet (gcp is); audit a saved inventory with --from meanwhile`);
    return f(flags, ctx);
  });
}
