/**
 * What the clients saw, checked against what the log holds: nothing acknowledged lost, nothing
 * doubled (a capture, an authorization, a void, a refund or a cancellation recorded twice), no
 * order captured beyond its total, no payment refunded beyond what it captured.
 */
import * as assert from 'uvu/assert';
import type { OrderEvent } from '../../src/domain/events.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { KEY_BOUND_TYPE } from '../../src/events/binding-codec.ts';
import { decodeEvent } from '../../src/events/codec.ts';
import type { ClientRecord } from './payment-client.ts';

export interface RunSummary {
  sent: number;
  acknowledged: number;
  /** How many command types (create, capture, authorize, …) were acknowledged at least once. */
  kinds_acknowledged: number;
  retried: number;
  lost: number;
  duplicated: number;
  over_captured: number;
  over_refunded: number;
  unresolved: number;
  unexpected: number;
  /** Regenerated retries refused as a reused key (422), and answered otherwise than 422 or the original. */
  key_reused: number;
  regenerated_wrong: number;
  kills: number;
  events: number;
}

export async function checkLedger(
  store: EventStore,
  clients: readonly ClientRecord[],
  kills: number,
): Promise<RunSummary> {
  const keysWritten = new Set<string>();
  /** Each effect by what names it: a key's decision may write several events, never one of them twice. */
  const effects = new Map<string, number>();
  const orders = new Map<string, { total: number; captured: number }>();
  const payments = new Map<string, { captured: number; refunded: number }>();
  let events = 0;
  const count = (map: Map<string, number>, name: string) => map.set(name, (map.get(name) ?? 0) + 1);
  for await (const record of store.readAll()) {
    if (record.type === KEY_BOUND_TYPE) continue;
    const { event, metadata } = decodeEvent(record);
    events += 1;
    if (metadata.idempotencyKey !== undefined) {
      // Keys are random UUIDs, unique across clients, so the key (and what it did) names one command.
      keysWritten.add(metadata.idempotencyKey);
      count(effects, `${metadata.idempotencyKey}|${effectName(event)}`);
    }
    if (event.type === 'OrderCreated') {
      orders.set(event.data.orderId, { total: event.data.total, captured: 0 });
      continue;
    }
    count(effects, `${event.data.orderId}|${effectName(event)}`);
    const payment = `${event.data.orderId}|${'paymentId' in event.data ? event.data.paymentId : ''}`;
    if (event.type === 'PaymentCaptured') {
      const order = orders.get(event.data.orderId);
      if (order) order.captured += event.data.amount;
      const p = payments.get(payment) ?? { captured: 0, refunded: 0 };
      payments.set(payment, { ...p, captured: p.captured + event.data.amount });
    } else if (event.type === 'PaymentRefunded') {
      const p = payments.get(payment) ?? { captured: 0, refunded: 0 };
      payments.set(payment, { ...p, refunded: p.refunded + event.data.amount });
    }
  }

  const commands = clients.flatMap((c) => c.commands);
  const acknowledged = commands.filter((c) => c.status !== undefined && c.status >= 200 && c.status < 300);
  const lost = acknowledged.filter((c) => !keysWritten.has(c.key)).length;
  const duplicated = [...effects.values()].filter((n) => n > 1).length;
  return {
    sent: commands.length,
    acknowledged: acknowledged.length,
    kinds_acknowledged: new Set(acknowledged.map((c) => c.kind)).size,
    retried: clients.reduce((n, c) => n + c.retries, 0),
    lost,
    duplicated,
    over_captured: [...orders.values()].filter((o) => o.captured > o.total).length,
    over_refunded: [...payments.values()].filter((p) => p.refunded > p.captured).length,
    unresolved: commands.filter((c) => c.status === undefined).length,
    // A buggy client's command may end in 422: its key was bound to an earlier attempt's body.
    unexpected: commands.filter(
      (c) => c.status !== undefined && !acknowledged.includes(c) && !(c.buggy && c.status === 422),
    ).length,
    key_reused: clients.reduce((n, c) => n + c.keyReused, 0),
    regenerated_wrong: clients.reduce((n, c) => n + c.regeneratedWrong, 0),
    kills,
    events,
  };
}

/** What every scenario must show: each acknowledged command in the log once, no money beyond its bounds. */
export function assertExactlyOnce(summary: RunSummary): void {
  assert.is(summary.lost, 0, 'an acknowledged command is missing from the log');
  assert.is(summary.duplicated, 0, 'a command took effect twice');
  assert.is(summary.over_captured, 0, 'an order was captured beyond its total');
  assert.is(summary.over_refunded, 0, 'a payment was refunded beyond what it captured');
  assert.is(summary.unresolved, 0, 'a client gave up without a definite answer');
  assert.is(summary.unexpected, 0, 'a client got a definite answer other than a 2xx');
  assert.ok(summary.acknowledged > 0, 'the run acknowledged nothing, so it proved nothing');
}

export function summaryLine(scenario: string, summary: RunSummary): string {
  const fields = Object.entries(summary).map(([k, v]) => `${k}=${v}`);
  return `reliability scenario=${scenario} ${fields.join(' ')}`;
}

/** What one event did, by the ids that make it one effect: the same name twice is a duplicate. */
function effectName(event: OrderEvent): string {
  switch (event.type) {
    case 'OrderCreated':
    case 'OrderCancelled':
      return event.type;
    case 'PaymentRefunded':
      return `${event.type}|${event.data.paymentId}|${event.data.refundId}`;
    default:
      return `${event.type}|${event.data.paymentId}`;
  }
}
