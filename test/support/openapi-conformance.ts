/**
 * Checks an answer against the OpenAPI document of the server that gave it: the status is one the
 * operation documents, the content type and the body match its schema, and every documented header
 * is present when required and well-formed when present. Requests outside the document (unknown
 * paths, undocumented methods, the docs and problem pages, HEAD) have nothing to be checked against.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

type Schema = Record<string, unknown>;
interface Media {
  schema?: Schema;
}
interface ResponseDoc {
  headers?: Record<string, { required?: boolean; schema?: Schema }>;
  content?: Record<string, Media>;
}
interface OperationDoc {
  operationId?: string;
  responses: Record<string, ResponseDoc>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationDoc>>;
}

export interface Answer {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

// ajv-formats is CommonJS: its default export arrives wrapped, or not, depending on the loader.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

export function conformanceChecker(document: OpenApiDocument): (answer: Answer) => string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const compiled = new WeakMap<Schema, ValidateFunction>();
  const validator = (schema: Schema) => {
    let validate = compiled.get(schema);
    if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
    return validate;
  };
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    params: (template.match(/\{/g) ?? []).length,
  }));

  return (answer) => {
    const path = answer.path.split('?', 1)[0]!;
    // The most literal template wins: /orders/{orderId} never shadows a fixed path.
    const match = templates
      .filter((t) => t.pattern.test(path) && document.paths[t.template]![answer.method.toLowerCase()])
      .sort((a, b) => a.params - b.params)[0];
    if (!match) return [];
    const operation = document.paths[match.template]![answer.method.toLowerCase()]!;
    const where = `${answer.method} ${match.template} → ${answer.status}`;
    const response = operation.responses[String(answer.status)] ?? operation.responses.default;
    if (!response) return [`${where}: status not documented (documented: ${Object.keys(operation.responses)})`];
    const problems: string[] = [];
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = answer.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`${where}: documented header ${name} is missing`);
      } else if (header.schema && !validator(header.schema)(value)) {
        problems.push(`${where}: header ${name}: ${JSON.stringify(value)} does not match its schema`);
      }
    }
    const documented = Object.keys(response.content ?? {});
    if (documented.length === 0) {
      if (answer.text !== '') problems.push(`${where}: documented without a body, but one was sent`);
      return problems;
    }
    const type = String(answer.headers['content-type'] ?? '')
      .split(';', 1)[0]!
      .trim()
      .toLowerCase();
    const media = response.content?.[type];
    if (!media) return [...problems, `${where}: content type ${type || '(none)'} not documented (${documented})`];
    let body: unknown = answer.text;
    if (type.endsWith('json')) {
      try {
        body = JSON.parse(answer.text);
      } catch {
        return [...problems, `${where}: the ${type} body is not JSON`];
      }
    }
    if (media.schema) {
      const validate = validator(media.schema);
      if (!validate(body)) {
        const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message}`).join('; ');
        problems.push(`${where}: body does not match the schema: ${errors}`);
      }
    }
    return problems;
  };
}
