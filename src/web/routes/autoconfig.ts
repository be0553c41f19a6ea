/**
 * Client autoconfiguration, no login needed: Thunderbird autoconfig (clientConfig v1.1) and Microsoft
 * Autodiscover POX, so a mail client sets itself up from an address. See docs/web.md for the DNS names
 * (`autoconfig.<domain>`, `autodiscover.<domain>`) and the RFC 6186 SRV records that lead clients here.
 *
 * Invariants:
 * - Only listeners that are on are announced, with the ports they are bound to, and `hostname` from the
 *   configuration as the server name (the name in the certificate).
 * - The user name is always the full mail address (`%EMAILADDRESS%` in autoconfig): that is what
 *   postbode's AuthService expects.
 * - Nothing about accounts is revealed: the answer is the same for every address of any domain.
 * - A configuration served for an address that is an account is told to the exercises' checker with
 *   the client address (the "mail client configured by autoconfig" exercise); others are not kept.
 */
import { type Context, Hono } from 'hono';
import type { ListenerName } from '../../config/schema.js';
import type { WebContext, WebEnv } from '../context.js';
import { clientIp } from '../session-auth.js';

type Security = 'SSL' | 'STARTTLS';

interface Endpoint {
  protocol: 'imap' | 'pop3' | 'smtp';
  port: number;
  security: Security;
}

/** The client-facing listeners in order of preference: implicit TLS first (RFC 8314 §3). */
const CLIENT_LISTENERS: [ListenerName, Endpoint['protocol'], Security][] = [
  ['imaps', 'imap', 'SSL'],
  ['imap', 'imap', 'STARTTLS'],
  ['pop3s', 'pop3', 'SSL'],
  ['pop3', 'pop3', 'STARTTLS'],
  ['submissions', 'smtp', 'SSL'],
  ['submission', 'smtp', 'STARTTLS'],
];

export function clientEndpoints(ctx: WebContext): Endpoint[] {
  const out: Endpoint[] = [];
  for (const [name, protocol, security] of CLIENT_LISTENERS) {
    const l = ctx.listeners.find((x) => x.name === name);
    if (l) out.push({ protocol, port: l.port, security });
  }
  return out;
}

export function xmlEscape(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!,
  );
}

const XML_TYPE = 'application/xml; charset=utf-8';
const MAX_AUTODISCOVER_BODY = 64 * 1024;

/** The part after the last `@`, lower-cased, when it looks like a domain. */
function domainOfAddress(address: string | undefined): string | null {
  if (!address?.includes('@')) return null;
  const d = address
    .slice(address.lastIndexOf('@') + 1)
    .trim()
    .toLowerCase();
  return /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(d) ? d : null;
}

/** Thunderbird autoconfig, clientConfig version 1.1. */
export async function thunderbirdConfig(ctx: WebContext, emailAddress: string | undefined): Promise<string | null> {
  const endpoints = clientEndpoints(ctx);
  if (!endpoints.some((e) => e.protocol !== 'smtp')) return null;
  const local = await ctx.store.domains.list();
  const asked = domainOfAddress(emailAddress);
  const domains = asked && !local.includes(asked) ? [asked, ...local] : local;
  const id = asked ?? ctx.config.domains[0] ?? local[0] ?? ctx.config.hostname;
  const host = xmlEscape(ctx.config.hostname);
  const server = (e: Endpoint) => {
    const tag = e.protocol === 'smtp' ? 'outgoingServer' : 'incomingServer';
    return `    <${tag} type="${e.protocol}">
      <hostname>${host}</hostname>
      <port>${e.port}</port>
      <socketType>${e.security}</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </${tag}>`;
  };
  const incoming = endpoints.filter((e) => e.protocol !== 'smtp').map(server);
  const outgoing = endpoints.filter((e) => e.protocol === 'smtp').map(server);
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${xmlEscape(id)}">
${(domains.length ? domains : [id]).map((d) => `    <domain>${xmlEscape(d)}</domain>`).join('\n')}
    <displayName>${xmlEscape(`${id} (postbode on ${ctx.config.hostname})`)}</displayName>
    <displayShortName>${xmlEscape(id)}</displayShortName>
${[...incoming, ...outgoing].join('\n')}
  </emailProvider>
</clientConfig>
`;
}

const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
const OUTLOOK_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** The address in an Autodiscover POX request (`<EMailAddress>`), or null. */
export function autodiscoverAddress(body: string): string | null {
  const m = /<(?:\w+:)?EMailAddress\s*>\s*([^<\s]+)\s*<\/(?:\w+:)?EMailAddress\s*>/i.exec(body);
  return m ? m[1] : null;
}

/**
 * Microsoft Autodiscover POX answer for Outlook and other clients ([MS-OXDSCLI], the "outlook"
 * response schema 2006a): one Protocol block per type (IMAP, POP3, SMTP), the implicit-TLS listener
 * when it is on (`SSL on`), else the STARTTLS one (`Encryption TLS`).
 */
export function autodiscoverResponse(ctx: WebContext, email: string): string {
  const host = xmlEscape(ctx.config.hostname);
  const login = xmlEscape(email);
  const blocks: string[] = [];
  for (const protocol of ['imap', 'pop3', 'smtp'] as const) {
    const e = clientEndpoints(ctx).find((x) => x.protocol === protocol);
    if (!e) continue;
    const security = e.security === 'SSL' ? '<SSL>on</SSL>' : '<SSL>on</SSL>\n        <Encryption>TLS</Encryption>';
    const smtpOnly =
      protocol === 'smtp' ? '\n        <UsePOPAuth>off</UsePOPAuth>\n        <SMTPLast>off</SMTPLast>' : '';
    blocks.push(`      <Protocol>
        <Type>${protocol.toUpperCase()}</Type>
        <Server>${host}</Server>
        <Port>${e.port}</Port>
        <DomainRequired>off</DomainRequired>
        <LoginName>${login}</LoginName>
        <SPA>off</SPA>
        ${security}
        <AuthRequired>on</AuthRequired>${smtpOnly}
      </Protocol>`);
  }
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="${RESPONSE_NS}">
  <Response xmlns="${OUTLOOK_NS}">
    <User>
      <DisplayName>${login}</DisplayName>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
${blocks.join('\n')}
    </Account>
  </Response>
</Autodiscover>
`;
}

/** The POX error answer (error code 600: invalid request). */
function autodiscoverError(message: string): string {
  const now = new Date().toISOString().slice(11, 19);
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="${RESPONSE_NS}">
  <Response>
    <Error Time="${now}" Id="0">
      <ErrorCode>600</ErrorCode>
      <Message>${xmlEscape(message)}</Message>
      <DebugData />
    </Error>
  </Response>
</Autodiscover>
`;
}

/** Tells the exercises' checker that `address` (when it is an account) got its configuration here. */
async function served(ctx: WebContext, c: Context<WebEnv>, address: string | undefined): Promise<void> {
  const tracker = ctx.exercises;
  if (!tracker || !address?.includes('@') || address.length > 320) return;
  const account = await ctx.store.accounts.get(address.trim().toLowerCase());
  if (account) tracker.autoconfigServed(account.address, clientIp(c));
}

export function autoconfigRoutes(ctx: WebContext): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  const thunderbird = async (c: Context<WebEnv>) => {
    const address = c.req.query('emailaddress');
    const xml = await thunderbirdConfig(ctx, address);
    if (!xml) {
      return c.text(
        'no IMAP or POP3 listener is on, so there is nothing to configure; turn one on (listen.imaps)',
        404,
      );
    }
    await served(ctx, c, address);
    return c.body(xml, 200, { 'Content-Type': XML_TYPE, 'Cache-Control': 'no-cache' });
  };
  app.get('/.well-known/autoconfig/mail/config-v1.1.xml', thunderbird);
  app.get('/mail/config-v1.1.xml', thunderbird);

  // Clients spell the path in several ways (autodiscover, Autodiscover, AutoDiscover).
  const spellings = ['autodiscover', 'Autodiscover', 'AutoDiscover'];
  for (const dir of spellings) {
    for (const file of spellings) {
      app.post(`/${dir}/${file}.xml`, async (c) => {
        const body = await c.req.text();
        const email = body.length <= MAX_AUTODISCOVER_BODY ? autodiscoverAddress(body) : null;
        if (!email?.includes('@')) {
          const error = autodiscoverError('Invalid Request: send <EMailAddress>you@example.org</EMailAddress>');
          return c.body(error, 200, { 'Content-Type': XML_TYPE });
        }
        await served(ctx, c, email);
        return c.body(autodiscoverResponse(ctx, email), 200, { 'Content-Type': XML_TYPE, 'Cache-Control': 'no-cache' });
      });
    }
  }
  return app;
}
