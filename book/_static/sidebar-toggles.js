/* The visible sidebar toggles open and close the sidebars.
 *
 * pydata-sphinx-theme 0.17 and sphinx-book-theme 1.3 bind their sidebar toggles with
 * `document.querySelector(".primary-toggle")` (and ".secondary-toggle"), which finds the
 * first such button in the page: a hidden one in the navbar. The toggle a reader sees, in the
 * article header, gets no handler and does nothing, at every width (pydata-sphinx-theme#2451,
 * sphinx-book-theme#988). Until the themes bind every toggle, a click (or Enter, or Space) on
 * any other toggle is forwarded to the one they bound, so it does exactly what the themes do:
 * the sidebar as a dialog on narrow screens, shown or hidden in place on wide ones.
 */
(function () {
  function forwardClicks(selector) {
    const bound = document.querySelector(selector);
    if (!bound) return;
    document.querySelectorAll(selector).forEach((toggle) => {
      if (toggle === bound) return;
      toggle.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        toggle.focus(); // the dialog gives focus back to the button the reader used
        bound.click();
      });
    });
  }
  function fix() {
    forwardClicks(".primary-toggle");
    forwardClicks(".secondary-toggle");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
})();
