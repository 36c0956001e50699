// RDP answered on a public address while no sanctioned gateway is in use (GCP IAP TCP forwarding, Azure
// Bastion, AWS Session Manager): every admin path crosses the internet (field guide, layer 1).
import type { CheckType } from '../types.js';
import { CannotDecide, instanceOf } from './util.js';

export const publicWithoutGateway: CheckType = {
  meta: {
    id: 'public-without-gateway',
    description: 'fails when tcp:port is reachable on a public address and no gateway (IAP, Bastion, Session Manager) can reach the instance',
    resource: 'instance',
    params: { type: 'object', additionalProperties: false, properties: {} },
  },
  check(resource, { run }) {
    const instance = instanceOf(resource, 'public-without-gateway');
    const x = run.exposureOf(instance);
    if (x.instance.externalAddresses.length === 0) return { status: 'not-applicable', message: 'no external address' };
    if (x.verdict === 'unknown') throw new CannotDecide(`cannot tell whether tcp:${run.port} is public: ${x.reasons.filter((r) => r.action === 'unknown').map((r) => r.why).join('; ')}`);
    if (x.exposed.isEmpty) return { status: 'pass', message: `tcp:${run.port} is not reachable on ${x.instance.externalAddresses.join(', ')}` };
    const via = x.gateways.filter((g) => g.allowed).map((g) => g.gateway);
    if (via.length) return { status: 'pass', message: `public on ${x.instance.externalAddresses.join(', ')}, and a gateway is in use: ${via.join(', ')}` };
    const offered = x.gateways.map((g) => g.gateway);
    return {
      status: 'fail',
      message: `tcp:${run.port} is public on ${x.instance.externalAddresses.join(', ')} and no gateway reaches it${offered.length ? ` (${offered.join(', ')} not allowed by the rules)` : ''}`,
    };
  },
};
