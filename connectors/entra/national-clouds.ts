import type { EntraTenantConfig } from './entra-config.js';

/**
 * Sign-in, Microsoft Graph and Office 365 Management API hosts per national
 * cloud (shared/research/entra.md §5; graph-docs concepts/deployments.md;
 * office-365-management-activity-api-reference.md "Activity API operations").
 * GCC (moderate) uses the global endpoints.
 */
export const CLOUD_ENDPOINTS = {
  global: { authorityHost: 'https://login.microsoftonline.com', graphBaseUrl: 'https://graph.microsoft.com', managementBaseUrl: 'https://manage.office.com' },
  usgov: { authorityHost: 'https://login.microsoftonline.us', graphBaseUrl: 'https://graph.microsoft.us', managementBaseUrl: 'https://manage.office365.us' },
  'usgov-dod': {
    authorityHost: 'https://login.microsoftonline.us',
    graphBaseUrl: 'https://dod-graph.microsoft.us',
    managementBaseUrl: 'https://manage.protection.apps.mil',
  },
  china: { authorityHost: 'https://login.chinacloudapi.cn', graphBaseUrl: 'https://microsoftgraph.chinacloudapi.cn', managementBaseUrl: undefined },
} as const satisfies Record<EntraTenantConfig['cloud'], { authorityHost: string; graphBaseUrl: string; managementBaseUrl: string | undefined }>;

/** The hosts a tenant's connector talks to, after overrides (`authorityHost`, `graphBaseUrl`, `managementActivity.baseUrl`). */
export interface EntraEndpoints {
  authorityHost: string;
  graphBaseUrl: string;
  managementBaseUrl: string | undefined;
  /** The authority was overridden (a simulator or a private cloud): skip MSAL's instance discovery. */
  customAuthority: boolean;
}

const trim = (url: string) => url.replace(/\/+$/, '');

/** Resolves a tenant's endpoints from its cloud and overrides. */
export function endpointsFor(config: Pick<EntraTenantConfig, 'cloud' | 'authorityHost' | 'graphBaseUrl' | 'managementActivity'>): EntraEndpoints {
  const cloud = CLOUD_ENDPOINTS[config.cloud];
  const management = config.managementActivity.baseUrl ?? cloud.managementBaseUrl;
  return {
    authorityHost: trim(config.authorityHost ?? cloud.authorityHost),
    graphBaseUrl: trim(config.graphBaseUrl ?? cloud.graphBaseUrl),
    managementBaseUrl: management ? trim(management) : undefined,
    customAuthority: config.authorityHost !== undefined,
  };
}
