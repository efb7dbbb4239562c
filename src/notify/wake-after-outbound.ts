import type { Store, StoreTx } from '../store/store.js';
import { overlay } from '../store/overlay.js';

/**
 * The store as the decision path gets it, calling `wake` after every
 * transaction that queued an outbound event (`putNotifyEvent`: a webhook, a
 * chat or e-mail message, a "not me" notice) has committed, and after every
 * such event stored outside a transaction. A transaction that queued none,
 * or rolled back, wakes nothing.
 *
 * The webhook, channel and "not me" workers each claim from the queue when
 * woken: waking them after every decision cost three claims (and a look at
 * waiting pushes) per decision that published nothing, which most do not;
 * not waking them left what a decision did publish to their idle tick.
 */
export function wakingAfterOutbound<S extends Store>(store: S, wake: () => void): S {
  const transaction: Store['transaction'] = async <T>(fn: (tx: StoreTx) => Promise<T>) => {
    let queued = false;
    const result = await store.transaction((tx) =>
      fn(
        overlay(tx, {
          putNotifyEvent: async (...args: Parameters<StoreTx['putNotifyEvent']>) => {
            await tx.putNotifyEvent(...args);
            queued = true;
          },
        }),
      ),
    );
    if (queued) wake();
    return result;
  };
  const putNotifyEvent = async (...args: Parameters<Store['putNotifyEvent']>) => {
    await store.putNotifyEvent(...args);
    wake();
  };
  return overlay(store, { transaction, putNotifyEvent });
}
