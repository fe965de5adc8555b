import { ApplicationFailure, Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { signDelivery } from '../api/hook-signature';
import type { SubscriptionEvent, SubscriptionStore } from '../db/subscriptions';
import type { ExecutionNotification } from '../domain/types';
import { PrivateAddressError, postJson } from '../webhooks/post';

export interface DeliveryDeps {
  subscriptions: SubscriptionStore;
  /** WEBHOOK_ALLOW_PRIVATE: receivers on loopback and private networks are allowed. */
  allowPrivate: boolean;
  /** How long a receiver may take to answer. */
  timeoutMs?: number;
}

const RECEIVER_TIMEOUT_MS = 10_000;

/** The id every attempt of one event to one subscription carries: receivers de-duplicate by it. */
export const deliveryIdOf = (notificationId: string, subscriptionId: string) =>
  `dlv_${createHash('sha256').update(`${notificationId}\n${subscriptionId}`).digest('hex').slice(0, 32)}`;

/** Activities of outgoing webhooks: who gets an event, and one signed attempt to send it. */
export function createDeliveryActivities(deps: DeliveryDeps) {
  return {
    async deliveryRecipients(request: {
      tenant: string;
      executionId: string;
      event: ExecutionNotification['type'];
    }): Promise<string[]> {
      return deps.subscriptions.recipients(request.tenant, request.executionId, request.event as SubscriptionEvent);
    },

    /**
     * Sends the event, signed like inbound hooks (`X-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
     * "t.body">`), and logs the attempt. A non-2xx answer or a network error fails the attempt, for
     * Temporal to retry; an unsubscribed receiver gets nothing.
     */
    async deliverEvent(request: {
      subscriptionId: string;
      notification: ExecutionNotification;
    }): Promise<'delivered' | 'unsubscribed'> {
      const { subscriptionId, notification } = request;
      const subscription = await deps.subscriptions.forDelivery(subscriptionId);
      if (subscription === null) return 'unsubscribed';
      const deliveryId = deliveryIdOf(notification.id, subscriptionId);
      const body = JSON.stringify({
        deliveryId,
        eventId: notification.id,
        event: notification.type,
        executionId: notification.executionId,
        tenant: notification.tenant,
        occurredAt: notification.occurredAt,
        data: notification.data,
      });
      const timestamp = Math.floor(Date.now() / 1000);
      const started = Date.now();
      const attempt = Context.current().info.attempt;
      const log = (
        outcome: 'delivered' | 'failed',
        answer: { status: number; body: string } | null,
        error: string | null,
      ) =>
        deps.subscriptions.recordAttempt(subscriptionId, {
          deliveryId,
          event: notification.type,
          executionId: notification.executionId,
          attempt,
          outcome,
          responseStatus: answer?.status ?? null,
          responseBody: answer?.body ?? null,
          error,
          durationMs: Date.now() - started,
        });
      let answer: { status: number; body: string };
      try {
        answer = await postJson(
          subscription.url,
          body,
          {
            'x-signature': `t=${timestamp},v1=${signDelivery(subscription.secret, timestamp, body)}`,
            'x-delivery-id': deliveryId,
            'x-event': notification.type,
            'user-agent': 'agent-executions-webhooks',
          },
          {
            allowPrivate: deps.allowPrivate,
            timeoutMs: deps.timeoutMs ?? RECEIVER_TIMEOUT_MS,
            signal: Context.current().cancellationSignal,
          },
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await log('failed', null, message);
        if (error instanceof PrivateAddressError) throw ApplicationFailure.nonRetryable(message, 'PRIVATE_ADDRESS');
        throw ApplicationFailure.retryable(`the receiver could not be reached: ${message}`, 'DELIVERY_FAILED');
      }
      if (answer.status >= 200 && answer.status < 300) {
        await log('delivered', answer, null);
        return 'delivered';
      }
      await log('failed', answer, `the receiver answered ${answer.status}`);
      throw ApplicationFailure.retryable(`the receiver answered ${answer.status}`, 'DELIVERY_FAILED');
    },
  };
}
