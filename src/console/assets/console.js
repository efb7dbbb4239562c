// Warden console: a little progressive enhancement, served by Warden (no inline script, no CDN).
// Pages work without it.
(() => {
  // Move keyboard focus to the first message on the page, so screen readers announce it.
  var alert = document.querySelector('[data-focus]');
  if (alert) {
    alert.setAttribute('tabindex', '-1');
    alert.focus();
  }
  // Ask before an irreversible decision.
  document.querySelectorAll('form[data-confirm]').forEach((form) => {
    form.addEventListener('submit', (event) => {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
})();
