/** What one fault scenario measured: the line the suite prints for it. */
export interface FaultResult {
  name: string;
  store: string;
  sent: number;
  acked: number;
  decided: number;
  duplicated: number;
  lost: number;
  actions: number;
  doubleActions: number;
  auditOk: boolean;
  /** Further facts worth a line under the result (not counted). */
  notes: string[];
}

/** `fault <name> store=<s> sent=N acked=N decided=N duplicated=N lost=N actions=N double_actions=N audit=ok|FAILED` */
export function formatResult(r: FaultResult): string {
  return `fault ${r.name} store=${r.store} sent=${r.sent} acked=${r.acked} decided=${r.decided} duplicated=${r.duplicated} lost=${r.lost} actions=${r.actions} double_actions=${r.doubleActions} audit=${r.auditOk ? 'ok' : 'FAILED'}`;
}

/** `faults: <S> scenarios, lost <L>, duplicated <D>, double actions <X>, audit failures <A>` */
export function formatSummary(results: readonly FaultResult[], errors: number): string {
  const sum = (f: (r: FaultResult) => number) => results.reduce((n, r) => n + f(r), 0);
  return `faults: ${results.length + errors} scenarios, lost ${sum((r) => r.lost)}, duplicated ${sum((r) => r.duplicated)}, double actions ${sum((r) => r.doubleActions)}, audit failures ${sum((r) => (r.auditOk ? 0 : 1))}${errors ? `, errors ${errors}` : ''}`;
}

/** Whether the run passes: no loss, no duplicate, no double action, every audit chain verified, no scenario errored. */
export function passed(results: readonly FaultResult[], errors: number): boolean {
  return errors === 0 && results.every((r) => r.lost === 0 && r.duplicated === 0 && r.doubleActions === 0 && r.auditOk);
}
