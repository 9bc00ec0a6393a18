/* Small aids to reading, each tested in tests/browser.
 *
 * 1. Scroll cues (test_wide_content.py). A code block, table or display equation wider than
 *    its column scrolls inside its own box; the box gets the class `jaxbook-scrolls`, and
 *    custom.css draws a shadow at each edge that has more to show. Only boxes that overflow
 *    get it, so that the others keep a plain background (and axe keeps checking their contrast).
 * 2. Stacked tables (test_wide_content.py). In a table with the class `jaxbook-stack`, each
 *    cell gets its column's header as `data-label`; on a narrow screen custom.css shows each
 *    row as a block of labelled cells, so a table of sentences fits a phone. A table with a
 *    header and at most STACK_ROWS rows that is wider than its column (flax_nnx's comparison
 *    of the three libraries, computed by a cell) gets the class too, so that every column of
 *    a row is in sight; a longer one scrolls with its first column pinned (custom.css).
 * 3. Icons (test_icon_font.py). The theme's icons are drawn by its icon font; an icon without a
 *    label of its own is hidden from screen readers (its button or link carries the name), one
 *    with a title is an image with that name.
 * 4. Dropdown titles (test_solution_links.py). sphinx-togglebutton makes a dropdown's whole
 *    title clickable, but its handler (toggleClickHandler, up to 0.4.5) knows only the title,
 *    its chevron button and the chevron's parts: a click on anything else in the title, such as
 *    the link of sphinx-exercise's "Solution to Exercise 3.1", finds no button and throws
 *    "ReferenceError: button is not defined", and the link jumps back to the exercise instead
 *    of opening the solution. Here every other part of the title (the link by mouse or by
 *    Enter) presses the chevron; a link with a modifier key (a new tab) still goes to the
 *    exercise. The link says whether its solution is open (aria-expanded).
 */
(function () {
  const WIDE = 'div.highlight pre, .pst-scrollable-table-container, mjx-container[display="true"]';
  const STACK_ROWS = 6;

  function markScrolling() {
    document.querySelectorAll(WIDE).forEach((box) => {
      box.classList.toggle("jaxbook-scrolls", box.scrollWidth > box.clientWidth + 1);
    });
  }

  function stackWideTables() {
    document.querySelectorAll("table").forEach((table) => {
      const auto = table.dataset.jaxbookStack === "auto";
      if (table.classList.contains("jaxbook-stack") && !auto) return; // the author's choice
      const rows = table.tBodies.length ? table.tBodies[0].rows.length : 0;
      if (!table.tHead || rows === 0 || rows > STACK_ROWS) return;
      table.classList.remove("jaxbook-stack");
      const box = table.closest(".pst-scrollable-table-container") || table.parentElement;
      const wide = box.scrollWidth > box.clientWidth + 1;
      table.classList.toggle("jaxbook-stack", wide);
      if (wide) table.dataset.jaxbookStack = "auto";
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

  const DROPDOWN_TITLE = ".admonition.dropdown > .admonition-title, .admonition.toggle > .admonition-title";

  function openDropdownFromTitle(event) {
    const title = event.target.closest && event.target.closest(DROPDOWN_TITLE);
    const button = title && title.querySelector("button.toggle-button");
    if (!button || event.target === title || button.contains(event.target)) return;
    event.stopImmediatePropagation(); // before togglebutton's handler sees a target it cannot use
    if (event.target.closest("a") && (event.ctrlKey || event.metaKey || event.shiftKey)) return;
    event.preventDefault();
    button.click();
  }

  function labelDropdownLinks() {
    document.querySelectorAll(DROPDOWN_TITLE).forEach((title) => {
      const box = title.parentElement;
      const links = title.querySelectorAll("a[href]");
      if (!links.length) return;
      const sync = () => {
        const open = !box.classList.contains("toggle-hidden");
        links.forEach((link) => link.setAttribute("aria-expanded", String(open)));
      };
      if (box.id) links.forEach((link) => link.setAttribute("aria-controls", box.id));
      sync();
      new MutationObserver(sync).observe(box, { attributes: true, attributeFilter: ["class"] });
    });
  }

  // Capture phase: this runs before the title's own listener, whatever the scripts' order.
  document.addEventListener("click", openDropdownFromTitle, true);

  function start() {
    labelDropdownLinks();
    labelIcons();
    stackWideTables();
    labelStackedTables();
    markScrolling();
    let pending = null;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => {
        stackWideTables();
        labelStackedTables();
        markScrolling();
      });
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
