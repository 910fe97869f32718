// Gatehouse console: the copy buttons of the pages that show a new secret
// once. Each button[data-copy] names the element whose text it copies.
// Without this script the buttons stay hidden and the values can be
// selected and copied by hand.
"use strict";
(function () {
  var status = document.getElementById("copy-status");
  function say(text) {
    if (status) status.textContent = text;
  }
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var el = document.getElementById(button.getAttribute("data-copy"));
    if (!el) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = el.textContent;
      var label = button.textContent.replace(/^Copy /, "");
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () {
          say(label + " copied.");
        }, function () {
          selectText(el);
          say("Copying was refused: the value is selected, press Ctrl+C or Cmd+C.");
        });
      } else {
        selectText(el);
        try {
          document.execCommand("copy");
          say(label + " copied.");
        } catch (e) {
          say("The value is selected: press Ctrl+C or Cmd+C.");
        }
      }
    });
  });
})();
