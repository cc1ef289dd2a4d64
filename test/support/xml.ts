// A strict reader for the subset of XML 1.0 that report writers emit (declaration, elements,
// attributes, text, the five predefined entities and numeric references), so that tests can check
// generated XML is well-formed and read it back. Not a general parser: no DTDs, CDATA, comments or
// processing instructions besides the declaration.

export interface XmlElement {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly children: XmlElement[];
  /** Concatenated text content directly inside the element, entities decoded. */
  text: string;
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string, where: number): string {
  return text.replace(/&([^;]*);|&/g, (whole, body: string | undefined) => {
    if (body === undefined) throw new Error(`bare & (not an entity) near offset ${where}`);
    if (body in ENTITIES) return ENTITIES[body];
    const num = /^#(x[0-9A-Fa-f]+|[0-9]+)$/.exec(body);
    if (num) return String.fromCodePoint(num[1][0] === 'x' ? parseInt(num[1].slice(1), 16) : Number(num[1]));
    throw new Error(`unknown entity ${whole} near offset ${where}`);
  });
}

export function parseXml(input: string): XmlElement {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${i}`);
  };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(input)) fail('a character XML 1.0 does not allow');
  if (input.startsWith('<?xml')) {
    const end = input.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  const skipSpace = () => {
    while (i < input.length && /\s/.test(input[i])) i++;
  };
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  skipSpace();
  while (i < input.length) {
    if (input[i] !== '<') {
      const next = input.indexOf('<', i);
      const raw = input.slice(i, next < 0 ? input.length : next);
      if (stack.length === 0) {
        if (raw.trim() !== '') fail('text outside the root element');
      } else stack[stack.length - 1].text += decode(raw, i);
      i = next < 0 ? input.length : next;
      continue;
    }
    if (input[i + 1] === '/') {
      i += 2;
      const name = NAME.exec(input.slice(i))?.[0] ?? fail('a closing tag without a name');
      i += name.length;
      skipSpace();
      if (input[i] !== '>') fail('a malformed closing tag');
      i++;
      const open = stack.pop() ?? fail(`</${name}> closes nothing`);
      if (open.name !== name) fail(`</${name}> closes <${open.name}> (mismatched)`);
      continue;
    }
    i++;
    const name = NAME.exec(input.slice(i))?.[0] ?? fail('a tag without a name');
    i += name.length;
    const element: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      skipSpace();
      if (input.startsWith('/>', i) || input[i] === '>') break;
      const attr = NAME.exec(input.slice(i))?.[0] ?? fail('a malformed attribute');
      i += attr.length;
      skipSpace();
      if (input[i] !== '=') fail(`attribute ${attr} without a value`);
      i++;
      skipSpace();
      const quote = input[i];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attr} value not quoted`);
      const end = input.indexOf(quote, i + 1);
      if (end < 0) fail(`attribute ${attr} value not terminated`);
      const raw = input.slice(i + 1, end);
      if (raw.includes('<')) fail(`attribute ${attr} contains <`);
      if (attr in element.attrs) fail(`attribute ${attr} repeated`);
      element.attrs[attr] = decode(raw, i);
      i = end + 1;
    }
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    else if (root) fail('a second root element');
    else root = element;
    if (input.startsWith('/>', i)) i += 2;
    else {
      i++;
      stack.push(element);
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1].name}> unclosed`);
  return root ?? fail('no root element');
}
