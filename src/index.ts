/**
 * qcc-lab's public API. The same pieces the CLI uses, for tests and tools of your own: start fake
 * upstreams and the proxy, load and run scenarios (with the verdict `qcc-lab run` prints), summarise and
 * gate. Named exports only, grouped by layer.
 */

// The proxy: startProxy takes what a config file may say (`connector: 'naive-keepalive'`), checked at start.
export { startProxy, type ProxyHandle, type ProxyStats } from './proxy/server.ts'
export type { ProxyConfig, ProxyConfigInput, ClusterConfig, ClusterInput, EndpointConfig, EndpointInput, ConnectorInput } from './proxy/config.ts'
export { endpointId } from './proxy/config.ts'
export { connectorProfiles, connectorProfileNames, type ConnectorProfileName, type ConnectorSettings, type ConnectorSelection, type ConnectorOverrides } from './proxy/connector/profiles.ts'
export { proxyChannels, type AttemptEvent, type RequestEvent } from './proxy/events.ts'
export { classifyError, classifyStatus, attemptOutcomes, type AttemptOutcome } from './proxy/outcome.ts'

// Fake upstreams: faults typed per kind (FaultSpec), every spec checked at start.
export {
  startFakeUpstream, faults, faultKinds,
  type FakeUpstream, type UpstreamSpec, type FaultSpec, type FaultSpecOf, type FaultKind, type MessageBehaviour, type Ledger, type LedgerEntry,
} from '../fake-upstreams/index.ts'

// Scenarios: a bundled name, a file, YAML text or a plain object; runScenario returns the verdict and report.
export { loadScenario } from './harness/scenario/load.ts'
export { parseScenario } from './harness/scenario/parse.ts'
export type { Scenario } from './harness/scenario/schema.ts'
export { lintScenario, lintRules, validatesIdleSockets, type LintWarning, type LintRule } from './harness/scenario/lint.ts'
export { jsonSchemas, jsonSchemaNames, scenarioJsonSchema, proxyConfigJsonSchema } from './harness/scenario/json-schema.ts'
export {
  runScenario, runVariant, resolveScenario,
  type RunOptions, type RunEvent, type TargetSpec, type ScenarioInput, type ScenarioDefinition, type ScenarioFault, type ScenarioRun, type VariantRun,
} from './harness/runner/run-scenario.ts'
export type { VariantRecord } from './harness/runner/record.ts'

// Report and gate: pure functions of a run's records.
export { summarizeVariant } from './harness/report/summarize.ts'
export { summarizeScenario, unmetExpectations } from './harness/report/summarize-scenario.ts'
export { buildRunReport } from './harness/report/build-report.ts'
export type { RunReport, ScenarioReport, VariantReport, ExpectationResult } from './harness/report/types.ts'
export { evaluate } from './harness/gate/evaluate.ts'

// Errors: everything a caller can get wrong is a QccLabError naming the field.
export { QccLabError, ScenarioError, UsageError } from './shared/errors.ts'
