// Roster console: the little the pages need beyond htmx. No inline scripts (CSP).
(function () {
  'use strict';

  // Every htmx request carries the session's CSRF token (checked by the server on changes).
  document.addEventListener('htmx:configRequest', function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) e.detail.headers['X-CSRF-Token'] = meta.content;
  });

  // A new request clears the previous error.
  document.addEventListener('htmx:beforeRequest', function () {
    var flash = document.getElementById('flash');
    if (flash) flash.innerHTML = '';
  });

  // After a swap: errors and results get focus (screen readers announce them), and an
  // alert in the flash area is scrolled into view.
  document.addEventListener('htmx:afterSwap', function (e) {
    var target = e.detail.target;
    if (target && target.id === 'flash' && target.firstElementChild) {
      target.scrollIntoView({ block: 'nearest' });
    }
    var focus = document.querySelector('[data-focus]');
    if (focus) {
      focus.removeAttribute('data-focus');
      focus.focus();
    }
    syncSelectAll(document.getElementById('select-all'));
  });

  // R28: changing an existing user's second factor asks first.
  document.addEventListener('htmx:confirm', function (e) {
    var elt = e.detail.elt;
    var form = elt.tagName === 'FORM' ? elt : elt.closest('form');
    if (!form) return;
    var select = form.querySelector('select[data-confirm-change]');
    if (!select || select.value === select.dataset.initial) return;
    e.preventDefault();
    if (window.confirm(select.dataset.confirmChange)) e.detail.issueRequest(true);
  });

  // Copy buttons for one-time secrets.
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  document.addEventListener('click', function (e) {
    var button = e.target.closest('[data-copy]');
    if (!button) return;
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var status = button.parentElement.querySelector('.copy-done');
    var report = function (ok) {
      if (status) status.textContent = ok ? 'Copied.' : 'Press Ctrl+C (⌘C) to copy the selected text.';
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(function () { report(true); }, function () {
        selectText(source);
        report(false);
      });
    } else {
      selectText(source);
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
      report(ok);
    }
  });

  // "Select all" in the users table.
  function boxes(form) {
    return form ? form.querySelectorAll('input[type="checkbox"][name="ids"]') : [];
  }

  function syncSelectAll(all) {
    if (!all) return;
    var list = boxes(all.form);
    var checked = 0;
    for (var i = 0; i < list.length; i++) if (list[i].checked) checked++;
    all.checked = list.length > 0 && checked === list.length;
    all.indeterminate = checked > 0 && checked < list.length;
  }

  document.addEventListener('change', function (e) {
    var t = e.target;
    if (t.matches('[data-select-all]')) {
      var list = boxes(t.form);
      for (var i = 0; i < list.length; i++) list[i].checked = t.checked;
    } else if (t.name === 'ids') {
      syncSelectAll(document.getElementById('select-all'));
    }
  });

  // Action menus: one open at a time; a click elsewhere or Escape closes them.
  document.addEventListener('toggle', function (e) {
    var d = e.target;
    if (!d.matches || !d.matches('details.menu') || !d.open) return;
    document.querySelectorAll('details.menu[open]').forEach(function (other) {
      if (other !== d) other.open = false;
    });
  }, true);

  document.addEventListener('click', function (e) {
    document.querySelectorAll('details.menu[open]').forEach(function (d) {
      if (!d.contains(e.target)) d.open = false;
    });
  });

  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    document.querySelectorAll('details.menu[open]').forEach(function (d) {
      d.open = false;
      var summary = d.querySelector('summary');
      if (summary) summary.focus();
    });
  });
})();
