/**
 * The shell: who is signed in, which page the path names, and the way back to the login page on
 * any 401 (session expired, revoked, logged out elsewhere) — and from there back where you were.
 */
import { lazy, type ReactNode, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { Layout } from './Layout';
import { ApiFailure, onUnauthorized } from './lib/api';
import { Link, match, navigate, useLocation } from './lib/router';
import { loadMe, type Me, SessionContext } from './lib/session';
import { ErrorBox, Loading } from './lib/ui';
import { AcceptInvitation, Login } from './pages/Login';

const Overview = lazy(() => import('./pages/Overview'));
const Agents = lazy(() => import('./pages/Agents'));
const AgentPage = lazy(() => import('./pages/AgentPage'));
const Runs = lazy(() => import('./pages/Runs'));
const RunPage = lazy(() => import('./pages/RunPage'));
const Keys = lazy(() => import('./pages/Keys'));
const Members = lazy(() => import('./pages/Members'));
const Plan = lazy(() => import('./pages/Plan'));
const Pipelines = lazy(() => import('./pages/Pipelines'));
const PipelinePage = lazy(() => import('./pages/PipelinePage'));
const Audit = lazy(() => import('./pages/Audit'));
const Alerts = lazy(() => import('./pages/Alerts'));
const Guardrails = lazy(() => import('./pages/Guardrails'));
const Connectors = lazy(() => import('./pages/Connectors'));

type Page = (props: { params: Record<string, string> }) => ReactNode;
const ROUTES: [string, Page][] = [
  ['/', () => <Overview />],
  ['/agents', () => <Agents />],
  ['/agents/:id', ({ params }) => <AgentPage id={params.id} />],
  ['/runs', () => <Runs />],
  ['/runs/:id', ({ params }) => <RunPage id={params.id} />],
  ['/pipelines', () => <Pipelines />],
  ['/pipelines/:id', ({ params }) => <PipelinePage id={params.id} />],
  ['/audit', () => <Audit />],
  ['/alerts', () => <Alerts />],
  ['/guardrails', () => <Guardrails />],
  ['/connectors', () => <Connectors />],
  ['/settings/keys', () => <Keys />],
  ['/settings/members', () => <Members />],
  ['/settings/plan', () => <Plan />],
];

/** Only a path of this site: `next=//evil.example` or `next=https://…` is ignored. */
export function safeNext(next: string | null): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/login')) return '/';
  return next;
}

export function App() {
  const loc = useLocation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);

  const refresh = useCallback(() => {
    loadMe().then(setMe, (e) => {
      if (e instanceof ApiFailure && e.status === 401) return; // the listener below handles it
      setError(e);
    });
  }, []);

  useEffect(
    () =>
      onUnauthorized(() => {
        setMe(null);
        const here = location.pathname + location.search;
        if (!location.pathname.startsWith('/login') && location.pathname !== '/accept-invitation')
          navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
      }),
    [],
  );

  const onLogin = loc.path === '/login' || loc.path === '/accept-invitation';
  // biome-ignore lint/correctness/useExhaustiveDependencies: load once when leaving the login page
  useEffect(() => {
    if (!onLogin && me === undefined) refresh();
  }, [onLogin]);

  const session = useMemo(() => (me ? { me, refresh } : null), [me, refresh]);

  if (loc.path === '/accept-invitation') {
    return (
      <AcceptInvitation
        token={loc.search.get('token') ?? ''}
        onSignedIn={async () => {
          setMe(await loadMe());
          navigate('/', { replace: true });
        }}
      />
    );
  }
  if (onLogin) {
    return (
      <Login
        onSignedIn={async () => {
          const who = await loadMe();
          setMe(who);
          navigate(safeNext(loc.search.get('next')), { replace: true });
        }}
        expired={loc.search.has('next')}
      />
    );
  }
  if (error) {
    return (
      <main className="center">
        <ErrorBox error={error} />
      </main>
    );
  }
  if (!session) return <Loading label="Signing in…" />;

  let page: ReactNode = null;
  for (const [pattern, render] of ROUTES) {
    const params = match(pattern, loc.path === '' ? '/' : loc.path);
    if (params) {
      page = render({ params });
      break;
    }
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout path={loc.path}>
        <Suspense fallback={<Loading />}>
          {page ?? (
            <section>
              <h1>Page not found</h1>
              <p>
                Nothing lives at this address. <Link to="/">Go to the overview</Link>.
              </p>
            </section>
          )}
        </Suspense>
      </Layout>
    </SessionContext.Provider>
  );
}
