// Charts from data the server put in <script type="application/json"> blocks.
// Every chart has a table with the same numbers next to it.
(function () {
  "use strict";
  if (!window.Chart) return;
  var colours = { reading: "#1f3a5f", expected: "#8a5a00", projection: "#b42318" };
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s) {
          return {
            label: s.label,
            data: s.data.map(function (v) { return v === null ? null : Number(v); }),
            borderColor: colours[s.kind] || "#555",
            backgroundColor: colours[s.kind] || "#555",
            borderDash: s.kind === "expected" ? [6, 4] : (s.kind === "projection" ? [2, 3] : []),
            spanGaps: s.kind !== "reading",
            pointRadius: s.kind === "expected" ? 0 : 3,
            tension: 0
          };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { title: { display: true, text: data.unit } } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  });
})();
