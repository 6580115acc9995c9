// Junction console: the few behaviours HTML alone lacks. No inline handlers.
(function () {
  "use strict";

  function init(root) {
    // Phone menu.
    root.querySelectorAll("[data-nav-toggle]").forEach(function (button) {
      button.addEventListener("click", function () {
        var sidebar = button.closest(".sidebar");
        var open = sidebar.classList.toggle("open");
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
    });

    // The workspace switcher submits on change.
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });

    // Copy buttons: data-copy-target="#id" copies that element's text.
    root.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.querySelector(button.getAttribute("data-copy-target"));
        if (!target) return;
        var text = (target.value !== undefined ? target.value : target.textContent).trim();
        var done = function () {
          var label = button.textContent;
          button.textContent = "Copied";
          button.setAttribute("aria-live", "polite");
          setTimeout(function () { button.textContent = label; }, 1500);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done);
        } else {
          var range = document.createRange();
          range.selectNodeContents(target);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          document.execCommand("copy");
          done();
        }
      });
    });

    // Confirmation dialogs: <button data-confirm="#dialog-id"> opens the
    // <dialog>; its own form does the POST.
    root.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function () {
        var dialog = document.querySelector(button.getAttribute("data-confirm"));
        if (dialog && dialog.showModal) dialog.showModal();
      });
    });
    root.querySelectorAll("[data-dialog-close]").forEach(function (button) {
      button.addEventListener("click", function () { button.closest("dialog").close(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) {
    if (event.target !== document.body) init(event.target);
  });
})();
