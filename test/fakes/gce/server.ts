/**
 * Fake Google Compute Engine (compute/v1 REST) + Cloud Resource Manager (v3 REST) server.
 *
 * Listens on 127.0.0.1 only. Serves the exact paths the real `@google-cloud/compute` 6.15 and
 * `@google-cloud/resource-manager` 6.3 clients (google-gax 5 REST "fallback" transport) send.
 * See README.md in this folder for the observed SDK behaviours.
 */
import { attemptCounter, listenOnLoopback } from '../loopback.js';
import crypto from 'node:crypto';
import http from 'node:http';

export type GceErrorKind =
  | 'serviceDisabled'
  | 'permission'
  | 'notFound'
  | 'rateLimit403'
  | 'resourceExhausted429'
  | 'backendError503';

export interface GceProject {
  projectNumber?: string;
  lifecycleState?: 'ACTIVE' | 'DELETE_REQUESTED'; // for Resource Manager search
  parent?: string; // 'organizations/123' | 'folders/456'
  displayName?: string;
  /** Resource Manager labels (optional; used by `labels.<key>:` search terms). */
  labels?: Record<string, string>;
  /** If set, every Compute request for this project fails like this (e.g. API disabled, no permission). */
  error?: GceErrorKind;
  /** Zones that exist (for NO_RESULTS_ON_PAGE warnings); default: zones of the instances + a couple extra. */
  zones?: string[];
  /** Raw GCE Instance JSON (as the REST API returns it), each with a `zone` URL. */
  instances: any[];
  /** Raw Firewall JSON. */
  firewalls: any[];
  /** Raw Network JSON (name, selfLink, networkFirewallPolicyEnforcementOrder...). */
  networks: any[];
  /** network name -> raw NetworksGetEffectiveFirewallsResponse {firewalls, firewallPolicys}. */
  effectiveFirewalls?: Record<string, any>;
  /** `${region}/${network}` -> raw RegionNetworkFirewallPoliciesGetEffectiveFirewallsResponse. */
  regionalEffectiveFirewalls?: Record<string, any>;
  commonInstanceMetadata?: { items: { key: string; value: string }[] };
  /**
   * Network firewall policies of the project for networkFirewallPolicies.aggregatedList
   * (GET /compute/v1/projects/{p}/aggregated/firewallPolicies): key 'global' or 'regions/{r}' -> raw
   * FirewallPolicy JSON with `rules` and `associations[].attachmentTarget` (network URL).
   */
  networkFirewallPolicies?: Record<string, any[]>;
  /**
   * Zones that aggregatedList cannot reach (with returnPartialSuccess): their instances are left out of every
   * page and the zones are listed in `unreachables`, as GCE does.
   */
  unreachableZones?: string[];
  /** Per-operation errors, e.g. { 'networks.getEffectiveFirewalls': 'permission' }. */
  opErrors?: Record<string, GceErrorKind>;
}

export interface GceWorld {
  projects: Record<string, GceProject>;
  /** 'folders/1' -> { parent: 'organizations/123' | 'folders/0', displayName? } */
  folders?: Record<string, { parent: string; displayName?: string }>;
  /** Hierarchical policy name (numeric id) -> raw FirewallPolicy JSON incl. `parent`. */
  firewallPolicies?: Record<string, any>;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  op: string;
  project?: string;
  status?: number;
  authorization?: string;
}

export interface FakeOptions {
  /** false: no Windows guest agent answers windows-keys (COM4 stays empty). */
  windowsAgent?: boolean;
  /** The password the simulated agent sets for a user (default: a random one). */
  windowsPasswordFor?: (userName: string) => string;
  /** The server's own cap on items per page (GCE: 500), min'd with maxResults / pageSize. */
  pageSize?: number;
  /** Delay per response (ms). */
  latencyMs?: number;
  /** If set, requests without `Authorization: Bearer <token>` get 401 UNAUTHENTICATED. */
  token?: string;
  /**
   * Inject throttling / 5xx per request. `attempt` is 1 the first time this exact
   * method + path + query is seen, 2 the second time (a retry), and so on.
   */
  fault?: (req: LoggedRequest, attempt: number) => GceErrorKind | undefined;
}

export interface FakeGce {
  port: number;
  host: '127.0.0.1';
  requests: LoggedRequest[];
  /** Every instances.setMetadata that went through, in order (the items written). */
  metadataWrites: { project: string; zone: string; instance: string; items: { key: string; value: string }[] }[];
  /** firewalls.insert and instances.setTags that went through. */
  cloudWrites: { op: string; project: string; body: any }[];
  /** SSH keys in OS Login profiles (importSshPublicKey; deleteSshPublicKey removes them). */
  osLoginKeys: { user: string; posixUser: string; key: string; fingerprint: string; expirationTimeUsec?: string }[];
  /** Passwords the simulated Windows agent set (tests compare them with what the client decrypted). */
  windowsPasswords: { project: string; zone: string; instance: string; userName: string; password: string }[];
  close(): Promise<void>;
}

const HOST = '127.0.0.1' as const;
const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1';
const GCE_MAX_RESULTS = 500;
const EXTRA_ZONES = ['us-central1-a', 'europe-west1-b'];

// ------------------------------------------------------------------------------------------------
// Errors, shaped like Google's JSON error bodies.
// ------------------------------------------------------------------------------------------------

interface ErrCtx {
  api: 'compute' | 'rm';
  /** IAM permission the operation needs, e.g. 'compute.instances.list'. */
  permission: string;
  /** Resource in the error message, e.g. 'projects/p1' or 'projects/p1/global/networks/default'. */
  resource: string;
  /** Project number for quota / service-disabled messages. */
  projectNumber: string;
}

interface HttpError {
  status: number;
  body: any;
  headers?: Record<string, string>;
}

function errorResponse(kind: GceErrorKind, ctx: ErrCtx): HttpError {
  const service = ctx.api === 'compute' ? 'compute.googleapis.com' : 'cloudresourcemanager.googleapis.com';
  const title = ctx.api === 'compute' ? 'Compute Engine API' : 'Cloud Resource Manager API';
  const num = ctx.projectNumber;
  // Compute (an Apiary-era API) always sends the legacy `errors[]` array; Resource Manager v3
  // (OnePlatform) sends code/message/status/details only.
  const legacy = (message: string, domain: string, reason: string, extra?: object) =>
    ctx.api === 'compute' ? { errors: [{ message, domain, reason, ...extra }] } : {};
  switch (kind) {
    case 'serviceDisabled': {
      const url = `https://console.developers.google.com/apis/api/${service}/overview?project=${num}`;
      const message =
        `${title} has not been used in project ${num} before or it is disabled. Enable it by visiting ${url} ` +
        'then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our ' +
        'systems and retry.';
      return {
        status: 403,
        body: {
          error: {
            code: 403,
            message,
            ...legacy(message, 'usageLimits', 'accessNotConfigured', { extendedHelp: 'https://console.developers.google.com' }),
            status: 'PERMISSION_DENIED',
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason: 'SERVICE_DISABLED',
                domain: 'googleapis.com',
                metadata: {
                  service,
                  consumer: `projects/${num}`,
                  activationUrl: url,
                  serviceTitle: title,
                  containerInfo: num,
                },
              },
              {
                '@type': 'type.googleapis.com/google.rpc.LocalizedMessage',
                locale: 'en-US',
                message,
              },
              {
                '@type': 'type.googleapis.com/google.rpc.Help',
                links: [{ description: 'Google developers console API activation', url }],
              },
            ],
          },
        },
      };
    }
    case 'permission': {
      if (ctx.api === 'compute') {
        const message = `Required '${ctx.permission}' permission for '${ctx.resource}'`;
        return {
          status: 403,
          body: {
            error: {
              code: 403,
              message,
              errors: [{ message, domain: 'global', reason: 'forbidden' }],
              status: 'PERMISSION_DENIED',
            },
          },
        };
      }
      const full = `//cloudresourcemanager.googleapis.com/${ctx.resource}`;
      const message = `Permission '${ctx.permission}' denied on resource '${full}' (or it may not exist).`;
      return {
        status: 403,
        body: {
          error: {
            code: 403,
            message,
            status: 'PERMISSION_DENIED',
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason: 'IAM_PERMISSION_DENIED',
                domain: 'cloudresourcemanager.googleapis.com',
                metadata: { permission: ctx.permission, resource: ctx.resource },
              },
            ],
          },
        },
      };
    }
    case 'notFound': {
      const message = `The resource '${ctx.resource}' was not found`;
      return {
        status: 404,
        body: { error: { code: 404, message, ...legacy(message, 'global', 'notFound'), status: 'NOT_FOUND' } },
      };
    }
    case 'rateLimit403': {
      const message =
        `Quota exceeded for quota group 'ReadGroup' and limit 'Read requests per 100 seconds' of service ` +
        `'${service}' for consumer 'project_number:${num}'.`;
      return {
        status: 403,
        body: {
          error: {
            code: 403,
            message,
            errors: [{ message, domain: 'usageLimits', reason: 'rateLimitExceeded' }],
            status: 'PERMISSION_DENIED',
          },
        },
      };
    }
    case 'resourceExhausted429': {
      const message =
        `Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service ` +
        `'${service}' for consumer 'project_number:${num}'.`;
      return {
        status: 429,
        body: {
          error: {
            code: 429,
            message,
            errors: [{ message, domain: 'global', reason: 'rateLimitExceeded' }],
            status: 'RESOURCE_EXHAUSTED',
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason: 'RATE_LIMIT_EXCEEDED',
                domain: 'googleapis.com',
                metadata: {
                  quota_metric: `${service}/read_requests`,
                  quota_limit: 'ReadRequestsPerMinutePerProject',
                  service,
                  consumer: `projects/${num}`,
                },
              },
              {
                '@type': 'type.googleapis.com/google.rpc.Help',
                links: [
                  {
                    description: 'Request a higher quota limit.',
                    url: 'https://cloud.google.com/docs/quotas/help/request_increase',
                  },
                ],
              },
            ],
          },
        },
      };
    }
    case 'backendError503': {
      const message = 'The service is currently unavailable.';
      return {
        status: 503,
        body: {
          error: {
            code: 503,
            message,
            errors: [{ message, domain: 'global', reason: 'backendError' }],
            status: 'UNAVAILABLE',
          },
        },
      };
    }
  }
}

function badRequest(field: string, value: string, why: string, api: 'compute' | 'rm' = 'compute'): HttpError {
  const message = `Invalid value for field '${field}': '${value}'. ${why}`;
  return {
    status: 400,
    body: {
      error: {
        code: 400,
        message,
        ...(api === 'compute' ? { errors: [{ message, domain: 'global', reason: 'invalid' }] } : {}),
        status: 'INVALID_ARGUMENT',
      },
    },
  };
}

function unauthenticated(missing: boolean, api: 'compute' | 'rm'): HttpError {
  const service = api === 'compute' ? 'compute.googleapis.com' : 'cloudresourcemanager.googleapis.com';
  const message = missing
    ? 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or ' +
      'other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.'
    : 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid ' +
      'authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
  return {
    status: 401,
    headers: {
      'www-authenticate': missing
        ? 'Bearer realm="https://accounts.google.com/"'
        : 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
    },
    body: {
      error: {
        code: 401,
        message,
        errors: [
          missing
            ? { message: 'Login Required.', domain: 'global', reason: 'required', location: 'Authorization', locationType: 'header' }
            : { message: 'Invalid Credentials', domain: 'global', reason: 'authError', location: 'Authorization', locationType: 'header' },
        ],
        status: 'UNAUTHENTICATED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: missing ? 'CREDENTIALS_MISSING' : 'ACCESS_TOKEN_TYPE_UNSUPPORTED',
            domain: 'googleapis.com',
            metadata: { service },
          },
        ],
      },
    },
  };
}

/** Google's front end answers unknown URLs with an HTML 404 page, not JSON. */
function htmlNotFound(path: string): { status: number; text: string } {
  return {
    status: 404,
    text:
      '<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n' +
      '  <title>Error 404 (Not Found)!!1</title>\n' +
      `  <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL <code>${escapeHtml(path)}</code> ` +
      'was not found on this server.  <ins>That’s all we know.</ins>\n',
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

const lastSegment = (url: string | undefined): string => {
  if (!url) return '';
  const i = url.lastIndexOf('/');
  return i < 0 ? url : url.slice(i + 1);
};

/** 'us-central1-a' -> 'us-central1' */
const regionOfZone = (zone: string): string => zone.replace(/-[a-z]$/, '');

/** Deterministic 12-digit project number from a project id (when the fixture gives none). */
function derivedProjectNumber(projectId: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < projectId.length; i++) {
    h ^= BigInt(projectId.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return String(100000000000n + (h % 900000000000n));
}

function encodePageToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodePageToken(token: string): number | undefined {
  const s = Buffer.from(token, 'base64url').toString('utf8');
  const m = /^o:(\d+)$/.exec(s);
  return m ? Number(m[1]) : undefined;
}

/** Per-project derived indexes, cached against the identity and length of `instances`. */
interface InstanceIndex {
  arr: any[];
  len: number;
  zonesKey: string[] | undefined;
  zones: string[];
  byKey: Map<string, any>;
}
const indexCache = new WeakMap<GceProject, InstanceIndex>();

function instanceIndex(p: GceProject): InstanceIndex {
  const cached = indexCache.get(p);
  if (cached && cached.arr === p.instances && cached.len === p.instances.length && cached.zonesKey === p.zones) {
    return cached;
  }
  const zoneSet = new Set<string>();
  const byKey = new Map<string, any>();
  for (const inst of p.instances) {
    const z = lastSegment(inst?.zone);
    zoneSet.add(z);
    byKey.set(`${z}/${inst?.name}`, inst);
  }
  let zones: string[];
  if (p.zones) {
    zones = [...new Set([...p.zones, ...zoneSet])].sort();
  } else {
    zones = [...new Set([...zoneSet, ...EXTRA_ZONES])].sort();
  }
  const idx: InstanceIndex = { arr: p.instances, len: p.instances.length, zonesKey: p.zones, zones, byKey };
  indexCache.set(p, idx);
  return idx;
}

// ------------------------------------------------------------------------------------------------
// Server
// ------------------------------------------------------------------------------------------------

type Result =
  | { status: number; body: any; headers?: Record<string, string> }
  | { status: number; text: string };

interface Route {
  op: string;
  api: 'compute' | 'rm';
  project?: string;
  permission: string;
  resource: string;
  handle: () => Result;
}

export async function startFakeGce(world: GceWorld, opts: FakeOptions = {}): Promise<FakeGce> {
  const requests: LoggedRequest[] = [];
  const attemptOf = attemptCounter();
  const metadataVersions = new Map<string, number>();
  const metadataWrites: FakeGce['metadataWrites'] = [];
  const cloudWrites: FakeGce['cloudWrites'] = [];
  const osLoginKeys: FakeGce['osLoginKeys'] = [];
  // The Windows guest agent's account manager, as guest-agent's windows_accounts.go does it: for each new, unexpired
  // `windows-keys` entry, make a password, set it (create the user as an admin if needed), and write the password
  // RSA-OAEP-encrypted with the entry's key to COM4 as one JSON line (cloud-apis serial notes, section 3).
  const serial4 = new Map<string, string>();
  const processed = new Set<string>();
  const windowsPasswords: FakeGce['windowsPasswords'] = [];
  const windowsAgent = (pid: string, zone: string, name: string, inst: any) => {
    if (opts.windowsAgent === false) return;
    const entries = String((inst.metadata?.items ?? []).find((i: any) => i.key === 'windows-keys')?.value ?? '').split('\n').filter(Boolean);
    for (const line of entries) {
      let k: any;
      try {
        k = JSON.parse(line);
      } catch {
        continue;
      }
      const id = `${pid}/${zone}/${name}|${k.userName}|${k.modulus}|${k.expireOn}`;
      if (processed.has(id)) continue;
      processed.add(id);
      if (!(Date.parse(k.expireOn) > Date.now())) continue; // expired or unparsable: ignored
      const password = opts.windowsPasswordFor?.(k.userName) ?? `Pw-${crypto.randomBytes(6).toString('base64url')}!9a`;
      const pub = crypto.createPublicKey({ key: { kty: 'RSA', n: Buffer.from(k.modulus, 'base64').toString('base64url'), e: Buffer.from(k.exponent, 'base64').toString('base64url') }, format: 'jwk' });
      const hash = k.hashFunction ?? 'sha1';
      const encrypted = crypto.publicEncrypt({ key: pub, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, Buffer.from(password)).toString('base64');
      windowsPasswords.push({ project: pid, zone, instance: name, userName: k.userName, password });
      const key = `${pid}/${zone}/${name}`;
      const out = JSON.stringify({ passwordFound: true, exponent: k.exponent, modulus: k.modulus, userName: k.userName, hashFunction: hash, encryptedPassword: encrypted });
      serial4.set(key, `${serial4.get(key) ?? '{"ready":true,"version":"20240101.00"}\n'}${out}\n`);
    }
  };
  let opSeq = 0;
  const operation = (pid: string, zone: string, type: string, target: string) => ({
    kind: 'compute#operation',
    id: String(7000000000000000000n + BigInt(++opSeq)),
    name: `operation-${1700000000000 + opSeq}-rdpcloud-fake`,
    ...(zone ? { zone: `${COMPUTE_BASE}/projects/${pid}/zones/${zone}` } : {}),
    operationType: type,
    targetLink: target,
    status: 'DONE',
    progress: 100,
    insertTime: '2026-01-01T00:00:00.000-08:00',
    startTime: '2026-01-01T00:00:00.000-08:00',
    endTime: '2026-01-01T00:00:01.000-08:00',
    selfLink: `${COMPUTE_BASE}/projects/${pid}/${zone ? `zones/${zone}` : 'global'}/operations/operation-${1700000000000 + opSeq}-rdpcloud-fake`,
  });
  const serverCap = Math.max(1, Math.min(opts.pageSize ?? GCE_MAX_RESULTS, GCE_MAX_RESULTS));

  const findProject = (id: string): [string, GceProject] | undefined => {
    const direct = world.projects[id];
    if (direct) return [id, direct];
    if (/^\d+$/.test(id)) {
      for (const [pid, p] of Object.entries(world.projects)) {
        if (projectNumberOf(pid, p) === id) return [pid, p];
      }
    }
    return undefined;
  };
  const projectNumberOf = (id: string, p: GceProject | undefined): string =>
    p?.projectNumber ?? derivedProjectNumber(id);

  /** Slice a list the way GCE pages it: maxResults (0..500, default 500) + opaque pageToken. */
  const pageParams = (q: URLSearchParams, maxField: string, max: number): { start: number; size: number } | HttpError => {
    let size = serverCap;
    const raw = q.get(maxField);
    if (raw !== null && raw !== '') {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) return badRequest(maxField, raw, 'Must be a non-negative integer.');
      if (n > max) return badRequest(maxField, raw, `Must be less than or equal to ${max}`);
      if (n > 0) size = Math.min(n, serverCap);
    }
    let start = 0;
    const tok = q.get('pageToken');
    if (tok) {
      const off = decodePageToken(tok);
      if (off === undefined) return badRequest('pageToken', tok, 'Invalid page token.');
      start = off;
    }
    return { start, size };
  };
  const isErr = (x: unknown): x is HttpError => typeof x === 'object' && x !== null && 'body' in (x as object);

  const computeList = (pid: string, kind: string, collection: string, all: any[], q: URLSearchParams): Result => {
    const pp = pageParams(q, 'maxResults', GCE_MAX_RESULTS);
    if (isErr(pp)) return pp;
    const items = all.slice(pp.start, pp.start + pp.size);
    const body: any = { kind, id: `projects/${pid}/global/${collection}` };
    if (items.length) body.items = items;
    if (pp.start + pp.size < all.length) body.nextPageToken = encodePageToken(pp.start + pp.size);
    body.selfLink = `${COMPUTE_BASE}/projects/${pid}/global/${collection}`;
    return { status: 200, body };
  };

  const networkEffective = (pid: string, p: GceProject, network: string): Result => {
    const net = p.networks.find((n) => n?.name === network);
    const configured = p.effectiveFirewalls?.[network];
    if (configured) return { status: 200, body: configured };
    if (!net) {
      return errorResponse('notFound', ctxFor('compute', pid, p, '', `projects/${pid}/global/networks/${network}`));
    }
    return {
      status: 200,
      body: { firewalls: p.firewalls.filter((f) => lastSegment(f?.network) === network), firewallPolicys: [] },
    };
  };

  const regionalEffective = (pid: string, p: GceProject, region: string, network: string): Result => {
    const configured = p.regionalEffectiveFirewalls?.[`${region}/${network}`];
    if (configured) return { status: 200, body: configured };
    return networkEffective(pid, p, network);
  };

  const ctxFor = (api: 'compute' | 'rm', pid: string | undefined, p: GceProject | undefined, permission: string, resource: string): ErrCtx => ({
    api,
    permission,
    resource,
    projectNumber: pid ? projectNumberOf(pid, p) : '0',
  });

  // ---------------- Resource Manager v3 ----------------
  const numericEnums = (q: URLSearchParams) => /enum-encoding=int/.test(q.get('$alt') ?? '');
  const stateValue = (s: string, numeric: boolean) => (numeric ? (s === 'ACTIVE' ? 1 : s === 'DELETE_REQUESTED' ? 2 : 0) : s);

  const rmProject = (pid: string, p: GceProject, numeric: boolean) => {
    const out: any = {
      name: `projects/${projectNumberOf(pid, p)}`,
    };
    if (p.parent) out.parent = p.parent;
    out.projectId = pid;
    out.state = stateValue(p.lifecycleState ?? 'ACTIVE', numeric);
    out.displayName = p.displayName ?? pid;
    out.createTime = '2024-01-01T00:00:00.000Z';
    out.updateTime = '2024-01-01T00:00:00.000Z';
    if (p.lifecycleState === 'DELETE_REQUESTED') out.deleteTime = '2024-06-01T00:00:00.000Z';
    out.etag = `W/"${Buffer.from(pid).toString('base64url')}"`;
    if (p.labels && Object.keys(p.labels).length) out.labels = p.labels;
    return out;
  };

  const rmMatches = (pid: string, p: GceProject, query: string): boolean => {
    // Terms are `field:value` (or `field=value`), whitespace separated, combined with AND unless an
    // explicit `OR` separates them. Values are case-insensitive, `*` is a wildcard.
    const groups: string[][] = [[]];
    const tokens = query.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
    for (const t of tokens) {
      if (t === 'OR') groups.push([]);
      else if (t !== 'AND') groups[groups.length - 1]!.push(t);
    }
    const fieldValues = (field: string): string[] | undefined => {
      const parent = p.parent ?? '';
      const [ptype, pidNum] = parent.split('/');
      switch (field) {
        case 'displayname':
        case 'name':
          return [p.displayName ?? pid];
        case 'parent':
          return [parent];
        case 'parent.type':
          return [ptype === 'folders' ? 'folder' : ptype === 'organizations' ? 'organization' : ''];
        case 'parent.id':
          return [pidNum ?? ''];
        case 'id':
        case 'projectid':
          return [pid];
        case 'state':
        case 'lifecyclestate':
          return [p.lifecycleState ?? 'ACTIVE'];
        case 'labels':
          return Object.entries(p.labels ?? {}).flatMap(([k, v]) => [k, v]);
        default:
          if (field.startsWith('labels.')) {
            const v = p.labels?.[field.slice('labels.'.length)];
            return v === undefined ? [] : [v];
          }
          return undefined;
      }
    };
    const termMatches = (term: string): boolean => {
      const m = /^([^:=]+)[:=](.*)$/.exec(term);
      if (!m) return true; // free text: ignored
      const field = m[1]!.toLowerCase();
      const value = m[2]!.replace(/^"|"$/g, '').toLowerCase();
      const vals = fieldValues(field);
      if (vals === undefined) return true; // unknown field: ignored
      const re = new RegExp('^' + value.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
      return vals.some((v) => re.test(v.toLowerCase()));
    };
    return groups.some((g) => g.every(termMatches));
  };

  const route = (method: string, path: string, q: URLSearchParams, body: any): Route | undefined => {
    if (method !== 'GET' && method !== 'POST' && method !== 'DELETE') return undefined;
    // The only writes served: instances.setMetadata / setTags, firewalls.insert, waiting for operations, and
    // OS Login keys (import, delete).
    if (method === 'POST' && !/\/(setMetadata|setTags|wait|global\/firewalls)$|:importSshPublicKey$/.test(path)) return undefined;
    if (method === 'DELETE' && !/^\/v1\/users\/[^/]+\/sshPublicKeys\/[^/]+$/.test(path)) return undefined;
    const seg = path.split('/').slice(1).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });

    // ---- OS Login v1 (oslogin.googleapis.com): a user's POSIX account and SSH keys ----
    if (seg[0] === 'v1' && seg[1] === 'users' && seg[2]) {
      const user = seg[2].replace(/:importSshPublicKey$/, '');
      const posix = user.split('@')[0].replace(/[^a-z0-9_]/gi, '_').toLowerCase();
      const profile = () => ({
        name: `users/${user}`,
        posixAccounts: [{ primary: true, username: posix, uid: '1001', gid: '1001', homeDirectory: `/home/${posix}`, operatingSystemType: 'LINUX', accountId: q.get('projectId') ?? '' }],
        sshPublicKeys: Object.fromEntries(osLoginKeys.filter((k) => k.user === user).map((k) => [k.fingerprint, { key: k.key, fingerprint: k.fingerprint, name: `users/${user}/sshPublicKeys/${k.fingerprint}`, expirationTimeUsec: k.expirationTimeUsec }])),
      });
      if (method === 'POST' && seg[2].endsWith(':importSshPublicKey')) {
        return {
          op: 'oslogin.importSshPublicKey',
          api: 'compute',
          permission: 'compute.oslogin.updateExternalUser',
          resource: `users/${user}`,
          handle: () => {
            const key = String(body?.key ?? '');
            const blob = key.split(/\s+/)[1] ?? '';
            const fingerprint = crypto.createHash('sha256').update(blob).digest('hex');
            osLoginKeys.push({ user, posixUser: posix, key, fingerprint, expirationTimeUsec: body?.expirationTimeUsec });
            return { status: 200, body: { loginProfile: profile() } };
          },
        };
      }
      if (method === 'DELETE' && seg[3] === 'sshPublicKeys' && seg[4]) {
        return {
          op: 'oslogin.deleteSshPublicKey',
          api: 'compute',
          permission: 'compute.oslogin.updateExternalUser',
          resource: `users/${user}/sshPublicKeys/${seg[4]}`,
          handle: () => {
            const i = osLoginKeys.findIndex((k) => k.user === user && k.fingerprint === seg[4]);
            if (i < 0) return errorResponse('notFound', ctxFor('compute', undefined, undefined, '', `users/${user}/sshPublicKeys/${seg[4]}`));
            osLoginKeys.splice(i, 1);
            return { status: 200, body: {} };
          },
        };
      }
      if (method === 'GET' && seg[3] === 'loginProfile') {
        return { op: 'oslogin.getLoginProfile', api: 'compute', permission: 'compute.oslogin.get', resource: `users/${user}`, handle: () => ({ status: 200, body: profile() }) };
      }
      return undefined;
    }

    // ---- Resource Manager v3 ----
    if (seg[0] === 'v3') {
      if (seg.length === 2 && seg[1] === 'projects:search') {
        return {
          op: 'rm.projects.search',
          api: 'rm',
          permission: 'resourcemanager.projects.get',
          resource: 'projects',
          handle: () => {
            const numeric = numericEnums(q);
            const query = q.get('query') ?? '';
            const rawSize = q.get('pageSize');
            let size = serverCap;
            if (rawSize) {
              const n = Number(rawSize);
              if (!Number.isInteger(n) || n < 0) return badRequest('page_size', rawSize, 'Must be non-negative.', 'rm');
              if (n > 0) size = Math.min(n, serverCap);
            }
            let start = 0;
            const tok = q.get('pageToken');
            if (tok) {
              const off = decodePageToken(tok);
              if (off === undefined) return badRequest('page_token', tok, 'Invalid page token.', 'rm');
              start = off;
            }
            const matched: [string, GceProject][] = [];
            for (const [pid, p] of Object.entries(world.projects)) if (rmMatches(pid, p, query)) matched.push([pid, p]);
            const page = matched.slice(start, start + size);
            const body: any = {};
            if (page.length) body.projects = page.map(([pid, p]) => rmProject(pid, p, numeric));
            if (start + size < matched.length) body.nextPageToken = encodePageToken(start + size);
            return { status: 200, body };
          },
        };
      }
      if (seg.length === 3 && seg[1] === 'projects' && seg[2] && !seg[2].includes(':')) {
        const id = seg[2];
        const found = findProject(id);
        return {
          op: 'rm.projects.get',
          api: 'rm',
          project: found?.[0] ?? id,
          permission: 'resourcemanager.projects.get',
          resource: `projects/${id}`,
          handle: () => {
            if (!found) {
              // Resource Manager does not reveal existence: a missing project is a 403.
              return errorResponse('permission', ctxFor('rm', undefined, undefined, 'resourcemanager.projects.get', `projects/${id}`));
            }
            return { status: 200, body: rmProject(found[0], found[1], numericEnums(q)) };
          },
        };
      }
      if (seg.length === 3 && seg[1] === 'folders' && seg[2] && !seg[2].includes(':')) {
        const name = `folders/${seg[2]}`;
        return {
          op: 'rm.folders.get',
          api: 'rm',
          permission: 'resourcemanager.folders.get',
          resource: name,
          handle: () => {
            const f = world.folders?.[name];
            if (!f) return errorResponse('permission', ctxFor('rm', undefined, undefined, 'resourcemanager.folders.get', name));
            return {
              status: 200,
              body: {
                name,
                parent: f.parent,
                displayName: f.displayName ?? `folder-${seg[2]}`,
                state: stateValue('ACTIVE', numericEnums(q)),
                createTime: '2024-01-01T00:00:00.000Z',
                updateTime: '2024-01-01T00:00:00.000Z',
                etag: `W/"${Buffer.from(name).toString('base64url')}"`,
              },
            };
          },
        };
      }
      return undefined;
    }

    // ---- Compute v1 ----
    if (seg[0] !== 'compute' || seg[1] !== 'v1') return undefined;
    const rest = seg.slice(2);

    // GET /compute/v1/locations/global/firewallPolicies/{id}
    if (rest.length === 4 && rest[0] === 'locations' && rest[1] === 'global' && rest[2] === 'firewallPolicies') {
      const id = rest[3]!;
      const resource = `locations/global/firewallPolicies/${id}`;
      return {
        op: 'firewallPolicies.get',
        api: 'compute',
        permission: 'compute.firewallPolicies.get',
        resource,
        handle: () => {
          const pol = world.firewallPolicies?.[id];
          if (!pol) return errorResponse('notFound', ctxFor('compute', undefined, undefined, '', resource));
          return { status: 200, body: pol };
        },
      };
    }

    if (rest[0] !== 'projects' || !rest[1]) return undefined;
    const pidRaw = rest[1];
    const found = findProject(pidRaw);
    const pid = found?.[0] ?? pidRaw;
    const p = found?.[1];
    const r = rest.slice(2);
    const projRes = `projects/${pid}`;
    const mk = (op: string, permission: string, resource: string, handle: (p: GceProject) => Result): Route => ({
      op,
      api: 'compute',
      project: pid,
      permission,
      resource,
      handle: () => {
        if (!p) return errorResponse('notFound', ctxFor('compute', pid, undefined, permission, projRes));
        return handle(p);
      },
    });

    // GET /compute/v1/projects/{p}
    if (r.length === 0) {
      return mk('projects.get', 'compute.projects.get', projRes, (p) => {
        const num = projectNumberOf(pid, p);
        return {
          status: 200,
          body: {
            kind: 'compute#project',
            id: num,
            creationTimestamp: '2024-01-01T00:00:00.000-07:00',
            name: pid,
            commonInstanceMetadata: {
              kind: 'compute#metadata',
              fingerprint: 'fake-fingerprint=',
              ...(p.commonInstanceMetadata?.items?.length ? { items: p.commonInstanceMetadata.items } : {}),
            },
            selfLink: `${COMPUTE_BASE}/projects/${pid}`,
            defaultServiceAccount: `${num}-compute@developer.gserviceaccount.com`,
            xpnProjectStatus: 'UNSPECIFIED_XPN_PROJECT_STATUS',
            defaultNetworkTier: 'PREMIUM',
            vmDnsSetting: 'ZONAL_ONLY',
          },
        };
      });
    }

    // GET /compute/v1/projects/{p}/aggregated/instances
    if (r.length === 2 && r[0] === 'aggregated' && r[1] === 'instances') {
      return mk('instances.aggregatedList', 'compute.instances.list', projRes, (p) => {
        const pp = pageParams(q, 'maxResults', GCE_MAX_RESULTS);
        if (isErr(pp)) return pp;
        const idx = instanceIndex(p);
        const page = p.instances.slice(pp.start, pp.start + pp.size);
        const cut = new Set(p.unreachableZones ?? []);
        const byZone = new Map<string, any[]>();
        for (const inst of page) {
          if (cut.has(lastSegment(inst?.zone))) continue;
          const z = lastSegment(inst?.zone);
          let arr = byZone.get(z);
          if (!arr) byZone.set(z, (arr = []));
          arr.push(inst);
        }
        const items: Record<string, any> = {};
        for (const z of idx.zones) {
          if (cut.has(z)) continue;
          const scope = `zones/${z}`;
          const insts = byZone.get(z);
          items[scope] = insts
            ? { instances: insts }
            : {
                warning: {
                  code: 'NO_RESULTS_ON_PAGE',
                  message: `There are no results for scope '${scope}' on this page.`,
                  data: [{ key: 'scope', value: scope }],
                },
              };
        }
        const body: any = {
          kind: 'compute#instanceAggregatedList',
          id: `projects/${pid}/aggregated/instances`,
          items,
        };
        if (pp.start + pp.size < p.instances.length) body.nextPageToken = encodePageToken(pp.start + pp.size);
        body.selfLink = `${COMPUTE_BASE}/projects/${pid}/aggregated/instances`;
        body.unreachables = [...cut].map((z) => `zones/${z}`);
        return { status: 200, body };
      });
    }

    // GET /compute/v1/projects/{p}/aggregated/firewallPolicies (global and regional network firewall policies)
    if (r.length === 2 && r[0] === 'aggregated' && r[1] === 'firewallPolicies') {
      return mk('networkFirewallPolicies.aggregatedList', 'compute.firewallPolicies.list', projRes, (p) => {
        const pp = pageParams(q, 'maxResults', GCE_MAX_RESULTS);
        if (isErr(pp)) return pp;
        const flat: [string, any][] = [];
        for (const [scope, list] of Object.entries(p.networkFirewallPolicies ?? {})) for (const pol of list) flat.push([scope, pol]);
        const page = flat.slice(pp.start, pp.start + pp.size);
        const items: Record<string, any> = {};
        for (const [scope, pol] of page) (items[scope] ??= { firewallPolicies: [] }).firewallPolicies.push(pol);
        if (Object.keys(items).length === 0) {
          items.global = { warning: { code: 'NO_RESULTS_ON_PAGE', message: "There are no results for scope 'global' on this page.", data: [{ key: 'scope', value: 'global' }] } };
        }
        const body: any = { kind: 'compute#networkFirewallPolicyAggregatedList', id: `projects/${pid}/aggregated/firewallPolicies`, items };
        if (pp.start + pp.size < flat.length) body.nextPageToken = encodePageToken(pp.start + pp.size);
        body.selfLink = `${COMPUTE_BASE}/projects/${pid}/aggregated/firewallPolicies`;
        body.unreachables = [];
        return { status: 200, body };
      });
    }

    if (r[0] === 'global') {
      // POST .../global/firewalls (insert): a name must be new in the project, as GCE wants.
      if (r.length === 2 && r[1] === 'firewalls' && method === 'POST') {
        return mk('firewalls.insert', 'compute.firewalls.create', projRes, (p) => {
          if (!body?.name) return badRequest('resource.name', '', 'The resource name is required.');
          if (p.firewalls.some((f) => f?.name === body.name)) {
            const message = `The resource 'projects/${pid}/global/firewalls/${body.name}' already exists`;
            return { status: 409, body: { error: { code: 409, message, errors: [{ message, domain: 'global', reason: 'alreadyExists' }] } } };
          }
          const fw = { kind: 'compute#firewall', id: String(9000000000000000000n + BigInt(p.firewalls.length)), direction: 'INGRESS', priority: 1000, disabled: false, ...body, selfLink: `${COMPUTE_BASE}/projects/${pid}/global/firewalls/${body.name}` };
          p.firewalls = [...p.firewalls, fw];
          cloudWrites.push({ op: 'firewalls.insert', project: pid, body });
          return { status: 200, body: operation(pid, '', 'insert', fw.selfLink) };
        });
      }
      // GET/POST .../global/operations/{op}[/wait]
      if (r[1] === 'operations' && r[2] && (r.length === 3 || (r.length === 4 && r[3] === 'wait'))) {
        return mk(r.length === 4 ? 'globalOperations.wait' : 'globalOperations.get', 'compute.globalOperations.get', `projects/${pid}/global/operations/${r[2]}`, () => ({
          status: 200,
          body: { ...operation(pid, '', 'insert', ''), name: r[2] },
        }));
      }
      // GET .../global/firewalls
      if (r.length === 2 && r[1] === 'firewalls') {
        return mk('firewalls.list', 'compute.firewalls.list', projRes, (p) =>
          computeList(pid, 'compute#firewallList', 'firewalls', p.firewalls, q),
        );
      }
      // GET .../global/networks
      if (r.length === 2 && r[1] === 'networks') {
        return mk('networks.list', 'compute.networks.list', projRes, (p) =>
          computeList(pid, 'compute#networkList', 'networks', p.networks, q),
        );
      }
      // GET .../global/networks/{n}
      if (r.length === 3 && r[1] === 'networks') {
        const n = r[2]!;
        const res = `projects/${pid}/global/networks/${n}`;
        return mk('networks.get', 'compute.networks.get', res, (p) => {
          const net = p.networks.find((x) => x?.name === n);
          if (!net) return errorResponse('notFound', ctxFor('compute', pid, p, '', res));
          return { status: 200, body: net };
        });
      }
      // GET .../global/networks/{n}/getEffectiveFirewalls
      if (r.length === 4 && r[1] === 'networks' && r[3] === 'getEffectiveFirewalls') {
        const n = r[2]!;
        const res = `projects/${pid}/global/networks/${n}`;
        return mk('networks.getEffectiveFirewalls', 'compute.networks.getEffectiveFirewalls', res, (p) =>
          networkEffective(pid, p, n),
        );
      }
      return undefined;
    }

    // GET .../regions/{r}/firewallPolicies/getEffectiveFirewalls?network=URL
    if (r.length === 4 && r[0] === 'regions' && r[2] === 'firewallPolicies' && r[3] === 'getEffectiveFirewalls') {
      const region = r[1]!;
      return mk(
        'regionNetworkFirewallPolicies.getEffectiveFirewalls',
        'compute.networks.getRegionEffectiveFirewalls',
        `projects/${pid}/regions/${region}`,
        (p) => {
          const network = q.get('network');
          if (!network) return badRequest('network', '', 'The network field is required.');
          return regionalEffective(pid, p, region, lastSegment(network));
        },
      );
    }

    // POST .../zones/{z}/instances/{i}/setMetadata (fingerprint-checked, as GCE does); GET/POST .../operations/{op}[/wait]
    if (r[0] === 'zones' && r[2] === 'instances' && r[1] && r[3] && r.length === 5 && r[4] === 'setMetadata' && method === 'POST') {
      const zone = r[1];
      const name = r[3];
      const res = `projects/${pid}/zones/${zone}/instances/${name}`;
      return mk('instances.setMetadata', 'compute.instances.setMetadata', res, (p) => {
        const inst = instanceIndex(p).byKey.get(`${zone}/${name}`);
        if (!inst) return errorResponse('notFound', ctxFor('compute', pid, p, '', res));
        const current = inst.metadata ?? { kind: 'compute#metadata', fingerprint: 'bWQtMA==' };
        if ((body?.fingerprint ?? '') !== (current.fingerprint ?? '')) {
          const message = `Supplied fingerprint does not match current metadata fingerprint.`;
          return { status: 412, body: { error: { code: 412, message, errors: [{ message, domain: 'global', reason: 'conditionNotMet', location: 'If-Match', locationType: 'header' }] } } };
        }
        const version = (metadataVersions.get(res) ?? 0) + 1;
        metadataVersions.set(res, version);
        inst.metadata = { kind: 'compute#metadata', fingerprint: Buffer.from(`md-${version}`).toString('base64'), items: body?.items ?? [] };
        metadataWrites.push({ project: pid, zone, instance: name, items: inst.metadata.items });
        windowsAgent(pid, zone, name, inst);
        return { status: 200, body: operation(pid, zone, 'setMetadata', `${COMPUTE_BASE}/${res}`) };
      });
    }
    // GET .../zones/{z}/instances/{i}/serialPort?port=N&start=S
    if (r[0] === 'zones' && r[2] === 'instances' && r[1] && r[3] && r.length === 5 && r[4] === 'serialPort' && method === 'GET') {
      const zone = r[1];
      const name = r[3];
      const res = `projects/${pid}/zones/${zone}/instances/${name}`;
      return mk('instances.getSerialPortOutput', 'compute.instances.getSerialPortOutput', res, (p) => {
        const inst = instanceIndex(p).byKey.get(`${zone}/${name}`);
        if (!inst) return errorResponse('notFound', ctxFor('compute', pid, p, '', res));
        const port = Number(q.get('port') ?? 1);
        // A running agent announces itself on COM4 before it has anything to answer.
        const ready = opts.windowsAgent === false ? '' : '{"ready":true,"version":"20240101.00"}\n';
        const all = port === 4 ? (serial4.get(`${pid}/${zone}/${name}`) ?? ready) : '';
        const start = Math.max(0, Number(q.get('start') ?? 0));
        return { status: 200, body: { kind: 'compute#serialPortOutput', contents: all.slice(start), start: String(start), next: String(all.length), selfLink: `${COMPUTE_BASE}/${res}/serialPort?port=${port}` } };
      });
    }

    // POST .../zones/{z}/instances/{i}/setTags (fingerprint-checked)
    if (r[0] === 'zones' && r[2] === 'instances' && r[1] && r[3] && r.length === 5 && r[4] === 'setTags' && method === 'POST') {
      const zone = r[1];
      const name = r[3];
      const res = `projects/${pid}/zones/${zone}/instances/${name}`;
      return mk('instances.setTags', 'compute.instances.setTags', res, (p) => {
        const inst = instanceIndex(p).byKey.get(`${zone}/${name}`);
        if (!inst) return errorResponse('notFound', ctxFor('compute', pid, p, '', res));
        if ((body?.fingerprint ?? '') !== (inst.tags?.fingerprint ?? '')) {
          const message = 'Supplied fingerprint does not match current tags fingerprint.';
          return { status: 412, body: { error: { code: 412, message, errors: [{ message, domain: 'global', reason: 'conditionNotMet', location: 'If-Match', locationType: 'header' }] } } };
        }
        inst.tags = { items: body?.items ?? [], fingerprint: Buffer.from(`tags-${(body?.items ?? []).join(',')}`).toString('base64') };
        cloudWrites.push({ op: 'instances.setTags', project: pid, body: { instance: name, items: inst.tags.items } });
        return { status: 200, body: operation(pid, zone, 'setTags', `${COMPUTE_BASE}/${res}`) };
      });
    }
    if (r[0] === 'zones' && r[2] === 'operations' && r[1] && r[3] && (r.length === 4 || (r.length === 5 && r[4] === 'wait'))) {
      const zone = r[1];
      return mk(r.length === 5 ? 'zoneOperations.wait' : 'zoneOperations.get', 'compute.zoneOperations.get', `projects/${pid}/zones/${zone}/operations/${r[3]}`, () => ({
        status: 200,
        body: { ...operation(pid, zone, 'setMetadata', ''), name: r[3] },
      }));
    }

    // GET .../zones/{z}/instances/{i}[/getEffectiveFirewalls]
    if (r[0] === 'zones' && r[2] === 'instances' && r[1] && r[3] && (r.length === 4 || (r.length === 5 && r[4] === 'getEffectiveFirewalls'))) {
      const zone = r[1];
      const name = r[3];
      const res = `projects/${pid}/zones/${zone}/instances/${name}`;
      if (r.length === 4) {
        return mk('instances.get', 'compute.instances.get', res, (p) => {
          const inst = instanceIndex(p).byKey.get(`${zone}/${name}`);
          if (!inst) return errorResponse('notFound', ctxFor('compute', pid, p, '', res));
          // GCE always returns a metadata object with its fingerprint, items or not.
          return { status: 200, body: inst.metadata ? inst : { ...inst, metadata: { kind: 'compute#metadata', fingerprint: 'bWQtMA==' } } };
        });
      }
      return mk('instances.getEffectiveFirewalls', 'compute.instances.getEffectiveFirewalls', res, (p) => {
        const inst = instanceIndex(p).byKey.get(`${zone}/${name}`);
        if (!inst) return errorResponse('notFound', ctxFor('compute', pid, p, '', res));
        const nicName = q.get('networkInterface') ?? 'nic0';
        const nics: any[] = inst.networkInterfaces ?? [];
        const nic = nics.find((x, i) => (x?.name ?? `nic${i}`) === nicName);
        if (!nic) return badRequest('networkInterface', nicName, 'The network interface does not exist on the instance.');
        const network = lastSegment(nic.network);
        return regionalEffective(pid, p, regionOfZone(zone), network);
      });
    }

    return undefined;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse, rawBody: string) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    let body: any;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    const rt = route(method, url.pathname, url.searchParams, body);
    const authorization = req.headers.authorization;
    const logged: LoggedRequest = { method, path: url.pathname, query, op: rt?.op ?? 'unknown' };
    if (rt?.project !== undefined) logged.project = rt.project;
    if (authorization !== undefined) logged.authorization = authorization;
    requests.push(logged);

    const attempt = attemptOf(`${method} ${req.url}`);

    let result: Result;
    try {
      result = respond(rt, url, authorization, logged, attempt);
    } catch (e) {
      const message = `Internal error in fake: ${(e as Error)?.message ?? e}`;
      result = { status: 500, body: { error: { code: 500, message, errors: [{ message, domain: 'global', reason: 'backendError' }], status: 'INTERNAL' } } };
    }
    logged.status = result.status;

    const send = () => {
      if ('text' in result) {
        res.writeHead(result.status, { 'content-type': 'text/html; charset=UTF-8', 'content-length': Buffer.byteLength(result.text) });
        res.end(result.text);
        return;
      }
      const body = JSON.stringify(result.body);
      res.writeHead(result.status, {
        'content-type': 'application/json; charset=UTF-8',
        'content-length': Buffer.byteLength(body),
        vary: 'Origin, X-Origin, Referer',
        ...(result.headers ?? {}),
      });
      res.end(body);
    };
    if (opts.latencyMs && opts.latencyMs > 0) setTimeout(send, opts.latencyMs);
    else send();
  };

  const respond = (rt: Route | undefined, url: URL, authorization: string | undefined, logged: LoggedRequest, attempt: number): Result => {
    if (opts.token !== undefined) {
      const api = rt?.api ?? (url.pathname.startsWith('/v3/') ? 'rm' : 'compute');
      if (!authorization) return unauthenticated(true, api);
      if (authorization !== `Bearer ${opts.token}`) return unauthenticated(false, api);
    }
    if (!rt) return htmlNotFound(url.pathname);
    const found = rt.project !== undefined ? findProject(rt.project) : undefined;
    const ctx = ctxFor(rt.api, found?.[0] ?? rt.project, found?.[1], rt.permission, rt.resource);
    const injected = opts.fault?.(logged, attempt);
    if (injected) return errorResponse(injected, ctx);
    const p = found?.[1];
    if (p) {
      if (rt.api === 'compute' && p.error) {
        // "The resource 'projects/x' was not found" names the project; a permission error names the op's resource.
        return errorResponse(p.error, p.error === 'permission' ? ctx : { ...ctx, resource: `projects/${found![0]}` });
      }
      const opErr = p.opErrors?.[rt.op];
      if (opErr) return errorResponse(opErr, ctx);
    }
    return rt.handle();
  };

  const { port, close } = await listenOnLoopback(server);

  return {
    port,
    host: HOST,
    requests,
    metadataWrites,
    cloudWrites,
    windowsPasswords,
    osLoginKeys,
    close,
  };
}
