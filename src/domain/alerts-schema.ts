import { z } from 'zod';
import { ALERT_METRICS, ALERT_OPERATORS } from './alerts';

/**
 * One alert condition: POST /executions/:id/alerts, `options.alerts`, a task's options and a
 * tenant's defaults. `duration` is in milliseconds: how long the condition must hold before it fires.
 */
export const alertConditionSchema = z
  .object({
    metric: z.enum(ALERT_METRICS),
    operator: z.enum(ALERT_OPERATORS),
    threshold: z.number().finite(),
    duration: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600 * 1000)
      .optional(),
  })
  .strict();

export type AlertConditionBody = z.infer<typeof alertConditionSchema>;
