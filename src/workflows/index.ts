export { executionWorkflow } from './execution-workflow';
export { deliveryWorkflow } from './delivery-workflow';
