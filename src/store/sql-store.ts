import type { SqlExecutor } from './sql-executor.js';
import { SqlAlertStore } from './sql/sql-alert-store.js';
import { SqlApiKeyStore } from './sql/sql-api-key-store.js';
import { SqlAuditStore } from './sql/sql-audit-store.js';
import { SqlCursorStore } from './sql/sql-cursor-store.js';
import { SqlDecisionStore } from './sql/sql-decision-store.js';
import { SqlDetectionStore } from './sql/sql-detection-store.js';
import { SqlExceptionStore } from './sql/sql-exception-store.js';
import { SqlHoldStore } from './sql/sql-hold-store.js';
import { SqlIdempotencyStore } from './sql/sql-idempotency-store.js';
import { SqlInboxStore } from './sql/sql-inbox-store.js';
import { SqlLeaseStore } from './sql/sql-lease-store.js';
import { SqlNotifyStore } from './sql/sql-notify-store.js';
import { SqlOutboxStore } from './sql/sql-outbox-store.js';
import { SqlOwnChangeStore } from './sql/sql-own-change-store.js';
import { SqlRequestStore } from './sql/sql-request-store.js';
import { SqlRetentionStore } from './sql/sql-retention-store.js';
import { SqlReviewStore } from './sql/sql-review-store.js';
import { SqlConsoleStore } from './sql/sql-console-store.js';
import { SqlOversightStore } from './sql/sql-oversight-store.js';
import { SqlSsfStore } from './sql/sql-ssf-store.js';
import { SqlTenantStore } from './sql/sql-tenant-store.js';
import { composeAggregates } from './sql/sql-aggregate.js';
import { storableExecutor } from './storable-values.js';
import type { StoreOps } from './store.js';

export { GENESIS_HASH } from './sql/sql-audit-store.js';

/**
 * Every store operation, written once in PostgreSQL's dialect over a
 * `SqlExecutor`: the aggregates' SQL (src/store/sql/, one file per
 * capability of the Store port) composed into one object. The PGlite and
 * PostgreSQL drivers differ only in how they run SQL. `implements StoreOps`
 * is what checks that no capability is left out.
 */
export class SqlStore
  extends composeAggregates(
    SqlTenantStore,
    SqlInboxStore,
    SqlDecisionStore,
    SqlOutboxStore,
    SqlHoldStore,
    SqlAuditStore,
    SqlLeaseStore,
    SqlRetentionStore,
    SqlOwnChangeStore,
    SqlCursorStore,
    SqlDetectionStore,
    SqlAlertStore,
    SqlApiKeyStore,
    SqlRequestStore,
    SqlIdempotencyStore,
    SqlReviewStore,
    SqlExceptionStore,
    SqlNotifyStore,
    SqlSsfStore,
    SqlConsoleStore,
    SqlOversightStore,
  )
  implements StoreOps
{
  /** `db` is wrapped so that values PostgreSQL refuses are stored escaped (storable-values.ts). */
  constructor(db: SqlExecutor) {
    super(storableExecutor(db));
  }
}
