// Shared pieces: loading and empty states, API errors, and the confirmation dialog every action goes through.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { ApiFailure, explain, type ApiError } from './api.ts';

export const Loading = ({ what }: { what: string }) => (
  <p class="loading" role="status" aria-live="polite">
    Loading {what}…
  </p>
);

export const Empty = ({ children }: { children: ComponentChildren }) => <p class="empty">{children}</p>;

export function Errors({ errors }: { errors: readonly ApiError[] }) {
  if (errors.length === 0) return null;
  return (
    <div class="error" role="alert">
      {errors.map((e, i) => (
        <p key={i} data-code={e.code}>
          {explain(e)}
        </p>
      ))}
    </div>
  );
}

export const errorsOf = (e: unknown): ApiError[] =>
  e instanceof ApiFailure ? [...e.errors] : [{ code: 'INTERNAL_SERVER_ERROR', message: e instanceof Error ? e.message : String(e) }];

/** Loads on mount and whenever `deps` change; `reload` runs it again (after an action). */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [state, setState] = useState<{ data?: T; errors: ApiError[]; loading: boolean }>({ errors: [], loading: true });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, errors: [], loading: false }),
      (e: unknown) => live && setState({ errors: errorsOf(e), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, nonce]);
  return { ...state, reload: () => setNonce((n) => n + 1) };
}

export type PendingAction = {
  readonly title: string;
  readonly description: string;
  readonly confirmLabel: string;
  /** Runs the mutation with the steward's reason; its errors are shown in the dialog. */
  readonly run: (reason: string) => Promise<string>;
};

/** A modal confirmation: the steward reads what will happen, gives a reason (kept in the link history), and confirms. */
export function ConfirmDialog({ action, onClose }: { action: PendingAction | null; onClose: (done: string | null) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<ApiError[]>([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (action && !dialog.open) {
      setReason('');
      setErrors([]);
      dialog.showModal();
    } else if (!action && dialog.open) dialog.close();
  }, [action]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={() => action && onClose(null)}>
      {action && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            setBusy(true);
            setErrors([]);
            action
              .run(reason)
              .then(onClose, (err: unknown) => setErrors(errorsOf(err)))
              .finally(() => setBusy(false));
          }}
        >
          <h2 id="confirm-title">{action.title}</h2>
          <p>{action.description}</p>
          <label for="confirm-reason">Reason (kept in the link history)</label>
          <textarea
            id="confirm-reason"
            required
            maxLength={1000}
            value={reason}
            onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
          />
          <Errors errors={errors} />
          <div class="actions">
            <button type="button" class="secondary" onClick={() => onClose(null)}>
              Cancel
            </button>
            <button type="submit" disabled={busy || !reason.trim()}>
              {action.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

export const fmtScore = (s: number | null | undefined): string => (s === null || s === undefined ? '—' : s.toFixed(3));
export const fmtTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

/** Relay paging: the cursors of the pages before this one, so Previous goes back one. */
export function useCursors() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    after: cursors.at(-1) ?? null,
    page: cursors.length,
    reset: () => setCursors([null]),
    previous: () => setCursors((c) => c.slice(0, -1)),
    next: (cursor: string | null) => setCursors((c) => [...c, cursor]),
  };
}

export function Pager({
  paging,
  pageInfo,
  labels = ['Previous', 'Next'],
}: {
  paging: ReturnType<typeof useCursors>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  labels?: readonly [string, string];
}) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary" disabled={paging.page < 2} onClick={paging.previous}>
        {labels[0]}
      </button>
      <span>Page {paging.page}</span>
      <button type="button" class="secondary" disabled={!pageInfo.hasNextPage} onClick={() => paging.next(pageInfo.endCursor)}>
        {labels[1]}
      </button>
    </nav>
  );
}

/**
 * An action a steward confirms: `confirm(action)` opens the dialog; once it succeeds its message is
 * shown (`outcome`) and `after` runs (a reload of what the screen shows).
 */
export function useConfirmedAction(after: () => void) {
  const [pending, setPending] = useState<PendingAction | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const outcome = done && (
    <p class="success" role="status">
      {done}
    </p>
  );
  const dialog = (
    <ConfirmDialog
      action={pending}
      onClose={(message) => {
        setPending(null);
        if (message) {
          setDone(message);
          after();
        }
      }}
    />
  );
  return { confirm: setPending, outcome, dialog };
}
