// A job's page: poll its progress (JSON) until it is done, then reload once to show the
// result. Plain script, no inline code (the CSP allows only our own files).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "yes") return;
  var url = box.dataset.progressUrl;
  var delay = 1000;

  function field(name) {
    return box.querySelector('[data-field="' + name + '"]');
  }

  function show(job) {
    field("status_label").textContent = job.status_label;
    var bar = field("percent");
    if (job.percent === null || job.percent === undefined) {
      bar.removeAttribute("value");
    } else {
      bar.value = job.percent;
      bar.textContent = job.percent + "%";
    }
    var counts = field("counts");
    var p = job.progress || {};
    if (typeof p.total === "number") {
      counts.textContent = counts.dataset.template
        .replace("{d}", String(p.done || 0))
        .replace("{t}", String(p.total));
    }
    field("summary").textContent = job.summary || "";
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (reply) {
        if (!reply.ok) throw new Error(String(reply.status));
        return reply.json();
      })
      .then(function (job) {
        show(job);
        if (job.done) {
          window.location.reload();
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 15000); // the server or the network is away: slower
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
