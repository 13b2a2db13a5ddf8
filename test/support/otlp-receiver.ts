/**
 * An OTLP/HTTP trace receiver on loopback: a plain node:http server that decodes the JSON
 * `ExportTraceServiceRequest` bodies POSTed to /v1/traces into flat spans (hex ids, plain attribute
 * values), and lets a test wait until the spans it expects have arrived.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  /** span events (an exception: `exception.type`, `exception.message`, `exception.stacktrace`) */
  events: { name: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
}
type KeyValue = { key: string; value: AnyValue };

function plain(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  return null;
}
const attrs = (list: KeyValue[] | undefined) =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
const ms = (nanos: string | number) => Number(BigInt(nanos) / 1_000_000n);

export interface OtlpReceiver {
  /** the base endpoint (what OTEL_EXPORTER_OTLP_ENDPOINT is set to) */
  endpoint: string;
  spans: ReceivedSpan[];
  /** export requests received (any path) */
  requests: number;
  /** headers of the last export request */
  lastHeaders: http.IncomingHttpHeaders;
  /** resolves with the spans once `pick` returns a value for what has arrived (checked per request) */
  waitFor<T>(pick: (spans: ReceivedSpan[]) => T | undefined | null | false): Promise<T>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const waiters: (() => void)[] = [];
  const receiver: OtlpReceiver = {
    endpoint: '',
    spans: [],
    requests: 0,
    lastHeaders: {},
    waitFor(pick) {
      return new Promise((resolve) => {
        const check = () => {
          const found = pick(receiver.spans);
          if (!found) return false;
          resolve(found);
          return true;
        };
        if (!check()) waiters.push(check as () => void);
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      receiver.requests++;
      receiver.lastHeaders = req.headers;
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const payload = JSON.parse(body) as {
        resourceSpans?: {
          resource?: { attributes?: KeyValue[] };
          scopeSpans?: {
            spans?: {
              traceId: string;
              spanId: string;
              parentSpanId?: string;
              name: string;
              kind: number;
              startTimeUnixNano: string;
              endTimeUnixNano: string;
              attributes?: KeyValue[];
              status?: { code?: number; message?: string };
              events?: { name: string; attributes?: KeyValue[] }[];
            }[];
          }[];
        }[];
      };
      for (const rs of payload.resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            receiver.spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              startMs: ms(s.startTimeUnixNano),
              endMs: ms(s.endTimeUnixNano),
              attributes: attrs(s.attributes),
              status: s.status ?? {},
              events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attrs(e.attributes) })),
              resource,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const check of waiters.splice(0)) if (!(check as () => boolean)()) waiters.push(check);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
