/**
 * Eureka's XML, the same documents eureka-json.ts builds, written and read by fast-xml-parser (never
 * by string concatenation). Eureka's JSON is XStream's mapping of its XML, so one shape serves both:
 * `@name` keys are XML attributes (`<port enabled="true">8080</port>`, `<dataCenterInfo class="…">`),
 * `$` is an element's text, arrays are repeated elements (`<application>` per app, `<instance>` per
 * instance). Metadata keys that are not XML names cannot be elements and are left out of XML
 * answers (JSON answers carry them).
 *
 * Which of the two a request gets is decided here too (see eurekaMediaType): XML unless the request
 * prefers JSON, as Eureka's Jersey resources (`@Produces({"application/xml", "application/json"})`) do.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { eurekaBadRequest } from './eureka-params.js';

/** The media types Eureka answers in. */
export type EurekaMediaType = 'xml' | 'json';

type Range = { readonly type: string; readonly subtype: string; readonly q: number };

function ranges(accept: string): Range[] {
  const out: Range[] = [];
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const [type = '', subtype = ''] = range.split('/');
    if (type === '' || subtype === '') continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k === 'q') {
        const n = Number(v);
        q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
      }
    }
    out.push({ type, subtype, q });
  }
  return out;
}

/** The quality and specificity (2 exact, 1 `type/*`, 0 `*\/*`) a media type gets from an Accept header; q -1 when none matches. */
function quality(accepted: readonly Range[], type: string, subtypes: readonly string[]): { q: number; specific: number } {
  let best = { q: -1, specific: -1 };
  for (const r of accepted) {
    const specific = r.type === type && subtypes.includes(r.subtype) ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' && r.subtype === '*' ? 0 : -1;
    if (specific > best.specific) best = { q: r.q, specific };
  }
  return best;
}

/**
 * What a request is answered in: XML when it sends no Accept header, `*\/*` or asks for XML; JSON
 * when it prefers JSON (higher q, or as specific a match where XML is only a wildcard). Ties go to
 * XML, Eureka's first produced type. Undefined when it accepts neither (406).
 */
export function eurekaMediaType(accept: string | undefined): EurekaMediaType | undefined {
  if (accept === undefined || accept.trim() === '') return 'xml';
  const accepted = ranges(accept);
  if (accepted.length === 0) return 'xml';
  const xml = [quality(accepted, 'application', ['xml']), quality(accepted, 'text', ['xml'])].reduce((a, b) => (b.q > a.q || (b.q === a.q && b.specific > a.specific) ? b : a));
  const json = quality(accepted, 'application', ['json']);
  const usable = (x: { q: number }): boolean => x.q > 0;
  if (!usable(xml) && !usable(json)) return undefined;
  if (!usable(json)) return 'xml';
  if (!usable(xml)) return 'json';
  if (json.q !== xml.q) return json.q > xml.q ? 'json' : 'xml';
  return json.specific > xml.specific ? 'json' : 'xml';
}

/** Whether `name` can be an XML element name (Eureka's metadata keys become elements). */
const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

/** A copy of a Eureka document with metadata keys that are not XML names left out. */
function xmlSafe(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => xmlSafe(x, key));
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (key === 'metadata' && !k.startsWith('@') && k !== '$' && !XML_NAME.test(k)) continue;
    out[k] = xmlSafe(x, k);
  }
  return out;
}

// fast-xml-parser 5 re-exports its builder and validator from packages of its own (fast-xml-builder,
// fast-xml-validator) and marks the re-exports deprecated; herald's declared dependency is
// fast-xml-parser, so both come through it until the project depends on the split packages.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const builder = new XMLBuilder({
  attributeNamePrefix: '@',
  textNodeName: '$',
  ignoreAttributes: false,
  suppressEmptyNode: false,
  suppressBooleanAttributes: false,
  processEntities: true,
});

/** A Eureka document (one root key: `applications`, `application` or `instance`) as XML. */
export function toEurekaXml(doc: object): string {
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${builder.build(xmlSafe(doc))}`;
}

const parser = new XMLParser({
  attributeNamePrefix: '@',
  textNodeName: '$',
  ignoreAttributes: false,
  // Values stay text, as Eureka reads them: the JSON path's parsers take strings and numbers alike.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  processEntities: true,
});

/**
 * A Eureka XML request body (an `<instance>` InstanceInfo) in the shape of its JSON. Malformed XML
 * and documents with a DOCTYPE (entity definitions) are refused: INVALID_ARGUMENT, 400 as Eureka.
 */
export function fromEurekaXml(text: string): unknown {
  if (text.trim() === '') throw eurekaBadRequest('body', 'Missing instance');
  if (/<!DOCTYPE/i.test(text)) throw eurekaBadRequest('body', 'XML with a DOCTYPE is not accepted');
  // The parser itself is lenient (an unclosed element parses); the validator refuses what is not well-formed.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw eurekaBadRequest('body', `Malformed XML: ${valid.err.msg} (line ${String(valid.err.line)})`);
  return parser.parse(text) as unknown;
}
