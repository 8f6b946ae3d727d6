/**
 * What the clients saw, checked against what the log holds: nothing acknowledged lost, nothing
 * doubled, no order captured beyond its total.
 */
import type { EventStore } from '../../src/eventstore/port.ts';
import { KEY_BOUND_TYPE } from '../../src/events/binding-codec.ts';
import { decodeEvent } from '../../src/events/codec.ts';
import type { ClientRecord } from './payment-client.ts';

export interface RunSummary {
  sent: number;
  acknowledged: number;
  retried: number;
  lost: number;
  duplicated: number;
  over_captured: number;
  unresolved: number;
  unexpected: number;
  /** Regenerated retries refused as a reused key (422), and answered otherwise than 422 or the original. */
  key_reused: number;
  regenerated_wrong: number;
  kills: number;
  events: number;
}

export async function checkLedger(store: EventStore, clients: readonly ClientRecord[], kills: number): Promise<RunSummary> {
  const byKey = new Map<string, number>();
  const byPayment = new Map<string, number>();
  const orders = new Map<string, { total: number; captured: number }>();
  let events = 0;
  for await (const record of store.readAll()) {
    if (record.type === KEY_BOUND_TYPE) continue;
    const { event, metadata } = decodeEvent(record);
    events += 1;
    if (metadata.idempotencyKey !== undefined) {
      // Keys are random UUIDs, unique across clients, so the key alone names one command.
      byKey.set(metadata.idempotencyKey, (byKey.get(metadata.idempotencyKey) ?? 0) + 1);
    }
    if (event.type === 'OrderCreated') {
      orders.set(event.data.orderId, { total: event.data.total, captured: 0 });
    } else if (event.type === 'PaymentCaptured') {
      const payment = `${event.data.orderId}|${event.data.paymentId}`;
      byPayment.set(payment, (byPayment.get(payment) ?? 0) + 1);
      const order = orders.get(event.data.orderId);
      if (order) order.captured += event.data.amount;
    }
  }

  const commands = clients.flatMap((c) => c.commands);
  const acknowledged = commands.filter((c) => c.status === 201);
  const lost = acknowledged.filter((c) => (byKey.get(c.key) ?? 0) === 0).length;
  const duplicated =
    [...byKey.values()].filter((n) => n > 1).length + [...byPayment.values()].filter((n) => n > 1).length;
  return {
    sent: commands.length,
    acknowledged: acknowledged.length,
    retried: clients.reduce((n, c) => n + c.retries, 0),
    lost,
    duplicated,
    over_captured: [...orders.values()].filter((o) => o.captured > o.total).length,
    unresolved: commands.filter((c) => c.status === undefined).length,
    // A buggy client's command may end in 422: its key was bound to an earlier attempt's body.
    unexpected: commands.filter((c) => c.status !== undefined && c.status !== 201 && !(c.buggy && c.status === 422)).length,
    key_reused: clients.reduce((n, c) => n + c.keyReused, 0),
    regenerated_wrong: clients.reduce((n, c) => n + c.regeneratedWrong, 0),
    kills,
    events,
  };
}

export function summaryLine(scenario: string, summary: RunSummary): string {
  const fields = Object.entries(summary).map(([k, v]) => `${k}=${v}`);
  return `reliability scenario=${scenario} ${fields.join(' ')}`;
}
