/**
 * qcc-lab's public API. The same pieces the CLI uses, for tests and tools of your own:
 * start fake upstreams and the proxy, load and run scenarios, summarise and gate.
 */
export { startProxy, type ProxyHandle, type ProxyStats } from './proxy/server.ts'
export type { ProxyConfig, EndpointConfig } from './proxy/config.ts'
export { endpointId } from './proxy/config.ts'
export { connectorProfiles, connectorProfileNames, type ConnectorProfileName, type ConnectorSettings, type ConnectorSelection } from './proxy/connector/profiles.ts'
export { proxyChannels, type AttemptEvent, type RequestEvent } from './proxy/events.ts'
export { classifyError, classifyStatus, attemptOutcomes, type AttemptOutcome } from './proxy/outcome.ts'
export { startFakeUpstream, faults, faultKinds, type FakeUpstream, type UpstreamSpec, type FaultSpec, type Ledger, type LedgerEntry } from '../fake-upstreams/index.ts'
export { loadScenario } from './harness/scenario/load.ts'
export { parseScenario } from './harness/scenario/parse.ts'
export type { Scenario } from './harness/scenario/schema.ts'
export { runScenario, runVariant, type RunOptions, type RunEvent } from './harness/runner/run-scenario.ts'
export type { VariantRecord } from './harness/runner/record.ts'
export { summarizeVariant } from './harness/report/summarize.ts'
export { buildRunReport } from './harness/report/build-report.ts'
export type { RunReport, ScenarioReport, VariantReport, ExpectationResult } from './harness/report/types.ts'
export { evaluate } from './harness/gate/evaluate.ts'
export { QccLabError, ScenarioError, UsageError } from './shared/errors.ts'
