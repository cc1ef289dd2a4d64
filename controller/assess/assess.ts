// The Agent Governance Readiness Assessment: six forced-choice questions about how a deployment
// governs what its AI agents do at run time, scored with concrete recommendations. The same six
// questions can be answered from a live nicguard deployment's state instead of by a person, so
// that what a team believes and what its devices enforce can be compared.

export interface Choice {
  readonly label: string;
  /** 0 (no control) to 2 (the control nicguard is built to give). */
  readonly score: 0 | 1 | 2;
  /** What to do next when this is the answer; absent for the best answer. */
  readonly recommendation?: string;
}

export interface Question {
  readonly id: QuestionId;
  readonly text: string;
  readonly choices: readonly [Choice, Choice, Choice];
}

export type QuestionId = 'enforcement' | 'posture' | 'volume' | 'sensitive' | 'evidence' | 'change';

export const QUESTIONS: readonly Question[] = [
  {
    id: 'enforcement',
    text: "Where is an agent's network egress enforced?",
    choices: [
      {
        label: "Nowhere, or by the agent framework's own instructions",
        score: 0,
        recommendation:
          'Move enforcement out of the agent: an agent that can be prompted can be prompted out of its rules.',
      },
      {
        label: 'On the host the agent runs on (firewall rules, sidecar proxy)',
        score: 1,
        recommendation:
          'Enforce below the host: code that gains root on the host can rewrite host firewalls; a DPU it cannot reach cannot be rewritten.',
      },
      { label: "On a NIC/DPU that the agent's host cannot reconfigure", score: 2 },
    ],
  },
  {
    id: 'posture',
    text: 'What may an agent reach by default?',
    choices: [
      {
        label: 'Everything',
        score: 0,
        recommendation: 'Adopt default deny: list per agent the destinations its task needs.',
      },
      {
        label: 'Everything except a deny list',
        score: 1,
        recommendation: 'Turn the deny list around: a deny list misses every destination nobody thought of.',
      },
      { label: 'Nothing but a per-agent allow list', score: 2 },
    ],
  },
  {
    id: 'volume',
    text: 'How much may an agent send to an allowed destination?',
    choices: [
      {
        label: 'Any amount',
        score: 0,
        recommendation:
          'Bound volume per destination and window (e.g. 50 MiB per hour): an allowed API is an exfiltration channel.',
      },
      {
        label: 'Rate-limited, without a total',
        score: 1,
        recommendation: 'Add byte quotas per window: a rate limit only slows a bulk export down.',
      },
      { label: 'A byte quota per destination and window, enforced in the data path', score: 2 },
    ],
  },
  {
    id: 'sensitive',
    text: 'What changes once an agent has read sensitive data?',
    choices: [
      {
        label: 'Nothing',
        score: 0,
        recommendation:
          'Mark sensitive sources and set an exfiltration threshold: past it, only trusted destinations stay reachable.',
      },
      {
        label: 'An alert is raised',
        score: 1,
        recommendation: 'Block instead of alerting: an alert arrives after the data has left.',
      },
      { label: 'Egress to untrusted destinations is blocked', score: 2 },
    ],
  },
  {
    id: 'evidence',
    text: 'What can you show an auditor about what agents sent?',
    choices: [
      {
        label: 'Application logs, if any',
        score: 0,
        recommendation: 'Record enforcement outcomes from the enforcement point itself, not from the agent.',
      },
      {
        label: 'Central logs (SIEM) of network events',
        score: 1,
        recommendation:
          'Make the log tamper-evident: a Merkle log with signed checkpoints lets a third party verify nothing was removed.',
      },
      {
        label: 'A tamper-evident log tying every byte and block to the policy version that decided it',
        score: 2,
      },
    ],
  },
  {
    id: 'change',
    text: 'How does a policy change reach enforcement?',
    choices: [
      {
        label: 'Edited in place where it runs',
        score: 0,
        recommendation:
          'Keep policy in version control and push it through one tool that shows the plan first.',
      },
      {
        label: 'Reviewed in version control, then pushed',
        score: 1,
        recommendation: 'Sign reviewed policy and try changes in audit mode before enforcing them.',
      },
      { label: 'Reviewed, signed, tried in audit mode, then applied as a minimal diff', score: 2 },
    ],
  },
];

export type Answers = Readonly<Record<QuestionId, 0 | 1 | 2>>;

export interface Assessment {
  readonly score: number;
  readonly maxScore: number;
  readonly level: 'ad hoc' | 'developing' | 'ready';
  readonly items: readonly {
    readonly id: QuestionId;
    readonly question: string;
    readonly answer: string;
    readonly score: number;
    readonly recommendation?: string;
    /** For live answers: what in the deployment's state gave this answer. */
    readonly basis?: string;
  }[];
}

export class AssessError extends Error {
  override readonly name = 'AssessError';
  constructor(
    readonly code: 'BAD_ANSWERS',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses answers given as letters or digits in question order ("c,b,c,a,b,c" or "2,1,2,0,1,2"),
 * or as a JSON object keyed by question id.
 */
export function parseAnswers(text: string): Answers {
  const trimmed = text.trim();
  let values: unknown[];
  if (trimmed.startsWith('{')) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(trimmed) as Record<string, unknown>;
    } catch (err) {
      throw new AssessError('BAD_ANSWERS', `answers are not valid JSON: ${(err as Error).message}`);
    }
    const unknown = Object.keys(parsed).filter((k) => !QUESTIONS.some((q) => q.id === k));
    if (unknown.length > 0) {
      throw new AssessError(
        'BAD_ANSWERS',
        `unknown question ${unknown.join(', ')}; expected ${QUESTIONS.map((q) => q.id).join(', ')}`,
      );
    }
    values = QUESTIONS.map((q) => parsed[q.id]);
  } else {
    values = trimmed.split(/[,\s]+/).filter(Boolean);
  }
  if (values.length !== QUESTIONS.length) {
    throw new AssessError(
      'BAD_ANSWERS',
      `expected ${QUESTIONS.length} answers, one per question, got ${values.length}`,
    );
  }
  const answers = {} as Record<QuestionId, 0 | 1 | 2>;
  QUESTIONS.forEach((q, i) => {
    const choice = choiceIndex(values[i]);
    if (choice === undefined) {
      throw new AssessError(
        'BAD_ANSWERS',
        `answer ${i + 1} (${q.id}) is ${JSON.stringify(values[i])}; expected a, b or c (or 0, 1, 2)`,
      );
    }
    answers[q.id] = choice;
  });
  return answers;
}

function choiceIndex(value: unknown): 0 | 1 | 2 | undefined {
  const text = String(value).trim().toLowerCase();
  const index = ['a', 'b', 'c'].indexOf(text);
  if (index >= 0) return index as 0 | 1 | 2;
  if (text === '0' || text === '1' || text === '2') return Number(text) as 0 | 1 | 2;
  return undefined;
}

export function assess(answers: Answers, basis?: Partial<Record<QuestionId, string>>): Assessment {
  const items = QUESTIONS.map((q) => {
    const choice = q.choices[answers[q.id]];
    return {
      id: q.id,
      question: q.text,
      answer: choice.label,
      score: choice.score,
      ...(choice.recommendation ? { recommendation: choice.recommendation } : {}),
      ...(basis?.[q.id] ? { basis: basis[q.id] } : {}),
    };
  });
  const score = items.reduce((sum, item) => sum + item.score, 0);
  const maxScore = QUESTIONS.length * 2;
  const level = score >= 11 ? 'ready' : score >= 6 ? 'developing' : 'ad hoc';
  return { score, maxScore, level, items };
}

/** What a live deployment shows about itself; each field is read from policy, devices or evidence. */
export interface LiveFacts {
  /** Agents in the policy / agents whose port has a port_map entry on every device. */
  readonly agents: number;
  readonly agentsBound: number;
  /** Ports that carry traffic on a device but belong to no agent of the policy. */
  readonly unboundPorts: number;
  /** Every device's profile is a DPU the hosts cannot reach (not a simulation or host target). */
  readonly offHostEnforcement: boolean;
  readonly simulatedDevices: number;
  readonly defaultDeny: boolean;
  /** Allowed rules to untrusted destinations, and how many of those carry a byte quota. */
  readonly untrustedAllowRules: number;
  readonly untrustedAllowRulesWithQuota: number;
  readonly untrustedAllowRulesWithRate: number;
  readonly agentsWithExfilGuard: number;
  readonly sensitiveSources: number;
  /** Evidence log verification result; undefined when there is no log yet. */
  readonly evidenceVerifies?: boolean;
  readonly evidenceRecords: number;
  readonly devicesWithTls: number;
  readonly devices: number;
  readonly policySigned: boolean;
  readonly auditModeUsed: boolean;
}

/** Answers the six questions from live facts, saying for each what it was based on. */
export function assessLive(facts: LiveFacts): Assessment {
  const basis: Partial<Record<QuestionId, string>> = {};
  const tls = `${facts.devicesWithTls}/${facts.devices} device connections use TLS`;
  const enforcement: 0 | 1 | 2 =
    facts.agentsBound === 0 ? 0 : facts.offHostEnforcement && facts.agentsBound === facts.agents ? 2 : 1;
  basis.enforcement =
    `${facts.agentsBound}/${facts.agents} agents bound to a device port; ` +
    (facts.offHostEnforcement
      ? 'all devices are DPUs'
      : `${facts.simulatedDevices} device(s) are simulations`) +
    `; ${tls}`;
  const posture: 0 | 1 | 2 = !facts.defaultDeny ? 0 : facts.unboundPorts > 0 ? 1 : 2;
  basis.posture = `default deny ${facts.defaultDeny ? 'on' : 'off'}; ${facts.unboundPorts} unbound port(s) carrying traffic`;
  const volume: 0 | 1 | 2 =
    facts.untrustedAllowRules === 0 || facts.untrustedAllowRulesWithQuota === facts.untrustedAllowRules
      ? 2
      : facts.untrustedAllowRulesWithQuota + facts.untrustedAllowRulesWithRate > 0
        ? 1
        : 0;
  basis.volume = `${facts.untrustedAllowRulesWithQuota}/${facts.untrustedAllowRules} allow rules to untrusted destinations carry a quota`;
  const sensitive: 0 | 1 | 2 = facts.sensitiveSources === 0 || facts.agentsWithExfilGuard === 0 ? 0 : 2;
  basis.sensitive = `${facts.sensitiveSources} sensitive source(s); ${facts.agentsWithExfilGuard}/${facts.agents} agents with an exfiltration threshold`;
  const evidence: 0 | 1 | 2 =
    facts.evidenceVerifies === undefined || facts.evidenceRecords === 0 ? 0 : facts.evidenceVerifies ? 2 : 1;
  basis.evidence =
    facts.evidenceVerifies === undefined
      ? 'no evidence log found'
      : `evidence log of ${facts.evidenceRecords} records ${facts.evidenceVerifies ? 'verifies' : 'FAILS verification'}`;
  const change: 0 | 1 | 2 = facts.policySigned ? 2 : 1;
  basis.change = `policy ${facts.policySigned ? 'is' : 'is not'} signed; changes go through plan/apply${facts.auditModeUsed ? '; audit mode in use' : ''}`;
  return assess({ enforcement, posture, volume, sensitive, evidence, change }, basis);
}
