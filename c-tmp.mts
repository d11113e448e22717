import { benchSetup, warmHotPath } from './bench/setup';
const setup = benchSetup(100_000);
const hp = warmHotPath(setup.normalizer, setup.rules(100));
const byGroup = new Map<string, { messages: number; alerts: number; detections: number; matched: number }>();
let i = 0;
await hp.pass(setup.lambdaEvents, (r) => {
  const g = setup.payloads[i++]?.logGroup ?? '?';
  const row = byGroup.get(g) ?? { messages: 0, alerts: 0, detections: 0, matched: 0 };
  row.messages += r.messages.length; row.alerts += r.alerts.length; row.detections += r.detections; row.matched += r.matchedEvents;
  byGroup.set(g, row);
});
console.table(Object.fromEntries(byGroup));
