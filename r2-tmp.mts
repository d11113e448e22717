import { benchSetup } from './bench/setup';
import { redact } from './src/alerts/redact';
const setup = benchSetup(100_000);
for (const g of ['/sentinel-demo/identity/audit', 'org-audit/management-events', '/sentinel-demo/bastion/sshd', '/sentinel-demo/web/nginx']) {
const lines = setup.payloads.filter((p) => p.logGroup === g).flatMap((p) => p.logEvents.map((e) => e.message));
let r='';for (let k = 0; k < 3; k++) { const t = performance.now(); for (const l of lines) redact(l); r=((performance.now() - t) * 1000 / lines.length).toFixed(2); }
console.log(g, 'µs/line', r);
}
