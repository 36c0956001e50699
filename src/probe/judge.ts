// What a probe result means, as findings (pure). The listener's security: standard RDP security accepted
// (RC4, no server authentication: high), NLA not required (anyone reaching the port gets a logon screen and
// the server spends a session on them: medium), the certificate expired (high), expiring soon (low),
// self-signed (info: Windows' default, fine behind a pinned or known host), a short key (medium); and the
// listener itself: nothing listening, silently dropped, not RDP, or accepting and never answering.
import type { Severity } from '../model/results.js';
import type { ProbeResult } from './probe.js';

export interface ProbeCheck {
  id: string;
  title: string;
  severity: Severity;
  description: string;
  remediation: string;
}

export const PROBE_CHECKS: readonly ProbeCheck[] = [
  { id: 'rdp-listener-legacy-security', title: 'The listener accepts standard RDP security', severity: 'high', description: 'Standard RDP security uses RC4 and does not authenticate the server: a man in the middle reads the session. Require TLS or CredSSP.', remediation: 'Windows: reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp" /v SecurityLayer /t REG_DWORD /d 2 /f (or rdpcloud fix); xrdp: security_layer=tls' },
  { id: 'rdp-listener-nla-not-required', title: 'Network Level Authentication is not required', severity: 'medium', description: 'The server starts a session (and shows a logon screen) before the client has authenticated with CredSSP.', remediation: 'Windows: reg add "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp" /v UserAuthentication /t REG_DWORD /d 1 /f (or rdpcloud fix)' },
  { id: 'rdp-listener-certificate-expired', title: "The listener's TLS certificate has expired", severity: 'high', description: 'Clients warn on every connection and users learn to click through certificate warnings.', remediation: 'Windows regenerates the self-signed Remote Desktop certificate when it is deleted from the Remote Desktop certificate store and TermService restarts; or deploy one from your CA' },
  { id: 'rdp-listener-certificate-expiring', title: "The listener's TLS certificate expires within 30 days", severity: 'low', description: 'Renew it before clients start warning.', remediation: 'Renew the Remote Desktop certificate' },
  { id: 'rdp-listener-certificate-self-signed', title: "The listener's TLS certificate is self-signed", severity: 'info', description: "Windows' default. Clients cannot verify the server unless its fingerprint is known.", remediation: 'Deploy a certificate from your CA through Group Policy (Remote Desktop Session Host > Security > Server authentication certificate template)' },
  { id: 'rdp-listener-weak-key', title: "The listener's certificate key is shorter than 2048 bits", severity: 'medium', description: 'RSA keys under 2048 bits are below current guidance.', remediation: 'Issue a certificate with a 2048-bit or longer RSA key (or ECDSA P-256)' },
  { id: 'rdp-listener-not-rdp', title: 'The port is open but the service is not RDP', severity: 'medium', description: 'Something else listens on the RDP port (an HTTP server, SSH, a proxy): clients cannot connect.', remediation: 'Find the program on the port in the guest (rdpcloud diagnose: netstat -ano) and move it or Remote Desktop' },
  { id: 'rdp-listener-refuses-all', title: 'The listener refuses every security protocol', severity: 'high', description: 'RDP answers, but with a negotiation failure to standard RDP, TLS and CredSSP alike: no client can connect (SSL_CERT_NOT_ON_SERVER: TLS is required and the server has no usable certificate).', remediation: 'Windows: a usable certificate in the Remote Desktop store, or SecurityLayer 1 (negotiate); xrdp: readable certificate= and key_file=' },
  { id: 'rdp-listener-no-answer', title: 'The listener accepts connections and never answers', severity: 'medium', description: 'The TCP handshake completes but no X.224 Connection Confirm comes: a hung TermService, a proxy, or a load balancer with no backend.', remediation: 'Restart Remote Desktop Services in the guest (rdpcloud fix --restart-service)' },
  { id: 'rdp-listener-refused', title: 'Nothing listens on the port', severity: 'medium', description: 'The host answered the TCP handshake with a reset: the network path is open but Remote Desktop Services is stopped, disabled (fDenyTSConnections) or on another port.', remediation: 'rdpcloud diagnose <instance> checks the service, fDenyTSConnections and the port in the guest' },
  { id: 'rdp-listener-timeout', title: 'The TCP handshake is dropped silently', severity: 'medium', description: 'No answer at all to the SYN: a firewall on the way (the cloud rule layers, the Windows firewall) drops it, or the host is down.', remediation: 'rdpcloud explain <instance> names the cloud rule that drops it; the Windows firewall rule "Remote Desktop - User Mode (TCP-In)" is checked by rdpcloud diagnose' },
];

export interface ProbeFinding {
  checkId: string;
  severity: Severity;
  message: string;
}

export function judgeProbe(r: ProbeResult): ProbeFinding[] {
  const out: ProbeFinding[] = [];
  const add = (checkId: string, message: string, severity?: Severity) => out.push({ checkId, severity: severity ?? PROBE_CHECKS.find((c) => c.id === checkId)!.severity, message });
  if (r.tcp.outcome === 'refused') add('rdp-listener-refused', `${r.target} refused the connection (TCP reset in ${r.tcp.ms} ms): reachable, nothing listens`);
  if (r.tcp.outcome === 'timeout') add('rdp-listener-timeout', `${r.target}: no answer to the TCP handshake (${r.tcp.error ?? 'timeout'})`);
  if (r.service === 'not-rdp') add('rdp-listener-not-rdp', `${r.target} is open but not RDP: ${r.notes[r.notes.length - 1] ?? ''}`);
  if (r.service === 'no-answer') add('rdp-listener-no-answer', `${r.target} accepted the connection and sent no Connection Confirm`);
  if (r.accepts && !r.accepts.rdp && !r.accepts.tls && !r.accepts.credssp) add('rdp-listener-refuses-all', `${r.target} refuses every protocol: ${[...new Set(r.failures.map((f) => f.name))].join(', ') || 'no Connection Confirm selected one'}`);
  if (r.accepts?.rdp) add('rdp-listener-legacy-security', `${r.target} accepts standard RDP security (asked for it alone, the server selected it)`);
  if (r.accepts && !r.nlaRequired && (r.accepts.rdp || r.accepts.tls)) add('rdp-listener-nla-not-required', `${r.target} starts a session without CredSSP (accepts ${[r.accepts.rdp ? 'standard RDP' : '', r.accepts.tls ? 'TLS alone' : ''].filter(Boolean).join(' and ')})`);
  const c = r.tls?.certificate;
  if (c) {
    if (c.expired) add('rdp-listener-certificate-expired', `certificate ${c.subject} expired on ${c.notAfter.slice(0, 10)}`);
    else if (c.daysLeft <= 30) add('rdp-listener-certificate-expiring', `certificate ${c.subject} expires on ${c.notAfter.slice(0, 10)} (${c.daysLeft} days)`);
    if (c.selfSigned) add('rdp-listener-certificate-self-signed', `certificate ${c.subject} is self-signed (SHA-256 ${c.sha256})`);
    if (c.keyType === 'rsa' && c.keyBits !== undefined && c.keyBits < 2048) add('rdp-listener-weak-key', `certificate key: RSA ${c.keyBits} bits`);
  }
  return out;
}
