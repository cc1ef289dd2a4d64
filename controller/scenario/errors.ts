// Problems found in a scenario file, each with a stable code, the place in the source, the field (a
// dotted path into the document) and what would have been accepted, so that a tester can fix the
// file without reading the parser.

export const ScenarioErrorCode = {
  FILE_READ: 'FILE_READ',
  YAML_SYNTAX: 'YAML_SYNTAX',
  REQUIRED: 'REQUIRED',
  UNKNOWN_FIELD: 'UNKNOWN_FIELD',
  TYPE: 'TYPE',
  VALUE: 'VALUE',
  STEP_KIND: 'STEP_KIND',
  UNKNOWN_REFERENCE: 'UNKNOWN_REFERENCE',
  POLICY: 'POLICY',
} as const;
export type ScenarioErrorCodeName = keyof typeof ScenarioErrorCode;

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    readonly code: ScenarioErrorCodeName,
    readonly file: string,
    /** 1-based. */
    readonly line: number,
    /** 1-based. */
    readonly column: number,
    /** Dotted path of the field, e.g. `steps[2].send.bytes`; '' for the whole document. */
    readonly field: string,
    detail: string,
    /** What would have been accepted; '' when nothing more can be said. */
    readonly expected: string,
  ) {
    super(detail);
  }

  /** One line: `file:line:column: error[CODE] field: message (expected ...)`. */
  format(): string {
    const field = this.field ? `${this.field}: ` : '';
    const expected = this.expected ? ` (expected ${this.expected})` : '';
    return `${this.file}:${this.line}:${this.column}: error[${this.code}] ${field}${this.message}${expected}`;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      file: this.file,
      line: this.line,
      column: this.column,
      field: this.field,
      message: this.message,
      expected: this.expected,
    };
  }
}

/** Thrown when scenario files cannot be run as written; carries every problem found. */
export class ScenarioInputError extends Error {
  override readonly name = 'ScenarioInputError';
  readonly code = 'SCENARIO_INVALID';
  constructor(readonly errors: readonly ScenarioError[]) {
    super(`${errors.length} problem(s) in scenario files:\n${errors.map((e) => e.format()).join('\n')}`);
  }
}
