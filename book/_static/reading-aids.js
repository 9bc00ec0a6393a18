/* Small aids to reading, each tested in tests/browser.
 *
 * 1. Scroll cues (test_wide_content.py). A code block, table or display equation wider than
 *    its column scrolls inside its own box; the box gets the class `jaxbook-scrolls`, and
 *    custom.css draws a shadow at each edge that has more to show. Only boxes that overflow
 *    get it, so that the others keep a plain background (and axe keeps checking their contrast).
 * 2. Stacked tables (test_wide_content.py). In a table with the class `jaxbook-stack`, each
 *    cell gets its column's header as `data-label`; on a narrow screen custom.css shows each
 *    row as a block of labelled cells, so a table of sentences fits a phone.
 * 3. Icons (test_icon_font.py). The theme's icons are drawn by its icon font; an icon without a
 *    label of its own is hidden from screen readers (its button or link carries the name), one
 *    with a title is an image with that name.
 */
(function () {
  const WIDE = 'div.highlight pre, .pst-scrollable-table-container, mjx-container[display="true"]';

  function markScrolling() {
    document.querySelectorAll(WIDE).forEach((box) => {
      box.classList.toggle("jaxbook-scrolls", box.scrollWidth > box.clientWidth + 1);
    });
  }

  function labelStackedTables() {
    document.querySelectorAll("table.jaxbook-stack").forEach((table) => {
      const heads = [...table.querySelectorAll("thead th")].map((th) => th.innerText.trim());
      table.querySelectorAll("tbody tr").forEach((row) => {
        [...row.cells].forEach((cell, i) => {
          if (heads[i]) cell.dataset.label = heads[i];
        });
      });
    });
  }

  function labelIcons() {
    document.querySelectorAll('i[class*="fa-"]').forEach((icon) => {
      const title = icon.getAttribute("title");
      if (title) {
        icon.setAttribute("role", "img");
        icon.setAttribute("aria-label", title);
      } else {
        icon.setAttribute("aria-hidden", "true");
      }
    });
  }

  function start() {
    labelIcons();
    labelStackedTables();
    markScrolling();
    let pending = null;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(markScrolling);
    });
    document.fonts.ready.then(markScrolling);
    // MathJax typesets after the page has loaded: mark its equations once they exist.
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(markScrolling);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.addEventListener("load", markScrolling);
})();
