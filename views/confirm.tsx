/**
 * The page's one confirmation dialog. Every `hx-confirm` opens it instead of the browser's
 * native box (server/static/confirm.js), so a destructive action can say what will happen,
 * look destructive, and (for the worst ones) ask for a typed word. No <form> inside: the
 * page's forms stay the page's own.
 */
export function ConfirmDialog() {
  return (
    <dialog id="confirm-dialog" aria-labelledby="confirm-title">
      <h2 id="confirm-title">Are you sure?</h2>
      <p id="confirm-message" />
      <label id="confirm-typed" hidden>
        Type <code id="confirm-word" /> to confirm
        <input name="typed" autocomplete="off" spellcheck={false} />
      </label>
      <div class="dialog-actions">
        <button type="button" id="confirm-cancel" class="secondary">
          Go back
        </button>
        <button type="button" id="confirm-ok">
          Confirm
        </button>
      </div>
    </dialog>
  );
}

/** Attributes that make an htmx element ask first: the message, the confirm button's words, and how. */
export function confirmAttrs(p: { message: string; action: string; danger?: boolean; typed?: string }) {
  return {
    'hx-confirm': p.message,
    'data-confirm-action': p.action,
    'data-confirm-danger': p.danger ? 'true' : undefined,
    'data-confirm-typed': p.typed,
  };
}
