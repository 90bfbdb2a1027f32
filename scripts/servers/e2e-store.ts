// Each store's e2e rig is a file scripts/servers/e2e-<kind>.ts exporting start(): it starts
// real servers and says which connections LockDeck gets and which env the specs get.
export interface E2EStore {
  connections: Array<Record<string, unknown>>;
  env: Record<string, string>;
  stop(): Promise<void>;
}
