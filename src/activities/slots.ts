import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { acquireSlotSignal, slotsWorkflowId, SLOTS_WORKFLOW_TYPE } from '../workflows/slot-messages';

/** Activities of the tenants' running slots: they reach Temporal through the worker's client. */
export function createSlotActivities() {
  return {
    /** Asks the tenant's slots workflow for a slot, starting it if it is not running. */
    async requestSlot(request: { tenant: string; executionId: string; limit: number }): Promise<void> {
      const { client, info } = Context.current();
      await client.workflow.signalWithStart(SLOTS_WORKFLOW_TYPE, {
        workflowId: slotsWorkflowId(request.tenant),
        taskQueue: info.taskQueue,
        args: [{ tenant: request.tenant, limit: request.limit, holders: [], waiting: [] }],
        signal: acquireSlotSignal,
        signalArgs: [{ executionId: request.executionId, limit: request.limit }],
      });
    },

    /** Which of these executions are no longer running (ended, terminated, or never there). */
    async endedExecutions(request: { ids: string[] }): Promise<string[]> {
      const client = Context.current().client;
      const ended: string[] = [];
      for (const id of request.ids) {
        try {
          const description = await client.workflow.getHandle(id).describe();
          if (description.status.name !== 'RUNNING') ended.push(id);
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) ended.push(id);
          else throw error;
        }
      }
      return ended;
    },
  };
}
