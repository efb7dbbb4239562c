/**
 * Exchange audit records for the tests: the shipped builder the demo uses
 * (connectors/demo/exchange-records.ts), built from the Panther corpus
 * fixture, so the tests and the demo send the same records.
 */
export { exchangeRecord, type ForwardingCase } from '../../connectors/demo/exchange-records.js';
