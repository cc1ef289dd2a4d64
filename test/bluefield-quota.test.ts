import * as assert from 'assert';
import { measureQuotaOvershoot } from '../controller/telemetry/quota-bench';

describe('bluefield-dpl: controller-enforced quota through the DPL-mode softnic', function () {
  this.timeout(120_000);

  it('cuts the quota from counters with the overshoot bounded by meter rate × poll interval + one burst', async () => {
    const run = await measureQuotaOvershoot({ pollSeconds: 1, rateFactor: 2 });
    assert.ok(run.cutAfterSeconds !== undefined, 'the enforcer withdrew the rule');
    assert.ok(run.forwardedBytes >= run.budgetBytes, `the whole budget was usable (${run.forwardedBytes} B)`);
    assert.ok(
      run.overshootBytes <= run.boundBytes,
      `overshoot ${run.overshootBytes} B exceeds the bound ${run.boundBytes} B`,
    );
    const on = run.records.find((r) => r.kind === 'device_event' && r.event === 'quota_enforcement_on');
    assert.ok(on && on.kind === 'device_event');
    assert.strictEqual(on.detail.denyInstalled, true);
    assert.ok(on.detail.bytes >= BigInt(run.budgetBytes));
  });
});
