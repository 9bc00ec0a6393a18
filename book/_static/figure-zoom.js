/* Tap to zoom (tests/browser/test_figures.py).
 *
 * The book's figures are SVG drawn 537 px wide with text of at least 11 pt (jaxbook.plotting),
 * that is 14.7 px at their own size; a phone's column shows them at 342 px, where that text is
 * 9.3 px. A figure drawn narrower than its own size gets an "Enlarge" button under it, and a
 * tap or a click on the figure does the same: a full-screen dialog shows it at its own size (up
 * to twice that where the screen is wide enough), so its text is at least 12 px, in a view
 * that scrolls to every part of it with a visible scroll bar. Escape or "Close" close the
 * dialog, and the focus goes back to the button. A figure shown at its own size (a laptop) has
 * no button. Nothing changes in the figure itself: the image keeps its alt text.
 */
(function () {
  const FIGURES = ".bd-article figure img";
  let dialog = null;
  let opener = null;

  function caption(figure) {
    const number = figure.querySelector(".caption-number");
    return number ? number.textContent.trim() : "Figure";
  }

  function makeDialog() {
    dialog = document.createElement("dialog");
    dialog.className = "jaxbook-zoom-dialog";
    dialog.setAttribute("aria-labelledby", "jaxbook-zoom-title");
    dialog.innerHTML =
      '<div class="jaxbook-zoom-bar"><p class="jaxbook-zoom-title" id="jaxbook-zoom-title"></p>' +
      '<button type="button" class="jaxbook-zoom-close">Close</button></div>' +
      '<div class="jaxbook-zoom-view" tabindex="0" role="region"></div>' +
      '<p class="jaxbook-zoom-caption"></p>';
    dialog.querySelector(".jaxbook-zoom-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.querySelector(".jaxbook-zoom-view").replaceChildren();
      if (opener) opener.focus();
    });
    document.body.appendChild(dialog);
  }

  function open(img, button) {
    if (!dialog) makeDialog();
    opener = button;
    const figure = img.closest("figure");
    const name = caption(figure);
    dialog.querySelector(".jaxbook-zoom-title").textContent = name + ", enlarged";
    const text = figure.querySelector(".caption-text");
    dialog.querySelector(".jaxbook-zoom-caption").textContent = text ? text.textContent : "";
    const view = dialog.querySelector(".jaxbook-zoom-view");
    view.setAttribute("aria-label", name + " at full size: scroll to see all of it");
    const big = img.cloneNode();
    big.removeAttribute("class");
    big.removeAttribute("loading");
    const own = img.naturalWidth || img.getBoundingClientRect().width;
    const room = document.documentElement.clientWidth - 16;
    big.style.width = Math.max(own, Math.min(room, 2 * own)) + "px";
    big.style.height = "auto";
    view.replaceChildren(big);
    dialog.showModal();
    dialog.querySelector(".jaxbook-zoom-close").focus();
  }

  function setUp(img) {
    const figure = img.closest("figure");
    if (!figure || figure.querySelector("button.jaxbook-zoom-open")) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "jaxbook-zoom-open";
    button.textContent = "Enlarge";
    button.setAttribute("aria-label", "Enlarge " + caption(figure));
    button.setAttribute("aria-haspopup", "dialog");
    button.addEventListener("click", () => open(img, button));
    img.addEventListener("click", () => {
      if (!button.hidden) open(img, button);
    });
    img.insertAdjacentElement("afterend", button);
  }

  function showWhereShrunk() {
    document.querySelectorAll(FIGURES).forEach((img) => {
      const button = img.closest("figure").querySelector("button.jaxbook-zoom-open");
      if (!button) return;
      const shrunk = img.naturalWidth > img.getBoundingClientRect().width + 1;
      button.hidden = !shrunk;
      img.classList.toggle("jaxbook-zoomable", shrunk);
    });
  }

  function start() {
    document.querySelectorAll(FIGURES).forEach(setUp);
    showWhereShrunk();
    document.querySelectorAll(FIGURES).forEach((img) => {
      if (!img.complete) img.addEventListener("load", showWhereShrunk, { once: true });
    });
    window.addEventListener("resize", showWhereShrunk);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
