// The console's shell: configuration from the gateway, sign-in, a navigation by role and a router
// on the URL fragment (opaque ids only: no name, birth date or identifier ever goes in the address).
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AuditPage } from './audit.tsx';
import { Compare } from './compare.tsx';
import { PatientView, Search } from './patient.tsx';
import { Queue } from './queue.tsx';
import { session, signOut } from './session.ts';
import { finishOidc, SignIn, type ConsoleConfig } from './sign-in.tsx';
import { useSignal } from './signal.ts';

const NAV = [
  { href: '#/queue', label: 'Review queue', roles: ['steward'] },
  { href: '#/search', label: 'Find a patient', roles: ['steward', 'clinician'] },
  { href: '#/audit', label: 'Access log', roles: ['security'] },
] as const;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Route({ hash, roles }: { hash: string; roles: readonly string[] }) {
  const [, screen, id] = hash.split('/');
  if (screen === 'queue') return <Queue />;
  if (screen === 'compare' && id) return <Compare itemId={id} />;
  if (screen === 'patient' && id) return <PatientView id={id} />;
  if (screen === 'search') return <Search />;
  if (screen === 'audit') return <AuditPage patientId={id || null} />;
  const mine = NAV.filter((n) => n.roles.some((r) => roles.includes(r)));
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">Welcome</h1>
      {mine.length ? (
        <p>Choose a screen above.</p>
      ) : (
        <p class="empty">Your role has no screen in this console: everything here is for data stewards and security officers.</p>
      )}
    </section>
  );
}

function App({ config, startError }: { config: ConsoleConfig; startError: string | null }) {
  const s = useSignal(session);
  const hash = useHash();
  // The page title never names a patient.
  useEffect(() => {
    document.title = s ? 'Steward console' : 'Sign in · Steward console';
  }, [s]);
  if (!s) return <SignIn config={config} error={startError} />;
  const current = `#/${hash.split('/')[1] ?? ''}`;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Steward console</span>
        {config.mode === 'development' && <span class="dev-badge">development sign-in</span>}
        <nav aria-label="Screens">
          {NAV.filter((n) => n.roles.some((r) => s.roles.includes(r))).map((n) => (
            <a key={n.href} href={n.href} aria-current={current === n.href ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <span class="who">
          {s.sub} ({s.roles.join(', ')}) · until {new Date(s.expiresAt).toLocaleTimeString()}
        </span>
        <button type="button" class="secondary" onClick={() => signOut('Signed out.')}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Route hash={hash} roles={s.roles} />
      </main>
    </>
  );
}

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  const config = (await (await fetch('/console/config.json')).json()) as ConsoleConfig;
  let startError: string | null = null;
  await finishOidc(config).catch((e: unknown) => (startError = e instanceof Error ? e.message : String(e)));
  root.textContent = ''; // the boot message, which render would keep
  render(<App config={config} startError={startError} />, root);
}

void boot();
