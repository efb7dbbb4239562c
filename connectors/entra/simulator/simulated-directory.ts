import { randomBytes, randomUUID } from 'node:crypto';
import { WardenError } from '../../../src/core/errors.js';

/**
 * The state of one simulated Entra tenant (users, groups, directory roles,
 * authentication methods, apps, audit log, Exchange audit records) and the
 * operations that change it. Every change writes the directoryAudit record
 * Entra writes for it (shared/research/entra.md §3.1, shape of §3.2 and of the
 * fixture graph-directoryaudits-list-filter-initiatedby.json), so the poller
 * under test reads what a tenant would show. Where Microsoft does not publish
 * a value (the `modifiedProperties` of a phone registration), the record
 * leaves it out rather than inventing one.
 */

/** The password method's fixed id (authenticationmethod-resetpassword.md). */
export const PASSWORD_METHOD_ID = '28c10230-6103-485e-b985-444c60001490';
/** The email method's fixed id. */
export const EMAIL_METHOD_ID = '3ddfcfc8-9383-446f-83cc-3ab9be4be18f';
/** Phone method ids are fixed by phone type (phoneauthenticationmethod-delete.md). */
export const PHONE_METHOD_IDS = {
  mobile: '3179e48a-750b-4051-897c-87b9720928f7',
  alternateMobile: 'b6332ec1-7057-4abe-9331-3d72feddfe41',
  office: 'e37fc753-ff3b-4958-9484-eaa9425c82bc',
} as const;
export type PhoneType = keyof typeof PHONE_METHOD_IDS;

/** The authentication-method collections under `/users/{id}/authentication/` and their `@odata.type`. */
export const METHOD_COLLECTIONS = {
  phoneMethods: '#microsoft.graph.phoneAuthenticationMethod',
  microsoftAuthenticatorMethods: '#microsoft.graph.microsoftAuthenticatorAuthenticationMethod',
  fido2Methods: '#microsoft.graph.fido2AuthenticationMethod',
  softwareOathMethods: '#microsoft.graph.softwareOathAuthenticationMethod',
  emailMethods: '#microsoft.graph.emailAuthenticationMethod',
  temporaryAccessPassMethods: '#microsoft.graph.temporaryAccessPassAuthenticationMethod',
  windowsHelloForBusinessMethods: '#microsoft.graph.windowsHelloForBusinessAuthenticationMethod',
  passwordMethods: '#microsoft.graph.passwordAuthenticationMethod',
} as const;
export type MethodCollection = keyof typeof METHOD_COLLECTIONS;

export interface SimUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  mail: string | null;
  jobTitle: string | null;
  department: string | null;
  employeeType: string | null;
  accountEnabled: boolean;
  userType: 'Member' | 'Guest';
  signInSessionsValidFromDateTime: string;
  /** Set by PATCH passwordProfile. */
  forceChangePasswordNextSignIn: boolean;
}

export interface SimMethod {
  collection: MethodCollection;
  /** The method as Graph returns it (without `@odata.type`, added by list views that need it). */
  body: Record<string, unknown> & { id: string };
}

export interface SimGroup {
  id: string;
  displayName: string;
  description: string | null;
  mailNickname: string;
  mailEnabled: boolean;
  securityEnabled: boolean;
  createdDateTime: string;
  members: Set<string>;
}

export interface SimApp {
  appId: string;
  displayName: string;
  servicePrincipalId: string;
  /** Client secrets accepted at the token endpoint. */
  secrets: string[];
  /** PEM certificates accepted for client assertions. */
  certificates: string[];
  /** Application permissions granted (admin-consented app roles), e.g. `User.ReadWrite.All`. */
  permissions: Set<string>;
}

/** A client secret on a service principal (the fields of Graph's passwordCredential; the secret itself is never read back). */
export interface SimPasswordCredential {
  keyId: string;
  displayName: string | null;
  hint: string | null;
  startDateTime: string;
  endDateTime: string;
  customKeyIdentifier: null;
  secretText: null;
}

/**
 * A certificate on an application or service principal (the fields of Graph's
 * keyCredential). `key` (the public certificate, base64) is returned only when
 * `$select` names `keyCredentials` on a single object, and must be sent back
 * for every key kept in a `PATCH` of the collection.
 */
export interface SimKeyCredential {
  keyId: string;
  displayName: string | null;
  type: 'AsymmetricX509Cert';
  usage: 'Verify';
  startDateTime: string;
  endDateTime: string;
  customKeyIdentifier: string;
  key: string;
}

/** A service principal of another application (what an attacker adds a secret to). */
export interface SimServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  passwordCredentials: SimPasswordCredential[];
  keyCredentials: SimKeyCredential[];
}

/** An application object (app registration) of another application: secrets and certificates are added to it too. */
export interface SimApplication {
  id: string;
  appId: string;
  displayName: string;
  passwordCredentials: SimPasswordCredential[];
  keyCredentials: SimKeyCredential[];
}

/** What a credential is added to: an application object or a service principal. */
export type SimCredentialOwner = { kind: 'application'; object: SimApplication } | { kind: 'servicePrincipal'; object: SimServicePrincipal };

/** The activity Entra logs for a change of an application's certificates and secrets (the name the normalizer reads; not in our fixtures). */
export const APPLICATION_CREDENTIALS_ACTIVITY = 'Update application – Certificates and secrets management';

export interface SimRoleDefinition {
  id: string;
  displayName: string;
  templateId: string;
}

/** Who did something, as `initiatedBy` records it. */
export type SimActor = { user: SimUser; ipAddress?: string } | { app: SimApp };

export interface AuditEntry {
  record: Record<string, unknown> & { id: string; activityDateTime: string };
  /** Epoch ms from which `GET /auditLogs/directoryAudits` returns it (activity time + audit latency). */
  visibleAt: number;
}

export interface ExchangeBlob {
  contentType: string;
  contentId: string;
  contentCreated: string;
  records: Record<string, unknown>[];
}

/** Built-in role template ids (Entra built-in roles reference). */
export const BUILT_IN_ROLES: readonly SimRoleDefinition[] = [
  { id: '62e90394-69f5-4237-9190-012177145e10', templateId: '62e90394-69f5-4237-9190-012177145e10', displayName: 'Global Administrator' },
  { id: '729827e3-9c14-49f7-bb1b-9608f156bbb8', templateId: '729827e3-9c14-49f7-bb1b-9608f156bbb8', displayName: 'Helpdesk Administrator' },
  { id: 'c4e39bd9-1100-46d3-8c65-fb160da0071f', templateId: 'c4e39bd9-1100-46d3-8c65-fb160da0071f', displayName: 'Authentication Administrator' },
  { id: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13', templateId: '7be44c8a-adaf-4e2a-84d6-ab2649e08a13', displayName: 'Privileged Authentication Administrator' },
  { id: '966707d0-3269-4727-9be2-8c3a10f19b9d', templateId: '966707d0-3269-4727-9be2-8c3a10f19b9d', displayName: 'Password Administrator' },
  { id: 'fe930be7-5e62-47db-91af-98c3a49a38b1', templateId: 'fe930be7-5e62-47db-91af-98c3a49a38b1', displayName: 'User Administrator' },
];

const SERVICE_ID_PREFIX: Record<string, string> = {
  'Core Directory': 'Directory',
  'Authentication Methods': 'Authentication Methods',
  'Self-service Password Management': 'SSPR',
};

/** Phrases of `resultReason` by method collection, as Entra writes them for admin actions ("Admin registered phone method for user"). */
const ADMIN_METHOD_WORDS: Partial<Record<MethodCollection, string>> = {
  phoneMethods: 'phone',
  temporaryAccessPassMethods: 'temporary access pass',
  microsoftAuthenticatorMethods: 'Microsoft Authenticator',
  fido2Methods: 'Fido2',
  emailMethods: 'email',
  softwareOathMethods: 'software oath',
  windowsHelloForBusinessMethods: 'Windows Hello for Business',
};

/** The simulated tenant. Times come from `clock` (a simulated clock in tests). */
export class SimulatedDirectory {
  readonly users = new Map<string, SimUser>();
  readonly methods = new Map<string, SimMethod[]>();
  /** The user's default MFA method (Graph refuses to delete it while other methods exist). */
  readonly defaultMethod = new Map<string, string>();
  readonly groups = new Map<string, SimGroup>();
  readonly roles: SimRoleDefinition[] = [...BUILT_IN_ROLES];
  readonly roleAssignments: Array<{ id: string; principalId: string; roleDefinitionId: string; directoryScopeId: string }> = [];
  readonly apps = new Map<string, SimApp>();
  /** Service principals of other applications, by object id. */
  readonly servicePrincipals = new Map<string, SimServicePrincipal>();
  /** Application objects of other applications, by object id. */
  readonly applications = new Map<string, SimApplication>();
  readonly audits: AuditEntry[] = [];
  readonly riskyUsers = new Map<string, { riskLevel: string; riskState: string }>();
  readonly exchangeBlobs: ExchangeBlob[] = [];
  /** Management Activity API subscriptions by content type. */
  readonly activitySubscriptions = new Set<string>();
  /** Default latency of audit records (ms between the activity and its appearance in the API). */
  auditDelayMs = 0;
  /** The authentication methods policy enables Temporary Access Pass (otherwise creating one is refused). */
  tapPolicyEnabled = true;
  /** Identity Protection needs Entra ID P2: without it confirmCompromised answers 403. */
  p2Licensed = true;
  /** Called after a user object changed (the simulator turns it into change notifications). */
  onUserChanged: (user: SimUser, changeType: 'updated' | 'deleted') => void = () => undefined;

  constructor(
    readonly tenantId: string,
    readonly clock: () => Date,
  ) {}

  // ---------------------------------------------------------------- set-up

  addUser(input: Partial<SimUser> & { userPrincipalName: string }): SimUser {
    const user: SimUser = {
      id: input.id ?? randomUUID(),
      displayName: input.displayName ?? input.userPrincipalName.split('@')[0]!,
      mail: input.mail ?? input.userPrincipalName,
      jobTitle: input.jobTitle ?? null,
      department: input.department ?? null,
      employeeType: input.employeeType ?? null,
      accountEnabled: input.accountEnabled ?? true,
      userType: input.userType ?? 'Member',
      signInSessionsValidFromDateTime: input.signInSessionsValidFromDateTime ?? this.clock().toISOString(),
      forceChangePasswordNextSignIn: false,
      userPrincipalName: input.userPrincipalName,
    };
    this.users.set(user.id, user);
    this.methods.set(user.id, [
      { collection: 'passwordMethods', body: { id: PASSWORD_METHOD_ID, password: null, createdDateTime: this.clock().toISOString() } },
    ]);
    return user;
  }

  addApp(input: { appId: string; displayName: string; secrets?: string[]; certificates?: string[]; permissions: Iterable<string> }): SimApp {
    const app: SimApp = {
      appId: input.appId,
      displayName: input.displayName,
      servicePrincipalId: randomUUID(),
      secrets: input.secrets ?? [],
      certificates: input.certificates ?? [],
      permissions: new Set(input.permissions),
    };
    this.apps.set(app.appId, app);
    return app;
  }

  /** A service principal of some application (set-up; no audit record). */
  addServicePrincipal(input: { displayName: string }): SimServicePrincipal {
    const sp: SimServicePrincipal = { id: randomUUID(), appId: randomUUID(), displayName: input.displayName, passwordCredentials: [], keyCredentials: [] };
    this.servicePrincipals.set(sp.id, sp);
    return sp;
  }

  /** An application object of some application (set-up; no audit record). */
  addApplication(input: { displayName: string }): SimApplication {
    const app: SimApplication = { id: randomUUID(), appId: randomUUID(), displayName: input.displayName, passwordCredentials: [], keyCredentials: [] };
    this.applications.set(app.id, app);
    return app;
  }

  /** The audit target of a credential owner, with the modified properties of the shape the service principal record has (fixture ServicePrincipalCredentialsAdded). */
  #credentialTarget(owner: SimCredentialOwner, keyType?: string, description?: string) {
    return {
      id: owner.object.id,
      displayName: owner.object.displayName,
      type: owner.kind === 'application' ? 'Application' : 'ServicePrincipal',
      ...(keyType
        ? {
            modifiedProperties: [
              { displayName: 'KeyDescription', oldValue: null, newValue: JSON.stringify(description ?? '') },
              { displayName: 'KeyType', oldValue: null, newValue: JSON.stringify(keyType) },
            ],
          }
        : {}),
    };
  }

  #credentialAudit(actor: SimActor, owner: SimCredentialOwner, change: 'add' | 'remove' | 'update', keyType?: string, description?: string): void {
    const activity =
      owner.kind === 'application'
        ? APPLICATION_CREDENTIALS_ACTIVITY
        : change === 'add'
          ? 'Add service principal credentials'
          : change === 'remove'
            ? 'Remove service principal credentials'
            : 'Update service principal';
    this.audit({
      service: 'Core Directory',
      category: 'ApplicationManagement',
      activity,
      operationType: 'Update',
      resultReason: '',
      actor,
      targets: [this.#credentialTarget(owner, keyType, description)],
    });
  }

  /** Someone adds a client secret to an application object (portal or Graph `addPassword`), logged as {@link APPLICATION_CREDENTIALS_ACTIVITY}. */
  addApplicationPassword(actor: SimActor, app: SimApplication, displayName: string): SimPasswordCredential {
    const now = this.clock();
    const credential: SimPasswordCredential = {
      keyId: randomUUID(),
      displayName,
      hint: randomBytes(2).toString('hex').slice(0, 3),
      startDateTime: now.toISOString(),
      endDateTime: new Date(now.getTime() + 180 * 86_400_000).toISOString(),
      customKeyIdentifier: null,
      secretText: null,
    };
    app.passwordCredentials.push(credential);
    this.#credentialAudit(actor, { kind: 'application', object: app }, 'add', 'Password', displayName);
    return credential;
  }

  /** Graph `removePassword` on an application object: false when no secret has that keyId. */
  removeApplicationPassword(actor: SimActor, app: SimApplication, keyId: string): boolean {
    const i = app.passwordCredentials.findIndex((c) => c.keyId === keyId);
    if (i < 0) return false;
    app.passwordCredentials.splice(i, 1);
    this.#credentialAudit(actor, { kind: 'application', object: app }, 'remove');
    return true;
  }

  /** Someone uploads a certificate to an application object or a service principal; `startDateTime` is the certificate's (default now). */
  addKeyCredential(actor: SimActor, owner: SimCredentialOwner, displayName: string, startDateTime?: Date): SimKeyCredential {
    const start = startDateTime ?? this.clock();
    const key: SimKeyCredential = {
      keyId: randomUUID(),
      displayName,
      type: 'AsymmetricX509Cert',
      usage: 'Verify',
      startDateTime: start.toISOString(),
      endDateTime: new Date(start.getTime() + 365 * 86_400_000).toISOString(),
      customKeyIdentifier: randomBytes(20).toString('hex').toUpperCase(),
      key: randomBytes(48).toString('base64'),
    };
    owner.object.keyCredentials.push(key);
    this.#credentialAudit(actor, owner, 'add', 'AsymmetricX509Cert', displayName);
    return key;
  }

  /**
   * A `PATCH` of the owner's `keyCredentials`: the collection is replaced by
   * the one sent. A key kept must come with its `key` (Graph cannot keep a
   * certificate it is not sent); an unknown keyId is refused here (the
   * simulator does not add keys through PATCH).
   */
  replaceKeyCredentials(actor: SimActor, owner: SimCredentialOwner, sent: Array<{ keyId?: unknown; key?: unknown }>): string | undefined {
    const kept: SimKeyCredential[] = [];
    for (const k of sent) {
      const known = owner.object.keyCredentials.find((c) => c.keyId === k.keyId);
      if (!known) return `No key credential found with keyId '${String(k.keyId)}'.`;
      if (k.key !== known.key) return `The key of keyCredential '${known.keyId}' must be sent to keep it.`;
      kept.push(known);
    }
    owner.object.keyCredentials = kept;
    this.#credentialAudit(actor, owner, 'update');
    return undefined;
  }

  /**
   * Someone adds a client secret to a service principal (portal or Graph
   * `addPassword`): the credential exists, and the audit log records "Add
   * service principal credentials" with the KeyDescription and KeyType
   * modified properties, as in the panther-entra fixture
   * Azure.Audit.ServicePrincipalCredentialsAdded.json.
   */
  addServicePrincipalPassword(actor: SimActor, sp: SimServicePrincipal, displayName: string): SimPasswordCredential {
    const now = this.clock();
    const credential: SimPasswordCredential = {
      keyId: randomUUID(),
      displayName,
      hint: randomBytes(2).toString('hex').slice(0, 3),
      startDateTime: now.toISOString(),
      endDateTime: new Date(now.getTime() + 180 * 86_400_000).toISOString(),
      customKeyIdentifier: null,
      secretText: null,
    };
    sp.passwordCredentials.push(credential);
    this.audit({
      service: 'Core Directory',
      category: 'ApplicationManagement',
      activity: 'Add service principal credentials',
      operationType: 'Update',
      resultReason: '',
      actor,
      targets: [
        {
          id: sp.id,
          displayName: sp.displayName,
          type: 'ServicePrincipal',
          modifiedProperties: [
            { displayName: 'KeyDescription', oldValue: null, newValue: JSON.stringify(displayName) },
            { displayName: 'KeyType', oldValue: null, newValue: JSON.stringify('Password') },
          ],
        },
      ],
    });
    return credential;
  }

  /**
   * Graph `removePassword` on a service principal: false when no secret has
   * that keyId. The audit record's activity name for a removal is not in the
   * research or fixtures ("Remove service principal credentials" is assumed);
   * Warden ignores it either way, as its own app made it.
   */
  removeServicePrincipalPassword(actor: SimActor, sp: SimServicePrincipal, keyId: string): boolean {
    const i = sp.passwordCredentials.findIndex((c) => c.keyId === keyId);
    if (i < 0) return false;
    sp.passwordCredentials.splice(i, 1);
    this.audit({
      service: 'Core Directory',
      category: 'ApplicationManagement',
      activity: 'Remove service principal credentials',
      operationType: 'Update',
      resultReason: '',
      actor,
      targets: [{ id: sp.id, displayName: sp.displayName, type: 'ServicePrincipal' }],
    });
    return true;
  }

  /** Assigns a built-in role directly (set-up; no audit record). */
  assignRole(userId: string, roleName: string): void {
    const role = this.roles.find((r) => r.displayName === roleName);
    if (!role) throw new WardenError('ERR_NOT_FOUND', `no role ${roleName}`);
    this.roleAssignments.push({ id: randomUUID(), principalId: userId, roleDefinitionId: role.id, directoryScopeId: '/' });
  }

  addGroup(input: { displayName: string; id?: string; members?: string[] }): SimGroup {
    const group: SimGroup = {
      id: input.id ?? randomUUID(),
      displayName: input.displayName,
      description: null,
      mailNickname: input.displayName.replace(/[^A-Za-z0-9]/g, '').toLowerCase() || 'group',
      mailEnabled: false,
      securityEnabled: true,
      createdDateTime: this.clock().toISOString(),
      members: new Set(input.members ?? []),
    };
    this.groups.set(group.id, group);
    return group;
  }

  /** Adds a method without an audit record (the state before a test starts). */
  seedMethod(userId: string, collection: MethodCollection, body: Record<string, unknown> & { id: string }, options: { isDefault?: boolean } = {}): void {
    this.methodsOf(userId).push({ collection, body });
    if (options.isDefault) this.defaultMethod.set(userId, body.id);
  }

  // ---------------------------------------------------------------- lookups

  findUser(idOrUpn: string): SimUser | undefined {
    const key = decodeURIComponent(idOrUpn).toLowerCase();
    for (const u of this.users.values()) if (u.id.toLowerCase() === key || u.userPrincipalName.toLowerCase() === key) return u;
    return undefined;
  }

  methodsOf(userId: string): SimMethod[] {
    let list = this.methods.get(userId);
    if (!list) this.methods.set(userId, (list = []));
    return list;
  }

  rolesOf(userId: string): SimRoleDefinition[] {
    return this.roleAssignments.filter((a) => a.principalId === userId).map((a) => this.roles.find((r) => r.id === a.roleDefinitionId)!);
  }

  groupsOf(userId: string): SimGroup[] {
    return [...this.groups.values()].filter((g) => g.members.has(userId));
  }

  // ---------------------------------------------------------------- audit log

  /** Appends a directoryAudit record, visible after the audit latency (`delayMs`, else `auditDelayMs`). */
  audit(input: {
    service: 'Core Directory' | 'Authentication Methods' | 'Self-service Password Management';
    category: string;
    activity: string;
    operationType: string;
    resultReason: string;
    actor: SimActor;
    targets: Array<{
      id: string;
      displayName: string | null;
      type: string;
      userPrincipalName?: string | null;
      modifiedProperties?: Array<{ displayName: string; oldValue: string | null; newValue: string | null }>;
    }>;
    additionalDetails?: Array<{ key: string; value: string }>;
    correlationId?: string;
    delayMs?: number;
    at?: Date;
  }): AuditEntry['record'] {
    const at = input.at ?? this.clock();
    const correlationId = input.correlationId ?? randomUUID();
    const initiatedBy =
      'user' in input.actor
        ? {
            app: null,
            user: {
              id: input.actor.user.id,
              displayName: input.actor.user.displayName,
              userPrincipalName: input.actor.user.userPrincipalName,
              ipAddress: input.actor.ipAddress ?? null,
              userType: null,
              homeTenantId: null,
              homeTenantName: null,
            },
          }
        : {
            user: null,
            app: {
              appId: input.actor.app.appId,
              displayName: input.actor.app.displayName,
              servicePrincipalId: input.actor.app.servicePrincipalId,
              servicePrincipalName: null,
            },
          };
    const record = {
      id: `${SERVICE_ID_PREFIX[input.service]}_${correlationId}_${randomBytes(3).toString('hex').toUpperCase()}_${Math.floor(Math.random() * 1e8)}`,
      category: input.category,
      correlationId,
      result: 'success',
      resultReason: input.resultReason,
      activityDisplayName: input.activity,
      activityDateTime: at.toISOString(),
      loggedByService: input.service,
      operationType: input.operationType,
      initiatedBy,
      targetResources: input.targets.map((t) => ({
        id: t.id,
        displayName: t.displayName,
        type: t.type,
        userPrincipalName: t.userPrincipalName ?? null,
        groupType: null,
        modifiedProperties: t.modifiedProperties ?? [],
      })),
      additionalDetails: input.additionalDetails ?? [],
    };
    this.audits.push({ record, visibleAt: at.getTime() + (input.delayMs ?? this.auditDelayMs) });
    return record;
  }

  private userTarget(user: SimUser, modifiedProperties: Array<{ displayName: string; oldValue: string | null; newValue: string | null }> = []) {
    return { id: user.id, displayName: user.displayName, type: 'User', userPrincipalName: user.userPrincipalName, modifiedProperties };
  }

  private methodPhrase(actor: SimActor, target: SimUser, verb: 'registered' | 'deleted' | 'changed', collection: MethodCollection, userWords: string) {
    const byTarget = 'user' in actor && actor.user.id === target.id;
    if (byTarget) return { activity: `User ${verb === 'changed' ? 'updated' : verb} security info`, resultReason: `User ${verb} ${userWords}` };
    return {
      activity: `Admin ${verb === 'changed' ? 'updated' : verb} security info`,
      resultReason: `Admin ${verb} ${ADMIN_METHOD_WORDS[collection] ?? 'authentication'} method for user`,
    };
  }

  // ---------------------------------------------------------------- operations (each audited)

  /** Someone registers a phone method (POST phoneMethods, or the admin portal). */
  registerPhone(actor: SimActor, target: SimUser, input: { phoneNumber: string; phoneType: PhoneType; delayMs?: number }): SimMethod {
    const list = this.methodsOf(target.id);
    const id = PHONE_METHOD_IDS[input.phoneType];
    if (list.some((m) => m.collection === 'phoneMethods' && m.body.id === id))
      throw new SimError(400, 'badRequest', `The user already has a ${input.phoneType} phone method.`);
    const method: SimMethod = {
      collection: 'phoneMethods',
      body: { id, phoneNumber: input.phoneNumber, phoneType: input.phoneType, smsSignInState: 'notSupported' },
    };
    list.push(method);
    const userWords = input.phoneType === 'office' ? 'Office Phone' : 'Mobile Phone SMS';
    this.audit({
      service: 'Authentication Methods',
      category: 'UserManagement',
      operationType: 'Add',
      ...this.methodPhrase(actor, target, 'registered', 'phoneMethods', userWords),
      actor,
      targets: [this.userTarget(target)],
      ...(input.delayMs !== undefined ? { delayMs: input.delayMs } : {}),
    });
    return method;
  }

  /** The user registers Microsoft Authenticator (push) from My Security Info. */
  registerAuthenticator(actor: SimActor, target: SimUser, input: { displayName: string; delayMs?: number }): SimMethod {
    const method: SimMethod = {
      collection: 'microsoftAuthenticatorMethods',
      body: {
        id: randomUUID(),
        displayName: input.displayName,
        deviceTag: 'SoftwareTokenActivated',
        phoneAppVersion: '6.2401.0119',
        createdDateTime: this.clock().toISOString(),
      },
    };
    this.methodsOf(target.id).push(method);
    this.audit({
      service: 'Authentication Methods',
      category: 'UserManagement',
      operationType: 'Add',
      ...this.methodPhrase(actor, target, 'registered', 'microsoftAuthenticatorMethods', 'Authenticator App with Notification and Code'),
      actor,
      targets: [this.userTarget(target)],
      ...(input.delayMs !== undefined ? { delayMs: input.delayMs } : {}),
    });
    return method;
  }

  /** POST temporaryAccessPassMethods: one usable TAP per user; a new one replaces the old. */
  createTemporaryAccessPass(
    actor: SimActor,
    target: SimUser,
    input: { startDateTime?: string; lifetimeInMinutes?: number; isUsableOnce?: boolean },
  ): Record<string, unknown> {
    const lifetime = input.lifetimeInMinutes ?? 60;
    if (!Number.isInteger(lifetime) || lifetime < 10 || lifetime > 43200)
      throw new SimError(400, 'badRequest', 'lifetimeInMinutes must be between the policy minimum (10) and maximum (43200).');
    const list = this.methodsOf(target.id);
    const old = list.findIndex((m) => m.collection === 'temporaryAccessPassMethods');
    if (old >= 0) list.splice(old, 1);
    const now = this.clock();
    const start = input.startDateTime ? new Date(input.startDateTime) : now;
    const secret = randomBytes(6)
      .toString('base64')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 8);
    const body = {
      id: randomUUID(),
      createdDateTime: now.toISOString(),
      startDateTime: start.toISOString(),
      lifetimeInMinutes: lifetime,
      isUsableOnce: input.isUsableOnce ?? false,
      isUsable: start.getTime() <= now.getTime(),
      methodUsabilityReason: start.getTime() <= now.getTime() ? 'EnabledByPolicy' : 'NotYetValid',
    };
    list.push({ collection: 'temporaryAccessPassMethods', body: { ...body, temporaryAccessPass: null } });
    const end = new Date(start.getTime() + lifetime * 60_000);
    const props = [
      { displayName: 'TemporaryAccessPass.Id', oldValue: '""', newValue: JSON.stringify(body.id) },
      { displayName: 'TemporaryAccessPass.StartDateTime', oldValue: '""', newValue: JSON.stringify(body.startDateTime) },
      { displayName: 'TemporaryAccessPass.EndDateTime', oldValue: '""', newValue: JSON.stringify(end.toISOString()) },
      // Seen as "Multiple" for a multi-use pass; the one-time value is not published, so it is left out.
      ...(body.isUsableOnce ? [] : [{ displayName: 'TemporaryAccessPass.AccessPassUsage', oldValue: '""', newValue: '"Multiple"' }]),
    ];
    this.audit({
      service: 'Authentication Methods',
      category: 'UserManagement',
      operationType: 'Add',
      ...this.methodPhrase(actor, target, 'registered', 'temporaryAccessPassMethods', 'temporary access pass method'),
      actor,
      targets: [this.userTarget(target, props)],
    });
    return { '@odata.type': METHOD_COLLECTIONS.temporaryAccessPassMethods, ...body, temporaryAccessPass: secret };
  }

  /** DELETE …/{collection}/{id}, with Graph's rules on the default method and on mobile vs alternateMobile. */
  deleteMethod(actor: SimActor, target: SimUser, collection: MethodCollection, id: string): void {
    const list = this.methodsOf(target.id);
    const index = list.findIndex((m) => m.collection === collection && m.body.id === id);
    if (index < 0) throw new SimError(404, 'itemNotFound', `Authentication method '${id}' was not found.`);
    if (collection === 'passwordMethods') throw new SimError(400, 'badRequest', 'The password method cannot be deleted.');
    const others = list.filter((m) => m.collection !== 'passwordMethods' && m.body.id !== id);
    if (this.defaultMethod.get(target.id) === id && others.length > 0)
      throw new SimError(400, 'badRequest', "The user's default authentication method cannot be deleted. Change the default method first.");
    if (collection === 'phoneMethods' && id === PHONE_METHOD_IDS.mobile && list.some((m) => m.body.id === PHONE_METHOD_IDS.alternateMobile))
      throw new SimError(400, 'badRequest', 'The mobile phone method cannot be deleted while an alternate mobile phone method exists.');
    list.splice(index, 1);
    if (this.defaultMethod.get(target.id) === id) this.defaultMethod.delete(target.id);
    this.audit({
      service: 'Authentication Methods',
      category: 'UserManagement',
      operationType: 'Delete',
      ...this.methodPhrase(
        actor,
        target,
        'deleted',
        collection,
        collection === 'phoneMethods' ? 'Mobile Phone Call and SMS' : 'Authenticator App with Notification and Code',
      ),
      actor,
      targets: [this.userTarget(target)],
    });
  }

  /** POST revokeSignInSessions. */
  revokeSessions(actor: SimActor, target: SimUser): void {
    target.signInSessionsValidFromDateTime = this.clock().toISOString();
    this.audit({
      service: 'Core Directory',
      category: 'UserManagement',
      activity: 'Update StsRefreshTokenValidFrom Timestamp',
      operationType: 'Update',
      resultReason: '',
      actor,
      targets: [this.userTarget(target)],
    });
    this.onUserChanged(target, 'updated');
  }

  /** PATCH /users/{id} with the properties Warden uses; audited as Entra does. */
  updateUser(actor: SimActor, target: SimUser, patch: { accountEnabled?: boolean; jobTitle?: string; forceChangePasswordNextSignIn?: boolean }): void {
    if (patch.accountEnabled !== undefined && patch.accountEnabled !== target.accountEnabled) {
      target.accountEnabled = patch.accountEnabled;
      this.audit({
        service: 'Core Directory',
        category: 'UserManagement',
        activity: patch.accountEnabled ? 'Enable account' : 'Disable account',
        operationType: 'Update',
        resultReason: '',
        actor,
        targets: [
          this.userTarget(target, [
            { displayName: 'AccountEnabled', oldValue: JSON.stringify([!patch.accountEnabled]), newValue: JSON.stringify([patch.accountEnabled]) },
          ]),
        ],
      });
    }
    if (patch.jobTitle !== undefined) {
      const old = target.jobTitle;
      target.jobTitle = patch.jobTitle;
      this.audit({
        service: 'Core Directory',
        category: 'UserManagement',
        activity: 'Update user',
        operationType: 'Update',
        resultReason: '',
        actor,
        targets: [
          this.userTarget(target, [
            { displayName: 'JobTitle', oldValue: JSON.stringify([old]), newValue: JSON.stringify([patch.jobTitle]) },
            { displayName: 'Included Updated Properties', oldValue: null, newValue: '"JobTitle"' },
          ]),
        ],
      });
    }
    if (patch.forceChangePasswordNextSignIn !== undefined) target.forceChangePasswordNextSignIn = patch.forceChangePasswordNextSignIn;
    this.onUserChanged(target, 'updated');
  }

  /** An administrator resets a user's password in the portal (SSPR service record). */
  resetPasswordByAdmin(actor: SimActor, target: SimUser, options: { delayMs?: number } = {}): void {
    this.audit({
      service: 'Self-service Password Management',
      category: 'UserManagement',
      activity: 'Reset password (by admin)',
      operationType: 'Update',
      resultReason: 'Successfully completed reset.',
      actor,
      targets: [this.userTarget(target)],
      additionalDetails: [{ key: 'OnPremisesAgent', value: 'None' }],
      ...(options.delayMs !== undefined ? { delayMs: options.delayMs } : {}),
    });
  }

  addGroupMember(actor: SimActor, group: SimGroup, user: SimUser): void {
    if (group.members.has(user.id))
      throw new SimError(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
    group.members.add(user.id);
    this.audit({
      service: 'Core Directory',
      category: 'GroupManagement',
      activity: 'Add member to group',
      operationType: 'Assign',
      resultReason: '',
      actor,
      targets: [this.userTarget(user), { id: group.id, displayName: group.displayName, type: 'Group' }],
    });
  }

  removeGroupMember(actor: SimActor, group: SimGroup, user: SimUser): void {
    if (!group.members.delete(user.id))
      throw new SimError(
        404,
        'Request_ResourceNotFound',
        `Resource '${user.id}' does not exist or one of its queried reference-property objects are not present.`,
      );
    this.audit({
      service: 'Core Directory',
      category: 'GroupManagement',
      activity: 'Remove member from group',
      operationType: 'Unassign',
      resultReason: '',
      actor,
      targets: [this.userTarget(user), { id: group.id, displayName: group.displayName, type: 'Group' }],
    });
  }

  /** Appends Exchange audit records (Management Activity API) as one new content blob. */
  addExchangeRecords(records: Record<string, unknown>[], contentType = 'Audit.Exchange'): ExchangeBlob {
    const blob: ExchangeBlob = {
      contentType,
      contentId: `${this.clock().getTime()}${randomBytes(8).toString('hex')}$${randomBytes(8).toString('hex')}`,
      contentCreated: this.clock().toISOString(),
      records,
    };
    this.exchangeBlobs.push(blob);
    return blob;
  }
}

/** A Graph error the simulator answers with: `{ error: { code, message, innerError } }`. */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
