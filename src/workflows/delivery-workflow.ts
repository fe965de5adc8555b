import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ExecutionNotification } from '../domain/types';
import { DELIVERY_ACTIVITY, RESOLVE_ACTIVITY } from './activity-options';

const lookups = proxyActivities<Activities>(RESOLVE_ACTIVITY);
const senders = proxyActivities<Activities>(DELIVERY_ACTIVITY);

/**
 * Delivers one event of an execution to every subscription that takes it, each with its own retries
 * (at least once; receivers de-duplicate by the delivery id). Started by the execution, outliving it.
 */
export async function deliveryWorkflow(request: {
  notification: ExecutionNotification;
  /** The execution's own subscription (`options.notify`), if it has one. */
  subscriptionId: string | null;
}): Promise<{ delivered: number; failed: number }> {
  const { notification } = request;
  const recipients = await lookups.deliveryRecipients({
    tenant: notification.tenant,
    executionId: notification.executionId,
    event: notification.type,
  });
  const outcomes = await Promise.allSettled(
    recipients.map((subscriptionId) => senders.deliverEvent({ subscriptionId, notification })),
  );
  const delivered = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
  return { delivered, failed: outcomes.length - delivered };
}
