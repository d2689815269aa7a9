// volnux serve: live updates from /api/stream (server-sent events), no build step.
(function () {
  "use strict";
  var body = document.body;
  var runId = body.getAttribute("data-run");
  var url = "/api/stream" + (runId ? "?run=" + encodeURIComponent(runId) : "");
  if (!window.EventSource) { return; }
  var source = new EventSource(url);

  function text(el, value) { if (el) { el.textContent = value; } }

  function stateCell(el, state) {
    if (!el) { return; }
    el.textContent = state;
    el.className = "state state-" + state;
  }

  // The runs page: a changed run's state, and new runs on top.
  source.addEventListener("runs", function (event) {
    var table = document.getElementById("runs");
    if (!table) { return; }
    var runs = JSON.parse(event.data);
    runs.forEach(function (run) {
      var row = document.getElementById("run-" + run.id);
      if (row) {
        stateCell(row.querySelector(".state"), run.state);
        text(row.querySelector(".batches"), run.batches || "");
        return;
      }
      if (table.getAttribute("data-first-page") !== "1") { return; }
      row = document.createElement("tr");
      row.id = "run-" + run.id;
      var link = document.createElement("a");
      link.href = "/runs/" + encodeURIComponent(run.id);
      link.textContent = run.id;
      var cells = [link, run.workflow, run.state, new Date(run.created_at * 1000).toLocaleString(), "", run.batches || ""];
      cells.forEach(function (value, i) {
        var td = document.createElement("td");
        if (i === 0) { td.appendChild(value); } else { td.textContent = value; }
        if (i === 2) { td.className = "state state-" + run.state; }
        if (i === 5) { td.className = "batches"; }
        row.appendChild(td);
      });
      var tbody = table.querySelector("tbody");
      tbody.insertBefore(row, tbody.firstChild);
    });
  });

  // The run's picture, drawn again: never while it is being drawn, and after a
  // pause four times as long as its last drawing took (a 100,000-task run's
  // picture takes the server half a second: a viewer asks for it at most a
  // fifth of the time, however often the run changes).  The last change is
  // always drawn.
  var graph = document.getElementById("graph");
  var graphBusy = false;
  var graphAgain = null;
  function drawGraph(id) {
    if (!graph) { return; }
    if (graphBusy) { graphAgain = id; return; }
    graphBusy = true;
    var started = Date.now();
    var settled = function () {
      graph.onload = graph.onerror = null;
      setTimeout(function () {
        graphBusy = false;
        if (graphAgain !== null) {
          var next = graphAgain;
          graphAgain = null;
          drawGraph(next);
        }
      }, 4 * (Date.now() - started));
    };
    graph.onload = settled;
    graph.onerror = settled;
    graph.src = "/api/runs/" + encodeURIComponent(id) + "/graph.svg?t=" + Date.now();
  }

  // A run's page: its state and counts; the graph drawn again as it changes.
  source.addEventListener("run", function (event) {
    var run = JSON.parse(event.data);
    stateCell(document.getElementById("run-state"), run.state);
    text(document.getElementById("run-counts"), run.counts_text || "");
    drawGraph(run.id);
    (run.tasks || []).forEach(function (task) {
      var row = document.getElementById("task-" + task.node);
      if (row) {
        stateCell(row.querySelector(".state"), task.state);
        text(row.querySelector(".attempts"), task.attempts ? String(task.attempts) : "");
      }
    });
    if (run.ended && body.getAttribute("data-ended") !== "1") {
      body.setAttribute("data-ended", "1");
      var done = document.getElementById("live");
      text(done, "run " + run.state + " (reload for the details)");
    }
  });
})();
