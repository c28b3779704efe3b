// Answers every hx-confirm with the page's <dialog id="confirm-dialog"> (views/confirm.tsx)
// instead of window.confirm: htmx 4 waits while an htmx:confirm listener holds the request.
(() => {
  function ask(opts) {
    const dialog = document.getElementById('confirm-dialog');
    if (!dialog) return Promise.resolve(window.confirm(opts.message));
    const ok = dialog.querySelector('#confirm-ok');
    const typedLabel = dialog.querySelector('#confirm-typed');
    const input = typedLabel.querySelector('input');
    dialog.querySelector('#confirm-message').textContent = opts.message;
    dialog.querySelector('#confirm-word').textContent = opts.typed ?? '';
    ok.textContent = opts.action || 'Confirm';
    ok.classList.toggle('danger', opts.danger);
    typedLabel.hidden = !opts.typed;
    input.value = '';
    const typedRight = () => !opts.typed || input.value === opts.typed;
    ok.disabled = !typedRight();
    input.oninput = () => {
      ok.disabled = !typedRight();
    };
    input.onkeydown = (e) => {
      if (e.key === 'Enter' && typedRight()) dialog.close('ok');
    };
    ok.onclick = () => dialog.close('ok');
    dialog.querySelector('#confirm-cancel').onclick = () => dialog.close('cancel');
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok' && typedRight()), { once: true });
      dialog.showModal();
      (opts.typed ? input : dialog.querySelector('#confirm-cancel')).focus();
    });
  }

  document.addEventListener('htmx:confirm', (event) => {
    const elt = event.target;
    const { ctx, issueRequest, dropRequest } = event.detail;
    event.preventDefault();
    ask({
      message: ctx.confirm,
      action: elt.dataset.confirmAction,
      danger: elt.dataset.confirmDanger === 'true',
      typed: elt.dataset.confirmTyped,
    }).then((yes) => (yes ? issueRequest() : dropRequest()));
  });
})();
