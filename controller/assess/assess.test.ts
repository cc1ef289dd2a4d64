import assert from 'node:assert/strict';
import { AssessError, assess, assessLive, parseAnswers, QUESTIONS, type LiveFacts } from './assess';

const LIVE: LiveFacts = {
  agents: 4,
  agentsBound: 4,
  unboundPorts: 0,
  offHostEnforcement: true,
  simulatedDevices: 0,
  defaultDeny: true,
  untrustedAllowRules: 3,
  untrustedAllowRulesWithQuota: 3,
  untrustedAllowRulesWithRate: 0,
  agentsWithExfilGuard: 2,
  sensitiveSources: 1,
  evidenceVerifies: true,
  evidenceRecords: 120,
  devicesWithTls: 1,
  devices: 1,
  policySigned: true,
  auditModeUsed: true,
};

describe('readiness assessment', () => {
  it('accepts letters, digits and JSON, in question order', () => {
    const fromLetters = parseAnswers('c, b, c, a, b, c');
    assert.deepEqual(fromLetters, parseAnswers('2 1 2 0 1 2'));
    assert.deepEqual(
      fromLetters,
      parseAnswers('{"enforcement":"c","posture":1,"volume":2,"sensitive":"a","evidence":"b","change":2}'),
    );
  });

  it('rejects a wrong count, an unknown letter and an unknown question, saying what was expected', () => {
    assert.throws(
      () => parseAnswers('a,b'),
      (e: unknown) => e instanceof AssessError && /expected 6 answers/.test(e.message),
    );
    assert.throws(() => parseAnswers('a,b,c,d,a,b'), /answer 4 \(sensitive\) is "d"; expected a, b or c/);
    assert.throws(() => parseAnswers('{"colour": "a"}'), /unknown question colour/);
  });

  it('scores and recommends only where an answer falls short', () => {
    const result = assess(parseAnswers('c,c,b,a,c,c'));
    assert.equal(result.score, 2 + 2 + 1 + 0 + 2 + 2);
    assert.equal(result.level, 'developing');
    assert.deepEqual(
      result.items.filter((i) => i.recommendation).map((i) => i.id),
      ['volume', 'sensitive'],
    );
    assert.equal(assess(parseAnswers('c,c,c,c,c,c')).level, 'ready');
    assert.equal(assess(parseAnswers('a,a,a,a,a,b')).level, 'ad hoc');
  });

  it('every question offers three choices scored 0, 1, 2 with advice on the first two', () => {
    for (const q of QUESTIONS) {
      assert.deepEqual(
        q.choices.map((c) => c.score),
        [0, 1, 2],
      );
      assert.ok(q.choices[0].recommendation && q.choices[1].recommendation && !q.choices[2].recommendation);
    }
  });

  it('answers from live state and says on what basis', () => {
    const full = assessLive(LIVE);
    assert.equal(full.score, 12);
    const degraded = assessLive({
      ...LIVE,
      offHostEnforcement: false,
      simulatedDevices: 1,
      untrustedAllowRulesWithQuota: 1,
      untrustedAllowRulesWithRate: 1,
      evidenceVerifies: false,
    });
    const byId = Object.fromEntries(degraded.items.map((i) => [i.id, i]));
    assert.equal(byId.enforcement.score, 1);
    assert.match(byId.enforcement.basis!, /1 device\(s\) are simulations/);
    assert.equal(byId.volume.score, 1);
    assert.match(byId.volume.basis!, /1\/3 allow rules to untrusted destinations carry a quota/);
    assert.equal(byId.evidence.score, 1);
    assert.match(byId.evidence.basis!, /FAILS verification/);
    assert.equal(assessLive({ ...LIVE, evidenceVerifies: undefined }).items[4].score, 0);
  });
});
