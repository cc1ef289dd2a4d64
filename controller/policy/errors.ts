// Diagnostics of policy loading. Each carries a stable code that callers and tests may switch on,
// the place in the source, the field (a dotted path into the document) and what was expected.

export const PolicyErrorCode = {
  FILE_READ: 'FILE_READ',
  NO_POLICY_FILES: 'NO_POLICY_FILES',
  YAML_SYNTAX: 'YAML_SYNTAX',
  SCHEMA_REQUIRED: 'SCHEMA_REQUIRED',
  SCHEMA_UNKNOWN_FIELD: 'SCHEMA_UNKNOWN_FIELD',
  SCHEMA_TYPE: 'SCHEMA_TYPE',
  SCHEMA_VALUE: 'SCHEMA_VALUE',
  DUPLICATE_NAME: 'DUPLICATE_NAME',
  DUPLICATE_PORT: 'DUPLICATE_PORT',
  DUPLICATE_SOURCE: 'DUPLICATE_SOURCE',
  RESERVED_PORT: 'RESERVED_PORT',
  UPLINK_MISSING: 'UPLINK_MISSING',
  UPLINK_DUPLICATE: 'UPLINK_DUPLICATE',
  UNKNOWN_REFERENCE: 'UNKNOWN_REFERENCE',
  BAD_ADDRESS: 'BAD_ADDRESS',
  BAD_EXCEPT: 'BAD_EXCEPT',
  BAD_PORT_RANGE: 'BAD_PORT_RANGE',
  BAD_QUANTITY: 'BAD_QUANTITY',
  LIMIT_ON_DENY: 'LIMIT_ON_DENY',
  FQDN_ON_DENY: 'FQDN_ON_DENY',
  QUOTA_CONFLICT: 'QUOTA_CONFLICT',
  NO_SOURCE_ADDRESS: 'NO_SOURCE_ADDRESS',
  RULE_WITHOUT_AGENTS: 'RULE_WITHOUT_AGENTS',
  SHADOWED_RULE: 'SHADOWED_RULE',
} as const;
export type PolicyErrorCodeName = keyof typeof PolicyErrorCode;

export type Severity = 'error' | 'warning';

export interface RelatedLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly note: string;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly code: PolicyErrorCodeName,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    /** Dotted path of the field, e.g. `egress[2].toPorts[0].ports[1].port`; '' for the document. */
    readonly path: string,
    /** What is wrong, in the words of the policy author (also `message`). */
    detail: string,
    /** What would have been accepted. */
    readonly expected: string,
    readonly severity: Severity = 'error',
    readonly related: readonly RelatedLocation[] = [],
  ) {
    super(detail);
  }

  /** One line: `file:line:column: severity[CODE] field: message (expected ...)`. */
  format(): string {
    const field = this.path ? `${this.path}: ` : '';
    const expected = this.expected ? ` (expected ${this.expected})` : '';
    const related = this.related.map((r) => `; ${r.note} at ${r.file}:${r.line}:${r.column}`).join('');
    return `${this.file}:${this.line}:${this.column}: ${this.severity}[${this.code}] ${field}${this.message}${expected}${related}`;
  }
}

export function formatDiagnostics(diagnostics: readonly PolicyError[]): string {
  return diagnostics.map((d) => d.format()).join('\n');
}
