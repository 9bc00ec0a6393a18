/* Predict-the-output questions (jaxbook.quiz): the reader picks an option and checks it.
 *
 * Without this script (as on Colab) a question still works: the real output sits behind a
 * "Show the output" toggle. With it, the output stays hidden until the reader has answered,
 * the page says at once whether the pick was right, and nothing is stored anywhere.
 */
(function () {
  function setUp(question) {
    const button = question.querySelector(".jb-predict-check");
    const feedback = question.querySelector(".jb-predict-feedback");
    const answer = question.querySelector(".jb-predict-answer");
    if (!button || !feedback || !answer) return;
    answer.hidden = true;
    button.hidden = false;
    button.addEventListener("click", () => {
      const picked = question.querySelector("input[type=radio]:checked");
      if (!picked) {
        feedback.textContent = "Pick an option first.";
        return;
      }
      const right = picked.hasAttribute("data-correct");
      question.querySelectorAll(".jb-predict-option").forEach((label) => {
        const input = label.querySelector("input");
        label.classList.toggle("jb-predict-right", input.hasAttribute("data-correct"));
        label.classList.toggle("jb-predict-wrong", input === picked && !right);
      });
      feedback.textContent = right
        ? "Right: that is what it printed when this page was built."
        : "Not quite: the right option is marked, and the real output is below.";
      question.classList.toggle("jb-predict-answered-right", right);
      answer.hidden = false;
      answer.open = true;
    });
  }
  function setUpAll() {
    document.querySelectorAll(".jb-predict").forEach(setUp);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
