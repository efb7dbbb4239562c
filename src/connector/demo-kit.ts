import type { Clock } from '../core/clock.js';
import type { WardenConfig } from '../config/load-config.js';
import type { Connector } from './contract.js';

/** A person of `warden demo` (src/demo/personas.ts lists them): the same login in every simulator. */
export interface DemoPersona {
  /** The short name commands take (`warden demo act okta reset-factors dana --as kim`). */
  handle: string;
  /** Login in every directory (Okta login, Entra UPN, ServiceNow e-mail, Jira e-mail, OIDC preferred_username). */
  login: string;
  firstName: string;
  lastName: string;
  /** What the person does in the demo. */
  part: string;
  /** Okta groups (and the OIDC groups claim). */
  groups: string[];
  /** Okta administrator roles. */
  oktaRoles?: string[];
  /** Entra directory role. */
  entraRole?: string;
  /** Enrolled in Okta Verify (a month ago) before the demo starts. */
  factor?: boolean;
  /** Works tickets: can sign in to ServiceNow and Jira with the demo's password. */
  agent?: boolean;
}

/**
 * The port between `warden demo` (src/demo, which knows no vendor) and the
 * simulators (connectors/demo, which start the Okta, Entra, ServiceNow and
 * Jira simulators and act inside them). bin/warden.js hands the
 * implementation to the CLI, as it hands over the connectors.
 */
export interface DemoKit {
  /**
   * The demo's throw-away TLS certificate for 127.0.0.1/localhost, kept in
   * `dir` so it survives restarts: the Entra simulator and Warden's own
   * listener serve it, and the process trusts `caFile` through
   * NODE_EXTRA_CA_CERTS (read when Node starts).
   */
  certificate(dir: string): { certFile: string; keyFile: string; caFile: string };
  /** Starts every simulator on 127.0.0.1 and seeds the personas. */
  start(input: DemoKitInput): Promise<DemoSimulators>;
}

export interface DemoKitInput {
  dir: string;
  clock: Clock;
  personas: readonly DemoPersona[];
  /** The password agents use at ServiceNow and Jira. */
  password: string;
  /** Fixed ports (0 or absent: ephemeral). The Okta simulator always takes a free one. */
  ports?: Partial<Record<'entra' | 'servicenow' | 'jira', number>>;
}

/** What the running simulators tell the demo: where they are and how Warden signs in to them. */
export interface DemoSimulators {
  okta: { url: string };
  entra: { url: string; tenantId: string; clientId: string; holdGroupId: string };
  servicenow: { url: string; username: string };
  jira: { url: string; email: string };
  /** Each persona's id in each IdP, by handle. */
  ids: { okta: Record<string, string>; entra: Record<string, string> };
  /** Environment variables the config's secret references name (`OKTA_TOKEN`, …). */
  env: Record<string, string>;
  /** The connectors the demo's Warden runs with. */
  connectors: readonly Connector[];
  /** After Warden listens: what an IdP admin does once (register and verify the Okta event hook). */
  connect(warden: { url: string; config: WardenConfig }): Promise<void>;
  /** Someone acts inside an IdP; throws WardenError `ERR_VALIDATION` for an unknown action or person. */
  act(request: ActRequest): Promise<ActResult>;
  /** What the IdPs show about a person now (the admin consoles' view). */
  state(handle: string): PersonState;
  close(): Promise<void>;
}

/** `warden demo act <idp> <action> <target> [--as <actor>]`. */
export interface ActRequest {
  idp: string;
  action: string;
  /** Persona handle or login. */
  target: string;
  /** Persona handle or login of who acts; default: the target themself (or whoever holds their session). */
  as?: string;
  /** Extra argument (factor type, push answer). */
  arg?: string;
}

export interface ActResult {
  /** One line saying what happened, as the IdP's admin console would. */
  said: string;
  /** The vendor's id of the record it made (Okta System Log `uuid`, Office 365 record `Id`, Entra audit id): the change's `source.eventIds`. */
  eventId?: string;
  /** Where the IdP records it. */
  recordedIn?: string;
}

export interface PersonState {
  handle: string;
  okta?: { id: string; status: string; groups: string[]; sessions: number; factors: string[] };
  entra?: { id: string; inHoldGroup: boolean; signInSessionsValidFrom: string; methods: string[] };
}

/** The actions `act` takes, per IdP, for help texts and docs. */
export const DEMO_ACTIONS: Readonly<Record<string, ReadonlyArray<{ action: string; needsAs: boolean; says: string }>>> = {
  okta: [
    { action: 'reset-factors', needsAs: true, says: "an administrator resets all of the target's factors in the Admin Console" },
    { action: 'enroll-factor', needsAs: false, says: "a new Okta Verify (or `--type sms`) is enrolled on the target's account from the Sign-In Widget" },
    { action: 'reset-password', needsAs: false, says: 'the password is reset: by an administrator with --as, else through self-service recovery' },
    { action: 'sign-in', needsAs: false, says: 'someone signs in as the target (one more session)' },
    { action: 'answer-push', needsAs: false, says: 'the target answers the Okta Verify push waiting on their phone (`--answer approve|deny`)' },
  ],
  entra: [
    { action: 'reset-password', needsAs: true, says: "an administrator resets the target's password in the Entra admin center" },
    { action: 'register-phone', needsAs: true, says: 'an administrator registers a phone authentication method for the target' },
    { action: 'add-inbox-rule', needsAs: false, says: "an inbox rule forwarding the target's mail outside is created in Outlook on the web" },
  ],
};
