// The branch is named in contracts: the orchestrator checks a run's reported branch against it.
export { branchNameFor } from '@anton/contracts';
