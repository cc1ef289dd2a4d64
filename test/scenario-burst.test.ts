// Report-mode probes in bursts against a softnic reached over P4Runtime, as `--target
// softnic-remote` reaches one: many PacketOuts in flight must still give every frame its own
// verdict, in order, audit mode included: the PacketIn says which frames were audited.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyCompiled } from '../controller/device/device';
import { PROFILES } from '../controller/pipeline/profiles';
import { prepareScenario, type PreparedScenario } from '../controller/scenario/prepare';
import { connectProbeDevice, type ScenarioDevice } from '../controller/scenario/runner';
import { type InjectResult, type ProbeFrame } from '../controller/scenario/target';
import { scenarioFlowPackets } from '../controller/scenario/traffic';
import { SoftnicDataplane } from '../controller/softnic/dataplane';
import { Softnic } from '../controller/softnic/server';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const GATEWAY = '02:00:00:00:00:fe';

interface Remote {
  readonly device: ScenarioDevice;
  close(): Promise<void>;
}

/** A softnic in its own server, reached only through P4Runtime, its meters on real time. */
async function remoteSoftnic(prepared: PreparedScenario, probeWindow: number): Promise<Remote> {
  const nic = await Softnic.start({ address: '127.0.0.1:0', deviceId: 1n });
  const dataplane = SoftnicDataplane.attachTo(nic, {});
  const device = await connectProbeDevice(
    {
      name: 'remote-softnic',
      address: `127.0.0.1:${nic.port}`,
      deviceId: 1n,
      electionId: 1n,
      profile: 'softnic',
      insecure: true,
    },
    5_000,
    probeWindow,
  );
  const { result } = await applyCompiled(device.client, prepared.compiled);
  assert.ok(result.ok, result.error?.message);
  return {
    device,
    close: async () => {
      await device.close();
      dataplane.detach();
      await nic.stop();
    },
  };
}

function prepare(dir: string, policy: string): PreparedScenario {
  const file = path.join(dir, `${policy}.scenario.yaml`);
  fs.writeFileSync(
    file,
    [`policy: ${path.join(EXAMPLES, `${policy}.policy.yaml`)}`, 'steps:', '  - advance: 1s', ''].join('\n'),
  );
  const r = prepareScenario(file, PROFILES.softnic);
  assert.ok(r.ok, r.ok ? '' : r.errors.map((e) => e.format()).join('\n'));
  return r.prepared;
}

interface FrameKind {
  readonly port: number;
  readonly mac: string;
  readonly ip: string;
  readonly to: string;
  readonly protocol: 'tcp' | 'udp';
  readonly dport: number;
}

/** The frames the agent sends in a flow of `bytes` to one kind of destination. */
function frames(kind: FrameKind, bytes: number): ProbeFrame[] {
  const packets = scenarioFlowPackets({
    agent: { switchPort: kind.port, mac: kind.mac, ip: kind.ip },
    host: { ip: kind.to, l4Port: kind.dport },
    gatewayMac: GATEWAY,
    uplinkPort: 0,
    protocol: kind.protocol,
    sendBytes: bytes,
    mtu: 1500,
  });
  return [...packets]
    .filter((p) => p.direction === 'send')
    .map((p) => ({ port: p.ingressPort, frame: p.frame }));
}

/** Round-robin over the lists, so that neighbouring frames get different verdicts. */
function interleave(lists: ProbeFrame[][]): ProbeFrame[] {
  const out: ProbeFrame[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++)
    for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

const brief = (r: InjectResult) =>
  `${r.forwarded ? 'fwd' : 'drop'} ${r.reason} rule ${r.ruleId} audit ${r.audited}`;

describe('report-mode probes in bursts, softnic over P4Runtime', function () {
  this.timeout(60_000);
  let dir: string;
  const open: Remote[] = [];
  const start = async (prepared: PreparedScenario, window: number) => {
    const r = await remoteSoftnic(prepared, window);
    open.push(r);
    return r.device;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scenario-burst-'));
  });
  afterEach(async () => {
    for (const r of open.splice(0)) await r.close();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gives every frame of a burst the verdict it gets when probed alone, in order', async () => {
    const prepared = prepare(dir, 'support-agent');
    const agent = { port: 1, mac: '02:00:00:00:00:01', ip: '10.0.1.1' };
    const kinds: Record<string, FrameKind> = {
      dns: { ...agent, to: '10.0.0.53', protocol: 'udp', dport: 53 },
      crm: { ...agent, to: '10.20.0.5', protocol: 'tcp', dport: 5432 },
      ssh: { ...agent, to: '198.51.100.9', protocol: 'tcp', dport: 22 },
      spoofed: { ...agent, mac: '02:00:00:00:00:99', to: '10.0.0.53', protocol: 'udp', dport: 53 },
      stranger: { ...agent, port: 7, to: '10.0.0.53', protocol: 'udp', dport: 53 },
    };
    const lists = Object.values(kinds).map((k, i) => frames(k, 1460 * (3 + i) + 100 * (i + 1)));
    const all = interleave(lists);

    const burst = await (await start(prepared, 16)).target.injectMany!(all);
    const single = await start(prepared, 1);
    const alone: InjectResult[] = [];
    for (const f of all) alone.push(await single.target.inject(f.port, f.frame));

    assert.equal(burst.length, all.length);
    assert.deepEqual(burst.map(brief), alone.map(brief));
    assert.deepEqual(
      burst.map((r) => r.packetLength),
      all.map((f) => f.frame.length + 2),
    );
    // The frames' verdicts differ from their neighbours', so an answer matched to the wrong probe
    // would show; these are the ones the policy gives each kind.
    const byKind = new Map<ProbeFrame, string>();
    Object.keys(kinds).forEach((k, i) => lists[i]!.forEach((f) => byKind.set(f, k)));
    const expected: Record<string, string> = {
      dns: 'fwd NONE',
      crm: 'fwd NONE',
      ssh: 'drop NO_MATCH',
      spoofed: 'drop SPOOFED',
      stranger: 'drop UNKNOWN_PORT',
    };
    all.forEach((f, i) => {
      const kind = byKind.get(f)!;
      assert.ok(brief(burst[i]!).startsWith(expected[kind]!), `frame ${i} (${kind}): ${brief(burst[i]!)}`);
    });
  });

  it('marks every audited frame of a burst as audited, with the reason it would have been dropped for', async () => {
    const prepared = prepare(dir, 'audit-agent');
    const agent = { port: 3, mac: '02:00:00:00:00:03', ip: '10.0.3.1' };
    const device = await start(prepared, 16);
    const denied = frames({ ...agent, to: '192.0.2.15', protocol: 'tcp', dport: 443 }, 1460 * 20);
    const results = await device.target.injectMany!(denied);
    assert.equal(results.length, denied.length);
    for (const r of results)
      assert.equal(brief(r).replace(/rule \d+/, 'rule'), 'fwd DENY_RULE rule audit true');
    const web = frames({ ...agent, to: '10.40.2.10', protocol: 'tcp', dport: 443 }, 1460 * 4);
    for (const r of await device.target.injectMany!(web)) assert.equal(brief(r).slice(0, 8), 'fwd NONE');
  });

  it('tells audited frames from allowed ones of the same audit-mode agent within one burst', async () => {
    const prepared = prepare(dir, 'audit-agent');
    const agent = { port: 3, mac: '02:00:00:00:00:03', ip: '10.0.3.1' };
    const lists = [
      frames({ ...agent, to: '192.0.2.15', protocol: 'tcp', dport: 443 }, 1460 * 3),
      frames({ ...agent, to: '10.40.2.10', protocol: 'tcp', dport: 443 }, 1460 * 3),
    ];
    const mixed = interleave(lists);
    const results = await (await start(prepared, 16)).target.injectMany!(mixed);
    const deniedFrames = new Set(lists[0]);
    assert.equal(results.length, mixed.length);
    mixed.forEach((f, i) => {
      const r = results[i]!;
      assert.equal(r.forwarded, true, `frame ${i}`);
      assert.equal(r.audited, deniedFrames.has(f), `frame ${i}: ${brief(r)}`);
      assert.equal(r.reason, deniedFrames.has(f) ? 'DENY_RULE' : 'NONE', `frame ${i}`);
    });
  });
});
