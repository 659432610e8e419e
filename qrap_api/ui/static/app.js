// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Selects marked data-autosubmit submit their form when changed.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Live progress of a run from the assessment's Server-Sent Events stream.
  var live = document.querySelector("[data-events-url]");
  if (live && window.EventSource) {
    var field = function (name) { return live.querySelector('[data-field="' + name + '"]'); };
    var source = new EventSource(live.getAttribute("data-events-url"));
    var terminal = ["assessment.completed", "assessment.failed", "assessment.cancelled"];
    var update = function (event) {
      var data = JSON.parse(event.data);
      if (typeof data.progress === "number") {
        field("progress").value = data.progress;
        field("progress-text").textContent = Math.round(data.progress) + " %";
      }
      if (data.status) { field("status").textContent = data.status; }
      if (field("targets") && typeof data.targets_total === "number") {
        field("targets").textContent = data.targets_done + " / " + data.targets_total + " targets";
      }
      if (terminal.indexOf(event.type) !== -1) {
        source.close();
        field("message").textContent = "Run " + (data.status || "finished").toLowerCase() + ": loading the results";
        window.location.reload();
      } else {
        field("message").textContent = data.target ? "Working on " + data.target : "Running";
      }
    };
    ["assessment.status", "assessment.started", "assessment.progress"].concat(terminal)
      .forEach(function (name) { source.addEventListener(name, update); });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) {
        field("message").textContent = "Connection to the server lost: retrying";
      }
    };
  }

  // The HNDL calculator redraws its chart as the numbers change.
  var form = document.querySelector("form[data-live]");
  if (form && window.fetch) {
    var target = document.getElementById(form.getAttribute("data-target"));
    var timer = null;
    var redraw = function () {
      if (!form.checkValidity()) { return; }
      var query = new URLSearchParams(new FormData(form));
      window.history.replaceState(null, "", form.getAttribute("data-live") + "?" + query);
      query.set("fragment", "true");
      fetch(form.getAttribute("data-live") + "?" + query, { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) { target.innerHTML = html; })
        .catch(function () { target.textContent = "The server cannot be reached: try again."; });
    };
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(redraw, 250);
    });
  }
})();
