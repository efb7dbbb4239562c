export interface ApiKeyRow {
  id: string;
  tenant: string;
  name: string;
  /** SHA-256 of the secret part, hex. */
  secretHash: string;
  scopes: string[];
  createdAt: string;
  revokedAt?: string;
}

/** API keys (only a hash of each secret is kept): part of the Store port (src/store/store.ts). */
export interface ApiKeyStore {
  putApiKey(key: ApiKeyRow): Promise<void>;
  getApiKey(id: string): Promise<ApiKeyRow | undefined>;
  listApiKeys(tenant: string): Promise<ApiKeyRow[]>;
  revokeApiKey(id: string, now: Date): Promise<boolean>;
}
