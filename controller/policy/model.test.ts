import { strict as assert } from 'assert';
import { AgentDef, PolicySet, RuleDef } from './model';
import { ruleAgentIndex, rulesByAgent } from './model';

const agent = (name: string, port: number): AgentDef => ({
  name,
  port,
  mac: `02:00:00:00:00:0${port}`,
  ipv4: [],
  ipv6: [],
  mode: 'enforce',
});
const rule = (name: string, agents: string[], groups: string[]): RuleDef => ({
  name,
  agents,
  groups,
  destinations: [],
  cidrs: [],
  fqdns: [],
  ports: [],
  action: 'allow',
  trusted: false,
  mode: 'enforce',
});

const policy: PolicySet = {
  uplinkPort: 0,
  agents: [agent('a', 1), agent('b', 2), agent('c', 3)],
  groups: [
    { name: 'ab', agents: ['a', 'b'] },
    { name: 'bc', agents: ['c', 'b'] },
  ],
  destinations: [],
  rules: [
    rule('by-name-and-groups', ['b'], ['ab', 'bc']),
    rule('unknown-names', ['nobody'], ['no-group']),
    rule('c-then-a', ['c', 'a'], []),
    rule('group-bc', [], ['bc']),
  ],
  sensitiveSources: [],
};

describe('rulesByAgent and ruleAgentIndex', () => {
  it('lists each rule once per agent it reaches, in rule order, by name or through groups', () => {
    assert.deepEqual(rulesByAgent(policy), [
      [0, 2],
      [0, 3],
      [0, 2, 3],
    ]);
  });

  it('lists the agents of each rule once, ascending, and none for names that match nothing', () => {
    assert.deepEqual(ruleAgentIndex(policy).agentsOfRule, [[0, 1, 2], [], [0, 2], [1, 2]]);
  });
});
