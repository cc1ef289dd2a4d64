// docs/policy.md is generated from the schema's titles and descriptions, so that the reference and
// the validator cannot disagree: a test regenerates the page and fails when the committed copy is
// stale (NICGUARD_UPDATE_DOCS=1 rewrites it).
import { policySchema } from './schema';

interface SchemaNode {
  description?: string;
  type?: string | string[];
  $ref?: string;
  items?: SchemaNode;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  examples?: unknown[];
  required?: string[];
  properties?: Record<string, SchemaNode>;
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

const root = policySchema as unknown as SchemaNode & {
  definitions: Record<string, SchemaNode>;
  title: string;
};

const refName = (ref: string): string => ref.replace('#/definitions/', '');

function typeOf(node: SchemaNode): string {
  if (node.$ref) {
    const name = refName(node.$ref);
    return `[${name}](#${name.toLowerCase()})`;
  }
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (node.type === 'array' && node.items) return `list of ${typeOf(node.items)}`;
  const types = Array.isArray(node.type) ? node.type : node.type ? [node.type] : [];
  const text = types.join(' or ') || 'any';
  const range =
    node.minimum !== undefined && node.maximum !== undefined ? ` ${node.minimum}-${node.maximum}` : '';
  return `${text}${range}`;
}

function resolve(node: SchemaNode): SchemaNode {
  return node.$ref ? root.definitions[refName(node.$ref)] : node;
}

function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
}

function fieldTable(node: SchemaNode): string[] {
  const lines = ['| Field | Type | Required | Default | Meaning |', '| --- | --- | --- | --- | --- |'];
  for (const [name, prop] of Object.entries(node.properties ?? {})) {
    const target = resolve(prop);
    const description = prop.description ?? target.description;
    const fallback = prop.default ?? target.default;
    const example = prop.examples ?? target.examples;
    const eg =
      example && example.length > 0 ? ` E.g. ${example.map((e) => `\`${String(e)}\``).join(', ')}.` : '';
    lines.push(
      `| \`${name}\` | ${typeOf(prop)} | ${node.required?.includes(name) ? 'yes' : 'no'} | ${fallback !== undefined ? `\`${String(fallback)}\`` : ''} | ${oneLine(description)}${eg} |`,
    );
  }
  return lines;
}

/** The reference page. `example` is the text of an example policy file to show in full. */
export function renderPolicyDoc(example: { file: string; text: string }): string {
  const out: string[] = [
    '<!-- Generated from schema/policy.schema.json by controller/policy/docgen.ts; edit the schema, not this file. -->',
    '',
    '# Policy reference',
    '',
    oneLine(root.description),
    '',
    'Editors that understand JSON Schema can validate and complete policy files against',
    '`schema/policy.schema.json` (for the YAML language server: a first line',
    '`# yaml-language-server: $schema=<path to>/schema/policy.schema.json`).',
    '',
    '## How a policy is evaluated',
    '',
    '- The port a frame enters on names the agent; a frame from a port that is neither an agent port nor the uplink is dropped.',
    "- The frame's source MAC and source IP must be the agent's own (`mac`, `ipv4`, `ipv6`); anything else is dropped as spoofed, in audit mode too. ARP from the agent's MAC passes.",
    '- The rules that apply to the agent (through `agents` or `groups`) are tried in written order; the first that matches the destination address, protocol and destination port decides. Nothing matching means deny.',
    "- An allowed packet may still be dropped by the rule's `rate`, by its quota, or by the exfiltration guard when the rule is not `trusted` and the agent has received more than its threshold from sensitive sources.",
    '- In `audit` mode (agent or rule), a packet the policy would drop is forwarded, and counted and reported as a would-be drop.',
    '- A rule is reported (as a warning) when an earlier rule applies to all its agents and matches everything it matches.',
    '',
    `## Example (\`${example.file}\`)`,
    '',
    '```yaml',
    example.text.trimEnd(),
    '```',
    '',
    '## Top level',
    '',
    ...fieldTable(root),
    '',
  ];
  const definitions = Object.entries(root.definitions).sort(([a], [b]) => a.localeCompare(b));
  for (const [name, node] of definitions) {
    out.push(`## ${name}`, '', oneLine(node.description), '');
    if (node.properties) out.push(...fieldTable(node), '');
    else {
      out.push(`Type: ${typeOf(node)}.`);
      if (node.default !== undefined) out.push(`Default: \`${String(node.default)}\`.`);
      if (node.examples) out.push(`Examples: ${node.examples.map((e) => `\`${String(e)}\``).join(', ')}.`);
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** Every property name and definition name the schema declares, for the drift check. */
export function schemaVocabulary(): string[] {
  const names = new Set<string>(Object.keys(root.properties ?? {}));
  for (const [name, node] of Object.entries(root.definitions)) {
    names.add(name);
    for (const prop of Object.keys(node.properties ?? {})) names.add(prop);
  }
  return [...names].sort();
}
