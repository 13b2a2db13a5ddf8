/**
 * The guest-side half of the host API, evaluated in each fresh QuickJS context before the agent's
 * module. It is a function expression the worker calls with the three host functions and the
 * run's input and metadata as JSON strings; it returns `[ctx, input, finish]`. Nothing is put on
 * `globalThis`: the host functions are reachable only through the frozen `ctx` it builds, and every
 * value to and from the host crosses as a JSON string, so whatever the guest gets back is a guest
 * object (prototype tricks on it change the guest's own realm, nothing else).
 */
export const PRELUDE = `(function (hostCall, hostLog, hostSleep, inputJson, runJson) {
  'use strict';
  const parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze, keys = Object.keys;
  const deepFreeze = (v) => {
    if (v !== null && typeof v === 'object') { for (const k of keys(v)) deepFreeze(v[k]); freeze(v); }
    return v;
  };
  const call = (kind, payload) =>
    hostCall(kind, stringify(payload === undefined ? null : payload)).then((text) => parse(text));
  const show = (v) => {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return String(v);
    try { const s = stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  };
  const input = deepFreeze(parse(inputJson));
  const ctx = freeze({
    input,
    run: deepFreeze(parse(runJson)),
    model: freeze({
      generate: (request) => call('model.generate', request === undefined ? {} : request),
      stream: (request) => call('model.stream', request === undefined ? {} : request),
    }),
    tools: freeze({
      call: (name, args) => call('tools.call', { name: String(name), args: args === undefined ? {} : args }),
    }),
    log: (...args) => { hostLog(args.map(show).join(' ')); },
    sleep: (ms) => hostSleep(Number(ms)),
  });
  const finish = (value) => {
    if (typeof value === 'string' || value === undefined || value === null) {
      return stringify({ result: value === undefined ? null : value });
    }
    if (typeof value === 'object' && !Array.isArray(value)) return stringify(value);
    return stringify({ result: value });
  };
  return [ctx, input, finish];
})`;
