// The provider registry: explicit, one entry per cloud; a duplicate id is a bug caught at load.
import { UsageError } from '../errors.js';
import type { Provider } from '../model/inventory.js';
import type { CloudProvider, ProviderContext } from '../../providers/types.js';

export interface ProviderFlags {
  projects: string[];
  allProjects: boolean;
  gcpEndpoint?: string;
  regions: string[];
  profile?: string;
  roleArns: string[];
  allAccounts: boolean;
  roleName?: string;
  subscriptions: string[];
  azureCloud?: string;
  azureEndpoint?: string;
}

// Each cloud's SDK is loaded only when that cloud is audited: together they take seconds and hundreds of MB
// to import, and an AWS-only run (or `--from`) needs none of the others.
type Factory = (flags: ProviderFlags, ctx: ProviderContext) => Promise<CloudProvider>;

const registry = new Map<Provider, Factory>();
function register(id: Provider, f: Factory) {
  if (registry.has(id)) throw new Error(`provider ${id} registered twice`);
  registry.set(id, f);
}
register('gcp', async (f, ctx) => {
  const { GcpProvider } = await import('../../providers/gcp/index.js');
  return new GcpProvider({ projects: f.projects, allProjects: f.allProjects, endpoint: f.gcpEndpoint }, ctx);
});
register('aws', async (f, ctx) => {
  const { AwsProvider } = await import('../../providers/aws/index.js');
  return new AwsProvider({ regions: f.regions, profile: f.profile, roleArns: f.roleArns, allAccounts: f.allAccounts, roleName: f.roleName }, ctx);
});
register('azure', async (f, ctx) => {
  const [{ AzureProvider }, { parseCloud }] = await Promise.all([import('../../providers/azure/index.js'), import('../../providers/azure/client.js')]);
  return new AzureProvider({ subscriptions: f.subscriptions, cloud: parseCloud(f.azureCloud ?? ctx.env.RDPCLOUD_AZURE_CLOUD), endpoint: f.azureEndpoint }, ctx);
});

export async function createProviders(names: Provider[], flags: ProviderFlags, ctx: ProviderContext): Promise<CloudProvider[]> {
  return Promise.all(
    names.map((n) => {
      const f = registry.get(n);
      if (!f) throw new UsageError(`--provider ${n}: not available in this version`);
      return f(flags, ctx);
    }),
  );
}

/** The providers the scope flags name, when --provider is not given. */
export function impliedProviders(flags: ProviderFlags): Provider[] {
  const out: Provider[] = [];
  if (flags.projects.length || flags.allProjects || flags.gcpEndpoint) out.push('gcp');
  if (flags.regions.length || flags.profile || flags.roleArns.length || flags.allAccounts) out.push('aws');
  if (flags.subscriptions.length || flags.azureCloud || flags.azureEndpoint) out.push('azure');
  return out;
}
