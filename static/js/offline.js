/* covax offline at the centre (SPEC §3 "Offline at the centre").

   The staff pages keep working when the network or the server is down:
   - the service worker (static/js/sw.js, served at /sw.js) keeps the app shell and the
     pages as last seen, so a reload offline still shows the list;
   - IndexedDB (vendored idb) keeps the session list as last seen (who is due, who is
     vaccinated) and a queue of actions marked on this device;
   - a dose or adverse event marked without a network is queued with a UUID client_id and
     the device's time, shown on the page, and sent when the network returns: in order,
     one by one, to /sessions/N/sync/, which calls the same services as the pages. The
     server replays a known client_id, so an interrupted or repeated sync changes nothing.

   Strings come translated from the page (json_script "offline-strings"): no inline
   script (CSP), no gettext in JavaScript. */
(function () {
  "use strict";
  var stringsNode = document.getElementById("offline-strings");
  if (!stringsNode || !window.idb || !window.indexedDB) return;
  var T = JSON.parse(stringsNode.textContent);
  var config = document.getElementById("offline-config");
  var SESSION = config ? Number(config.getAttribute("data-session")) : null;
  var SYNC_URL = config ? config.getAttribute("data-sync-url") : null;
  var DOSE = config ? Number(config.getAttribute("data-dose")) : null;
  var RENDERED_AT = config ? Number(config.getAttribute("data-rendered-at")) : 0;
  var AEFI_URL_ZERO = config ? config.getAttribute("data-aefi-url-zero") : "";
  var PERIOD_MS = 30000;        // try again this often while something waits
  var REQUEST_TIMEOUT_MS = 20000;
  var KEEP_SENT_MS = 2 * 24 * 3600 * 1000;  // sent records are shown, then forgotten

  function t(key, params) {
    var text = T[key] || key;
    Object.keys(params || {}).forEach(function (name) { text = text.split("%(" + name + ")s").join(String(params[name])); });
    return text;
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function clock(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- storage ------------------------------------------------------------------------
  // queue: one record per action, in the order they were made (seq).
  // lists: per session, the list as last known {session, rendered_at, people{ref: …}}.
  var dbp = idb.openDB("covax-offline", 1, {
    upgrade: function (db) {
      var queue = db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
      queue.createIndex("client_id", "client_id", { unique: true });
      db.createObjectStore("lists", { keyPath: "session" });
    }
  });
  // Without storage (a private window that refuses IndexedDB) nothing can be kept, so
  // nothing is queued: a dose marked then fails visibly, as before ("nothing was saved").
  var storageOk = false;
  dbp.then(function () { storageOk = true; }, function () {});
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});

  function allItems() { return dbp.then(function (db) { return db.getAll("queue"); }); }

  function itemByClientId(clientId) {
    return dbp.then(function (db) { return db.getFromIndex("queue", "client_id", clientId); });
  }

  function updateItem(clientId, changes) {
    return dbp.then(function (db) {
      var tx = db.transaction("queue", "readwrite");
      return tx.store.index("client_id").get(clientId).then(function (item) {
        if (!item) return null;  // removed meanwhile ("not given")
        Object.keys(changes).forEach(function (k) { item[k] = changes[k]; });
        return tx.store.put(item).then(function () { return tx.done; }).then(function () { return item; });
      });
    });
  }

  function removeItems(predicate) {
    return dbp.then(function (db) {
      var tx = db.transaction("queue", "readwrite");
      return tx.store.getAll().then(function (items) {
        return Promise.all(items.filter(predicate).map(function (item) { return tx.store.delete(item.seq); }));
      }).then(function () { return tx.done; });
    });
  }

  function addItem(item) {
    item.state = "waiting";
    item.created_at = new Date().toISOString();
    return dbp.then(function (db) { return db.add("queue", item); }).catch(function (err) {
      if (err && err.name === "ConstraintError") return null;  // the same action twice (a double tap)
      throw err;
    });
  }

  // --- the session list as last known -------------------------------------------------

  function rows() { return document.querySelectorAll("#list-tables tr.person"); }
  function row(ref) { return document.getElementById("row-" + ref); }

  function peopleFromPage() {
    var people = {};
    rows().forEach(function (tr) {
      var ref = tr.getAttribute("data-ref");
      if (!ref) return;
      var done = tr.getAttribute("data-status") === "vaccinated";
      people[ref] = {
        ref: ref, name: tr.getAttribute("data-name"), gender: tr.getAttribute("data-gender"),
        birth_year: tr.getAttribute("data-birth-year"), id_type: tr.getAttribute("data-id-type"),
        last4: tr.getAttribute("data-last4"), status: done ? "vaccinated" : "due",
        vaccination: tr.getAttribute("data-vaccination") || null, at: tr.getAttribute("data-at") || null
      };
    });
    return people;
  }

  function saveList(renderedAt) {
    if (!SESSION) return Promise.resolve();
    return dbp.then(function (db) {
      return db.put("lists", { session: SESSION, rendered_at: renderedAt, people: peopleFromPage() });
    });
  }

  // A fresh page from the server is the truth; a kept copy (served by the worker while
  // offline) is older than what this device learnt since, so the kept list is laid on it.
  function loadList() {
    if (!SESSION) return Promise.resolve();
    return dbp.then(function (db) { return db.get("lists", SESSION); }).then(function (kept) {
      if (!kept || RENDERED_AT > kept.rendered_at) return saveList(RENDERED_AT);
      Object.keys(kept.people).forEach(function (ref) {
        var person = kept.people[ref], tr = row(ref);
        if (tr && person.status === "vaccinated" && tr.getAttribute("data-status") === "due") {
          showVaccinated(tr, person.vaccination, person.at, null);
        }
      });
      return saveList(kept.rendered_at);
    });
  }

  function rememberList() {
    if (!SESSION) return Promise.resolve();
    return dbp.then(function (db) { return db.get("lists", SESSION); }).then(function (kept) {
      return saveList(Math.max(RENDERED_AT, kept ? kept.rendered_at : 0));
    });
  }

  // --- rows ---------------------------------------------------------------------------
  var originalActs = {};

  function moveToDone(tr) {
    var ref = tr.getAttribute("data-ref");
    var act = tr.querySelector("td.act");
    if (!(ref in originalActs) && tr.getAttribute("data-status") === "due") originalActs[ref] = act.cloneNode(true);
    var done = document.getElementById("done-body");
    if (done && tr.parentNode !== done) done.insertBefore(tr, done.firstChild);
    act.textContent = "";
    var error = tr.querySelector(".who .offline-error");
    if (error) error.remove();
    return act;
  }

  function showVaccinated(tr, vaccinationId, at, item) {
    var act = moveToDone(tr);
    tr.setAttribute("data-status", "vaccinated");
    tr.className = "person person-vaccinated";
    if (vaccinationId) tr.setAttribute("data-vaccination", vaccinationId);
    if (at) tr.setAttribute("data-at", at);
    act.appendChild(el("span", { "class": "badge badge-done" }, "✓ " + T.vaccinated + (at ? " " + clock(at) : "")));
    if (item) act.appendChild(el("span", { "class": "q-badge q-sent" }, T.stateSent));
    if (item) {
      act.appendChild(aefiButton(item));
    } else if (vaccinationId && AEFI_URL_ZERO) {
      var link = el("a", { "class": "btn btn-small", href: AEFI_URL_ZERO.replace("/0/", "/" + vaccinationId + "/"),
        "data-aefi-vaccination": vaccinationId }, T.aefi);
      act.appendChild(link);
    }
  }

  function showQueued(tr, item) {
    var act = moveToDone(tr);
    tr.setAttribute("data-status", "queued");
    tr.className = "person person-queued";
    act.appendChild(el("span", { "class": "q-badge q-waiting" }, "⏳ " + T.stateWaiting + " · " + clock(item.administered_at)));
    act.appendChild(aefiButton(item));
  }

  function showRefused(tr, item) {
    var act = moveToDone(tr);
    tr.setAttribute("data-status", "refused");
    tr.className = "person person-refused";
    act.appendChild(el("span", { "class": "q-badge q-refused" }, "✗ " + T.stateRefused));
    var who = tr.querySelector(".who");
    who.appendChild(el("span", { "class": "field-error offline-error", role: "alert" }, t("refusedReason", { reason: item.reason })));
  }

  function restoreDue(ref) {
    var tr = row(ref), act = originalActs[ref];
    if (!tr || !act || tr.getAttribute("data-status") === "vaccinated") return;
    var error = tr.querySelector(".offline-error");
    if (error) error.remove();
    tr.querySelector("td.act").replaceWith(act);
    delete originalActs[ref];
    tr.setAttribute("data-status", "due");
    tr.className = "person person-due";
    var due = document.getElementById("due-body");
    if (due) due.appendChild(tr);
    if (window.htmx) htmx.process(tr);
  }

  function aefiButton(item) {
    return el("button", { type: "button", "class": "btn btn-small", "data-aefi-client": item.client_id,
      "data-name": item.name, "data-ref": item.reference_id }, T.aefi);
  }

  function recount() {
    var due = document.getElementById("count-due-n");
    var done = document.getElementById("count-done-n");
    if (due) due.textContent = document.querySelectorAll("#due-body tr.person[data-status=due]").length;
    if (done) done.textContent = document.querySelectorAll("#done-body tr.person:not([data-status=refused])").length;
    var search = document.querySelector("input[data-filter]");
    if (search && search.value) search.dispatchEvent(new Event("input"));
  }

  // --- the banner and the outbox ------------------------------------------------------
  var net = { reachable: true, signedIn: true, sending: false };

  function render(items) {
    var live = items.filter(function (i) { return !i.acked; });
    var waiting = live.filter(function (i) { return i.state === "waiting"; }).length;
    var refused = live.filter(function (i) { return i.state === "refused"; }).length;
    renderBanner(waiting, refused);
    if (SESSION) {
      var mine = live.filter(function (i) { return i.session === SESSION; });
      renderOutbox(mine);
      mine.forEach(function (item) {
        if (item.kind !== "dose") return;
        var tr = row(item.reference_id);
        if (!tr) return;
        if (item.state === "waiting") showQueued(tr, item);
        else if (item.state === "refused") showRefused(tr, item);
        else if (item.state === "sent" && tr.getAttribute("data-status") !== "vaccinated") {
          showVaccinated(tr, item.vaccination_id, item.administered_at, item);
        }
      });
      recount();
    }
    counts.waiting = waiting;
  }
  var counts = { waiting: 0 };

  function renderBanner(waiting, refused) {
    var banner = document.getElementById("net-banner");
    if (!banner) return;
    var offline = !navigator.onLine;
    var state = offline ? T.offline : !net.signedIn ? T.signedOut : !net.reachable ? T.unreachable : T.online;
    var kind = offline || !net.reachable ? "net-offline" : !net.signedIn || refused ? "net-warn" : "net-online";
    banner.className = "net-banner " + kind;
    banner.setAttribute("data-state", offline ? "offline" : !net.signedIn ? "signed-out" : !net.reachable ? "unreachable" : "online");
    banner.setAttribute("data-waiting", waiting);
    banner.hidden = false;
    document.getElementById("net-state").textContent = state;
    var count = waiting ? t("waiting", { n: waiting }) : T.allSent;
    if (net.sending && waiting) count = T.sending + " " + count;
    document.getElementById("net-count").textContent = count;
    var refusedNode = document.getElementById("net-refused");
    refusedNode.textContent = refused ? t("refusedCount", { n: refused }) : "";
    refusedNode.hidden = !refused;
    document.getElementById("send-now").hidden = !waiting;
    document.getElementById("sign-in").hidden = net.signedIn;
  }

  function outboxEntry(item) {
    var li = el("li", { "class": "q q-" + item.state, "data-client-id": item.client_id, "data-state": item.state });
    li.appendChild(el("span", { "class": "q-name" }, item.name));
    var what = item.kind === "dose" ? t("dose", { dose: item.dose }) + " · " + t("givenAt", { time: clock(item.administered_at) })
      : T.aefi + " (" + (item.severity_label || item.severity) + ") · " + clock(item.observed_at);
    li.appendChild(el("span", { "class": "q-what muted" }, what));
    var label = { waiting: "⏳ " + T.stateWaiting, sent: "✓ " + T.stateSent, refused: "✗ " + T.stateRefused }[item.state];
    li.appendChild(el("span", { "class": "q-state" }, label));
    if (item.state === "refused") {
      li.appendChild(el("span", { "class": "q-reason field-error", role: "alert" }, item.reason));
      li.appendChild(el("button", { type: "button", "class": "btn btn-small", "data-ack": item.client_id }, T.acknowledge));
    } else if (item.state === "waiting" && item.kind === "dose") {
      li.appendChild(el("button", { type: "button", "class": "btn btn-small", "data-cancel": item.client_id }, T.cancel));
    }
    return li;
  }

  // Waiting and refused records in view; sent ones folded away (a day's worth of them
  // would push the list down), each still showing its state.
  function renderOutbox(items) {
    var box = document.getElementById("outbox");
    if (!box) return;
    var open = document.getElementById("outbox-list"), sent = document.getElementById("outbox-sent-list");
    open.textContent = "";
    sent.textContent = "";
    var nSent = 0;
    items.forEach(function (item) {
      if (item.state === "sent") { sent.appendChild(outboxEntry(item)); nSent += 1; }
      else open.appendChild(outboxEntry(item));
    });
    document.getElementById("outbox-sent").hidden = nSent === 0;
    document.getElementById("outbox-sent-n").textContent = t("sentCount", { n: nSent });
    box.hidden = items.length === 0;
  }

  function refresh() { return allItems().then(render); }

  // --- queueing -------------------------------------------------------------------------

  function markForm(node) { return node && node.closest ? node.closest("form[data-mark]") : null; }

  function queueDose(form, clientId) {
    var tr = form.closest("tr.person");
    if (!tr || tr.getAttribute("data-status") !== "due") return Promise.resolve();
    var lot = document.getElementById("lot_number");
    var item = {
      client_id: clientId || uuid(), kind: "dose", session: SESSION, sync_url: SYNC_URL,
      reference_id: tr.getAttribute("data-ref"), name: tr.getAttribute("data-name"), dose: DOSE,
      lot_number: lot ? lot.value.trim() : "", administered_at: new Date().toISOString()
    };
    showQueued(tr, item);  // at once: the vaccinator sees the tap worked before storage answers
    recount();
    return addItem(item).then(refresh, function () {
      restoreDue(item.reference_id);  // not kept: say so, never pretend
      recount();
      var box = document.getElementById("messages");
      notice(box ? box.getAttribute("data-offline") : "");
    }).then(function () {
      var search = document.querySelector("input[data-filter]");
      if (search) { search.focus(); search.select(); }
    });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = markForm(event.detail.elt);
    if (form && storageOk && (!navigator.onLine || !net.reachable)) {
      event.preventDefault();  // no network: straight to the queue, no waiting on a dead line
      queueDose(form, null);
    }
  });

  // The request could not complete: it may or may not have reached the server, so the
  // queued copy keeps the form's client_id — if it did arrive, sending it again replays it.
  function requestFailed(event) {
    var form = markForm(event.detail.elt);
    if (!form || !storageOk) return;
    var xhr = event.detail.xhr;
    if (event.type === "htmx:responseError" && xhr && xhr.status < 500) return;
    event.stopPropagation();  // covax.js would say "nothing was saved": it is saved, here
    net.reachable = false;
    var key = form.querySelector("input[name=client_id]");
    queueDose(form, key ? key.value : null);
  }
  ["htmx:sendError", "htmx:timeout", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, requestFailed, true);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status && xhr.status < 500) { net.reachable = true; net.signedIn = true; }
  });
  document.addEventListener("htmx:afterSettle", function () { rememberList(); });

  // --- sending --------------------------------------------------------------------------

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function payload(item) {
    if (item.kind === "dose") {
      return { kind: "dose", client_id: item.client_id, reference_id: item.reference_id,
        lot_number: item.lot_number, administered_at: item.administered_at };
    }
    return { kind: "aefi", client_id: item.client_id, dose_client_id: item.dose_client_id || undefined,
      vaccination: item.vaccination || undefined, severity: item.severity, notes: item.notes, observed_at: item.observed_at };
  }

  function send(item) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    return fetch(item.sync_url, {
      method: "POST", credentials: "same-origin", redirect: "manual", signal: controller.signal,
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(payload(item))
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      return (json ? response.json() : Promise.resolve(null)).then(function (body) {
        return { status: response.type === "opaqueredirect" ? 401 : response.status, body: body };
      });
    }).finally(function () { clearTimeout(timer); });
  }

  // What an answer means for the queued record: sent, refused (final: a person must see
  // it), or not answered (try again later, in the same order).
  function outcome(answer) {
    if (answer.status === 200 || answer.status === 201) return "sent";
    if ([400, 404, 409, 422].indexOf(answer.status) !== -1) return "refused";
    if (answer.status === 403 && answer.body) return "refused";  // not allowed to record doses
    if (answer.status === 401 || answer.status === 403) return "signed-out";  // 403 without JSON: a stale CSRF token
    return "later";
  }

  function sendOne(item) {
    return send(item).then(function (answer) {
      var result = outcome(answer);
      if (result === "sent") {
        net.reachable = true; net.signedIn = true;
        var dose = answer.body.vaccination;
        return updateItem(item.client_id, { state: "sent", sent_at: new Date().toISOString(),
          vaccination_id: dose ? dose.id : null }).then(function () { return true; });
      }
      if (result === "refused") {
        net.reachable = true;
        return updateItem(item.client_id, { state: "refused", code: answer.body ? answer.body.code : "",
          reason: (answer.body && answer.body.detail) || T.failedGeneric }).then(function () { return true; });
      }
      if (result === "signed-out") net.signedIn = false;
      else net.reachable = false;
      return false;
    }, function () {
      net.reachable = false;  // no answer at all: the record stays waiting, in its place
      return false;
    });
  }

  function runSync() {
    net.sending = true;
    return allItems().then(function (items) {
      var waiting = items.filter(function (i) { return i.state === "waiting"; });
      if (waiting.length) refresh();
      // Strictly in order, one at a time: an adverse event goes after its dose; a record
      // that gets no answer stops the run, so nothing overtakes it.
      return waiting.reduce(function (chain, item) {
        return chain.then(function (go) {
          if (!go) return false;
          return itemByClientId(item.client_id).then(function (current) {
            if (!current || current.state !== "waiting") return true;  // removed or sent meanwhile
            return sendOne(current);
          });
        });
      }, Promise.resolve(true));
    }).finally(function () {
      net.sending = false;
      return refresh().then(rememberList);
    });
  }

  function syncNow() {
    if (net.sending) return Promise.resolve();
    // One tab sends at a time (a second tab would only replay, but in a muddled order).
    if (navigator.locks) {
      return navigator.locks.request("covax-sync", { ifAvailable: true }, function (lock) {
        return lock ? runSync() : null;
      });
    }
    return runSync();
  }

  window.addEventListener("online", function () { net.reachable = true; refresh(); syncNow(); });
  window.addEventListener("offline", function () { refresh(); });
  setInterval(function () { if (navigator.onLine && counts.waiting) syncNow(); }, PERIOD_MS);

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button, a") : null;
    if (!target) return;
    if (target.id === "send-now") { net.reachable = true; syncNow(); return; }
    if (target.hasAttribute("data-ack")) {
      var ack = target.getAttribute("data-ack");
      itemByClientId(ack).then(function (item) {
        return updateItem(ack, { acked: true }).then(function () {
          if (item && item.kind === "dose") {
            // Vaccinated elsewhere: not on this list any more (a fresh list leaves them out too).
            // Any other refusal: the person is still due here.
            var tr = row(item.reference_id);
            if (item.code === "already_vaccinated") { if (tr && tr.getAttribute("data-status") === "refused") tr.remove(); }
            else restoreDue(item.reference_id);
          }
          return refresh();
        });
      });
      return;
    }
    if (target.hasAttribute("data-cancel")) {
      var cancel = target.getAttribute("data-cancel");
      if (!window.confirm(T.cancelAsk)) return;
      itemByClientId(cancel).then(function (item) {
        if (!item || item.state !== "waiting") return refresh();
        // The dose and any adverse event queued against it.
        return removeItems(function (i) { return i.client_id === cancel || i.dose_client_id === cancel; }).then(function () {
          restoreDue(item.reference_id);
          return refresh();
        });
      });
      return;
    }
    if (target.hasAttribute("data-aefi-client")) { openAefi({ dose_client_id: target.getAttribute("data-aefi-client") }, target); return; }
    var offline = !navigator.onLine || !net.reachable;
    if (offline && target.hasAttribute("data-aefi-vaccination")) {
      event.preventDefault();
      openAefi({ vaccination: Number(target.getAttribute("data-aefi-vaccination")) }, target);
    } else if (offline && target.getAttribute("data-offline") === "verify") {
      event.preventDefault();
      var panel = document.getElementById("offline-verify");
      panel.hidden = false;
      document.getElementById("ov-type").focus();
    } else if (offline && target.getAttribute("data-offline") === "walk-in") {
      event.preventDefault();
      notice(T.walkInOffline);
    } else if (target.hasAttribute("data-print")) {
      window.print();
    } else if (target.hasAttribute("data-close")) {
      target.closest("section").hidden = true;
    }
  });

  function notice(text) {
    var box = document.getElementById("offline-notice");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  // --- adverse events offline -------------------------------------------------------------

  var aefiTarget = null;

  function openAefi(target, button) {
    var dialog = document.getElementById("aefi-dialog");
    if (!dialog || !SESSION) return;
    var tr = button.closest("tr.person");
    aefiTarget = target;
    aefiTarget.name = button.getAttribute("data-name") || (tr && tr.getAttribute("data-name")) || "";
    aefiTarget.ref = button.getAttribute("data-ref") || (tr && tr.getAttribute("data-ref")) || "";
    document.getElementById("aefi-who").textContent = aefiTarget.name + " · " + aefiTarget.ref;
    document.getElementById("aefi-form").reset();
    dialog.showModal();
  }

  var aefiDialog = document.getElementById("aefi-dialog");
  if (aefiDialog) {
    aefiDialog.addEventListener("close", function () {
      if (aefiDialog.returnValue !== "save" || !aefiTarget) return;
      var form = document.getElementById("aefi-form");
      var checked = form.querySelector("input[name=severity]:checked");
      if (!checked) return;
      var item = {
        client_id: uuid(), kind: "aefi", session: SESSION, sync_url: SYNC_URL,
        reference_id: aefiTarget.ref, name: aefiTarget.name, dose: DOSE,
        dose_client_id: aefiTarget.dose_client_id || null, vaccination: aefiTarget.vaccination || null,
        severity: checked.value, severity_label: checked.getAttribute("data-label"),
        notes: document.getElementById("aefi-notes").value.trim(), observed_at: new Date().toISOString()
      };
      aefiTarget = null;
      addItem(item).then(refresh).then(function () { if (navigator.onLine && net.reachable) syncNow(); });
    });
  }

  // --- verify by ID offline ---------------------------------------------------------------
  // Without the network only what the page already shows can be compared: the ID type,
  // its last 4 characters, the name and the year of birth. The full number cannot be
  // checked here, by design: the server knows people by a keyed hash (HMAC with a
  // server secret). Putting that key in the page would let anyone who has the page
  // confirm guessed ID numbers, and an unkeyed hash is no better — an Aadhaar number has
  // about 10^11 possible values, so any hash a browser can compute is reversed by trying
  // them all. So no full ID number, nor anything computed from it, ever comes to the page.

  function words(text) {
    return (text || "").normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{M}\p{N}\s]/gu, " ").split(/\s+/).filter(Boolean);
  }

  function nameMatches(stored, typed) {
    var have = words(stored), want = words(typed);
    return want.length > 0 && want.every(function (w) { return have.some(function (h) { return h.indexOf(w) === 0; }); });
  }

  var verifyForm = document.getElementById("ov-form");
  if (verifyForm) {
    verifyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var type = document.getElementById("ov-type").value;
      var last4 = document.getElementById("ov-last4").value.trim().toUpperCase();
      var name = document.getElementById("ov-name").value;
      var year = document.getElementById("ov-year").value.trim();
      var result = document.getElementById("ov-result");
      if (!type || last4.length !== 4 || !words(name).length || !/^\d{4}$/.test(year)) {
        result.className = "alert alert-warning";
        result.textContent = T.verifyIncomplete;
        return;
      }
      var found = Array.prototype.filter.call(rows(), function (tr) {
        return tr.getAttribute("data-id-type") === type && (tr.getAttribute("data-last4") || "").toUpperCase() === last4 &&
          tr.getAttribute("data-birth-year") === year && nameMatches(tr.getAttribute("data-name"), name);
      });
      var search = document.getElementById("q");
      if (found.length === 1) {
        result.className = "alert alert-success";
        result.textContent = t("verifyOne", { name: found[0].getAttribute("data-name") });
        if (search) { search.value = found[0].getAttribute("data-ref"); search.dispatchEvent(new Event("input")); }
      } else if (found.length > 1) {
        result.className = "alert alert-warning";
        result.textContent = t("verifyMany", { n: found.length });
        if (search) { search.value = name; search.dispatchEvent(new Event("input")); }
      } else {
        result.className = "alert alert-error";
        result.textContent = T.verifyNone;
      }
    });
  }

  // --- signing out ----------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.action || new URL(form.action, location.href).pathname !== "/logout/") return;
    if (counts.waiting && !window.confirm(t("signOutAsk", { n: counts.waiting }))) event.preventDefault();
  }, true);

  // --- the service worker ---------------------------------------------------------------
  function keepPages() {
    var urls = [location.pathname];
    document.querySelectorAll("[data-offline-page]").forEach(function (a) { urls.push(a.getAttribute("href")); });
    navigator.serviceWorker.ready.then(function (registration) {
      // A page the worker did not serve (the first visit) is fetched once more to be kept.
      var refresh = controlledAtLoad ? [] : [location.pathname];
      registration.active.postMessage({ type: "keep-pages", urls: urls, refresh: refresh });
    });
  }
  var controlledAtLoad = "serviceWorker" in navigator && !!navigator.serviceWorker.controller;
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(keepPages).catch(function () {});
  }

  // --- start --------------------------------------------------------------------------------
  removeItems(function (i) {
    return (i.state === "sent" || i.acked) && Date.now() - Date.parse(i.sent_at || i.created_at) > KEEP_SENT_MS;
  }).then(loadList).then(refresh).then(function () {
    if (navigator.onLine) return syncNow();
  });
})();
