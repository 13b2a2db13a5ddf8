import { type ReactNode, useEffect, useRef, useState } from 'react';
import { api } from './lib/api';
import { Link, navigate } from './lib/router';
import { useSession } from './lib/session';

const NAV: { to: string; label: string; section?: string }[] = [
  { to: '/', label: 'Overview' },
  { to: '/agents', label: 'Agents' },
  { to: '/runs', label: 'Runs' },
  { to: '/pipelines', label: 'Pipelines' },
  { to: '/audit', label: 'Audit log' },
  { to: '/alerts', label: 'Alerts' },
  { to: '/guardrails', label: 'Guardrails' },
  { to: '/connectors', label: 'Connectors' },
  { to: '/settings/keys', label: 'API keys', section: 'Settings' },
  { to: '/settings/members', label: 'Members' },
  { to: '/settings/plan', label: 'Plan & usage' },
];

const active = (to: string, path: string) => (to === '/' ? path === '/' : path.startsWith(to));

export function Layout({ path, children }: { path: string; children: ReactNode }) {
  const { me } = useSession();
  const [open, setOpen] = useState(false);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // a new page: close the menu and move focus to the content (keyboard and screen-reader users)
  // biome-ignore lint/correctness/useExhaustiveDependencies: on path change only
  useEffect(() => {
    setOpen(false);
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [path]);

  const signOut = async () => {
    try {
      await api('/v2/auth/session', { method: 'DELETE' });
    } finally {
      navigate('/login', { replace: true });
      location.reload();
    }
  };

  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="menu-button"
          aria-expanded={open}
          aria-controls="nav"
          onClick={() => setOpen((o) => !o)}
        >
          Menu
        </button>
        <Link to="/" className="brand">
          AIRMY
        </Link>
        <span className="org" title={me.organization.id}>
          {me.organization.name}
        </span>
        <span className="who">
          {me.email ?? 'API key session'}
          {me.role ? ` · ${me.role}` : ''}
        </span>
        <button type="button" className="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <nav id="nav" className={open ? 'nav open' : 'nav'} aria-label="Main">
        <ul>
          {NAV.map((item) => (
            <li key={item.to}>
              {item.section && <div className="nav-section">{item.section}</div>}
              <Link to={item.to} aria-current={active(item.to, path) ? 'page' : undefined}>
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
