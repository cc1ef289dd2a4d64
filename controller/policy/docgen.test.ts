import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { renderPolicyDoc, schemaVocabulary } from './docgen';

const REPO = path.resolve(__dirname, '..', '..', '..');
const DOC = path.join(REPO, 'docs', 'policy.md');
const EXAMPLE = 'examples/support-agent.policy.yaml';

describe('docs/policy.md', () => {
  const generated = renderPolicyDoc({
    file: EXAMPLE,
    text: fs.readFileSync(path.join(REPO, EXAMPLE), 'utf8'),
  });

  it('is what the schema generates (NICGUARD_UPDATE_DOCS=1 rewrites it)', () => {
    if (process.env.NICGUARD_UPDATE_DOCS === '1') fs.writeFileSync(DOC, generated);
    assert.equal(fs.readFileSync(DOC, 'utf8'), generated, 'docs/policy.md is stale: regenerate it');
  });

  it('documents every field and definition of the schema', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const missing = schemaVocabulary().filter(
      (name) => !doc.includes(`\`${name}\``) && !doc.includes(`## ${name}`),
    );
    assert.deepEqual(missing, []);
  });
});
