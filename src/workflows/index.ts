export { executionWorkflow } from './execution-workflow';
export { deliveryWorkflow } from './delivery-workflow';
export { tenantSlotsWorkflow } from './tenant-slots-workflow';
export { artifactRetentionWorkflow } from './retention-workflow';
