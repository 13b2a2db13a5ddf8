/**
 * IP addresses. IPv4 in dotted-quad form (octets 0–255, no leading zeros) and IPv6 in any RFC 4291
 * text form, confirmed with `net.isIPv6`. Skipped because they identify no one: the unspecified
 * and loopback addresses and netmasks (`0.0.0.0`, `127.x.x.x`, `255.x.x.x`, `::`, `::1`). Skipped
 * because they are version or outline numbers: a quad right after "v", "version", "build",
 * "release", "firmware", "patch", "section", "table", "figure"… (a bare four-part version such as
 * "upgrade to 1.2.3.4" is indistinguishable from an address and is reported). IPv6 needs
 * enough hex digits that Python slices (`x[1::2]`) and C++ scopes (`std::map`) do not qualify.
 */
import { isIPv6 } from 'node:net';
import type { Match } from '../types.ts';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g');
const IPV6 =
  /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)/g;
const VERSION_BEFORE =
  /(?:\bv|\bver\.?|\bversion|\bbuild|\brelease|\bfirmware|\bpatch|\bsection|\btable|\bfigure|\bfig\.|\bchapter|\bclause|\bstep|\bitem|\barticle|\bparagraph|§)\s*[:#]?\s*$/i;

export function detectIpAddresses(text: string): Match[] {
  const out: Match[] = [];
  if (text.includes('.')) {
    for (const m of text.matchAll(IPV4)) {
      const ip = m[0];
      if (ip === '0.0.0.0' || ip.startsWith('127.') || ip.startsWith('255.')) continue;
      if (VERSION_BEFORE.test(text.slice(Math.max(0, m.index - 16), m.index))) continue;
      out.push({ start: m.index, end: m.index + ip.length, entity: 'ip_address' });
    }
  }
  if (text.includes(':')) {
    const v4 = out.length;
    for (const m of text.matchAll(IPV6)) {
      const ip = m[0];
      if (!isIPv6(ip) || ip === '::' || ip === '::1') continue;
      const hexDigits = ip.replace(/[^0-9A-Fa-f]/g, '').length;
      if (hexDigits < 4 || !/\d/.test(ip)) continue;
      out.push({ start: m.index, end: m.index + ip.length, entity: 'ip_address' });
    }
    // An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is one address, not two.
    const v6 = out.slice(v4);
    return [...out.slice(0, v4).filter((a) => !v6.some((b) => b.start <= a.start && a.end <= b.end)), ...v6];
  }
  return out;
}
