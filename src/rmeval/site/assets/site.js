/* rmeval results site: every page of it, drawn from the data scripts beside it (rmeval/site/__init__.py).
   Vanilla JavaScript, no network: data arrive as scripts calling rmeval.put(key, value), item chunks as scripts
   added when an item is opened. Every piece of data reaches the page as text (textContent, attribute values),
   never as HTML, so a response holding markup is shown as the characters it is. */
(function () {
  "use strict";

  var store = {};
  window.rmeval = { put: function (key, value) { store[key] = value; } };

  // ------------------------------------------------------------------------------------------ DOM helpers
  function h(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.className = value;
      else if (key === "data") Object.keys(value).forEach(function (k) { node.dataset[k] = String(value[k]); });
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = function () { reject(new Error("cannot load " + src)); };
      document.head.appendChild(tag);
    });
  }

  var body = document.body;
  var ROOT = body.dataset.root || "";
  var BENCH = body.dataset.benchmark;
  var main = document.getElementById("main");

  function benchUrl(dir, page, hash) {
    return ROOT + "benchmarks/" + encodeURIComponent(dir) + "/" + page + ".html" + (hash ? "#" + hash : "");
  }

  // ------------------------------------------------------------------------------------------ numbers
  function isNum(v) { return typeof v === "number" && isFinite(v); }

  function fixed(v, digits) { return isNum(v) ? v.toFixed(digits) : (v === null || v === undefined ? "–" : String(v)); }

  function score(v) {  // an RM's score or a judge score: exact integers as they are, else 5 significant digits
    if (!isNum(v)) return v === null || v === undefined ? "–" : String(v);
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
  }

  var OUTCOME = { R: "✓ right", W: "✗ wrong", T: "= tie", I: "! invalid", "-": "n/a" };
  var OUTCOME_TITLE = {
    R: "right: the chosen response above every rejected one (judges: won under the benchmark's order rule)",
    W: "wrong: a rejected response ranked above the chosen one",
    T: "tie: the chosen response level with the best rejected one (counts as wrong)",
    I: "invalid: a score that is not finite or an invalid verdict (counts as wrong)",
    "-": "not judged item by item (the benchmark scores this format as a group)"
  };

  function outcomeCell(code, rm) {
    return h("td", { class: "o-" + code, title: OUTCOME_TITLE[code], data: { rm: rm, outcome: code } }, [OUTCOME[code] || code]);
  }

  // ------------------------------------------------------------------------------------------ navigation
  function drawNav() {
    var nav = store.nav || { run: "", benchmarks: [] };
    var header = clear(document.getElementById("nav"));
    header.appendChild(h("a", { class: "brand", href: ROOT + "index.html" }, ["rmeval results" + (nav.run ? ": " + nav.run : "")]));
    nav.benchmarks.forEach(function (b) {
      var page = body.dataset.page;
      var here = b.name === BENCH;
      header.appendChild(h("span", { class: "bench" }, [
        h("b", { text: b.name }),
        h("a", { href: benchUrl(b.dir, "leaderboard"), class: here && page === "leaderboard" ? "current" : null }, ["leaderboard"]),
        h("a", { href: benchUrl(b.dir, "items"), class: here && page === "items" ? "current" : null }, ["items"]),
        h("a", { href: benchUrl(b.dir, "suspect"), class: here && page === "suspect" ? "current" : null }, ["suspect"])
      ]));
    });
  }

  // ------------------------------------------------------------------------------------------ leaderboards
  function columnKinds(table) {  // per column: "ci" | "int" | "num" | "bool" | "text"
    var kinds = {};
    table.columns.forEach(function (col) {
      var values = table.rows.map(function (r) { return r[col.name]; }).filter(function (v) { return v !== null && v !== undefined; });
      if (col.ci) kinds[col.name] = "ci";
      else if (values.length && values.every(function (v) { return typeof v === "boolean"; })) kinds[col.name] = "bool";
      else if (values.length && values.every(isNum)) kinds[col.name] = values.every(Number.isInteger) ? "int" : "num";
      else kinds[col.name] = "text";
    });
    return kinds;
  }

  function boardCell(row, col, kind) {
    var v = row[col.name];
    var data = { column: col.name, value: v === null || v === undefined ? "" : v };
    if (kind === "ci") {
      var lo = row[col.name + " lo"], hi = row[col.name + " hi"];
      return h("td", { class: "num", data: data }, [fixed(v, 3),
        isNum(lo) && isNum(hi) ? h("span", { class: "ci" }, [" [" + lo.toFixed(3) + ", " + hi.toFixed(3) + "]"]) : null]);
    }
    if (kind === "int") return h("td", { class: "num", data: data }, [v === null || v === undefined ? "–" : String(v)]);
    if (kind === "num") return h("td", { class: "num", data: data }, [fixed(v, 3)]);
    if (kind === "bool") return h("td", { data: data }, [v === null || v === undefined ? "–" : (v ? "yes" : "no")]);
    return h("td", { data: data, class: col.name === "rm" ? "rm" : null }, [v === null || v === undefined ? "–" : String(v)]);
  }

  function compareValues(a, b) {  // missing values last, numbers by value, the rest as text
    var am = a === null || a === undefined || a === "", bm = b === null || b === undefined || b === "";
    if (am || bm) return am === bm ? 0 : (am ? 1 : -1);
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function leaderboardTable(table, id) {
    var kinds = columnKinds(table);
    // the row's place in the file: shown as "#" where the file has no rank column of its own
    var rows = table.rows.map(function (r, i) { return { position: i + 1, row: r }; });
    var ownRank = table.columns.some(function (c) { return c.name === "rank"; });
    var state = { key: null, dir: 1 };
    var wrap = h("div", { class: "board" });
    var tbl = h("table", { id: id, class: "leaderboard" });
    var headers = (ownRank ? [] : [{ name: "#", label: "#" }]).concat(table.columns.map(function (c) {
      return { name: c.name, label: c.name === "rm" ? "RM" : c.name, col: c };
    }));
    var headRow = h("tr");
    headers.forEach(function (hd) {
      var th = h("th", { class: "sortable" + (hd.name === "rm" ? " rm" : ""), data: { column: hd.name }, title: "sort by " + hd.label, scope: "col" }, [hd.label]);
      th.addEventListener("click", function () { sortBy(hd.name); });
      headRow.appendChild(th);
    });
    tbl.appendChild(h("thead", {}, [headRow]));
    var tbody = h("tbody");
    tbl.appendChild(tbody);

    function value(entry, key) { return key === "#" ? entry.position : entry.row[key]; }

    function sortBy(key) {  // first click: best first (numbers descending; ranks, names and text ascending)
      var ascending = key === "#" || key === "rm" || kinds[key] === "text" || /rank/.test(key);
      state.dir = state.key === key ? -state.dir : (ascending ? 1 : -1);
      state.key = key;
      rows.sort(function (a, b) {
        var va = value(a, key), vb = value(b, key);
        var missing = compareValues(va, vb);
        if (va === null || va === undefined || vb === null || vb === undefined) return missing;
        return state.dir * missing || a.position - b.position;
      });
      Array.prototype.forEach.call(headRow.children, function (th) {
        if (th.dataset.column === key) th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      });
      draw();
    }

    function draw() {
      clear(tbody);
      rows.forEach(function (entry) {
        var tr = h("tr", { data: { rm: entry.row.rm } }, ownRank ? [] : [h("td", { class: "num", data: { column: "#", value: entry.position } }, [String(entry.position)])]);
        table.columns.forEach(function (col) { tr.appendChild(boardCell(entry.row, col, kinds[col.name])); });
        tbody.appendChild(tr);
      });
    }
    draw();
    wrap.appendChild(tbl);
    return wrap;
  }

  function prose(text) {
    var out = [];
    (text.paragraphs || []).forEach(function (p) { out.push(h("p", { class: "lead" }, [p])); });
    if ((text.notes || []).length) out.push(h("ul", { class: "notes" }, text.notes.map(function (n) { return h("li", {}, [n]); })));
    return out;
  }

  function figureGrid(figures, folder) {
    if (!figures.length) return h("p", { class: "note" }, ["No figures for this benchmark in this run."]);
    return h("div", { class: "figures" }, figures.map(function (f) {
      return h("figure", {}, [
        h("img", { src: folder + encodeURIComponent(f.file), alt: f.title, loading: "lazy" }),
        h("figcaption", {}, [h("b", {}, [f.title + ". "]), f.caption])
      ]);
    }));
  }

  function significanceMatrix(sig, order) {
    var wrap = h("div", { class: "significance" });
    if (!sig.rows.length) {
      wrap.appendChild(h("p", { class: "note" }, ["No paired tests for this benchmark in this run (one RM, or the benchmark has no per-item right/wrong outcomes)."]));
      return wrap;
    }
    var columns = [];
    sig.rows.forEach(function (r) { if (columns.indexOf(r.column) < 0) columns.push(r.column); });
    var select = h("select", { id: "sig-column" }, columns.map(function (c) { return h("option", { value: c }, [c]); }));
    select.value = columns.indexOf(sig.primary) >= 0 ? sig.primary : columns[0];
    var holder = h("div");
    wrap.appendChild(h("p", { class: "note" }, [
      "Row RM minus column RM on the same items (paired bootstrap; Holm-adjusted p-values across pairs). Shaded cells: adjusted p < " + sig.alpha + ". Column: ",
      select]));
    wrap.appendChild(holder);

    function draw() {
      var col = select.value;
      var rows = sig.rows.filter(function (r) { return r.column === col; });
      var rms = order.filter(function (rm) { return rows.some(function (r) { return r.rm_a === rm || r.rm_b === rm; }); });
      var tbl = h("table", { class: "matrix" });
      tbl.appendChild(h("thead", {}, [h("tr", {}, [h("th", {}, ["row − column"])].concat(rms.map(function (rm) { return h("th", {}, [rm]); })))]));
      var tbody = h("tbody");
      rms.forEach(function (a) {
        var tr = h("tr", {}, [h("th", {}, [a])]);
        rms.forEach(function (b) {
          if (a === b) { tr.appendChild(h("td", { class: "num" }, ["—"])); return; }
          var r = rows.filter(function (x) { return x.rm_a === a && x.rm_b === b; })[0];
          var sign = 1;
          if (!r) { r = rows.filter(function (x) { return x.rm_a === b && x.rm_b === a; })[0]; sign = -1; }
          if (!r) { tr.appendChild(h("td", { class: "num" }, ["–"])); return; }
          var p = r.p_boot_holm;
          var lo = sign > 0 ? r.diff_lo : (isNum(r.diff_hi) ? -r.diff_hi : null);
          var hi = sign > 0 ? r.diff_hi : (isNum(r.diff_lo) ? -r.diff_lo : null);
          var title = "difference " + fixed(sign * r.diff, 3) + (isNum(lo) && isNum(hi) ? " [" + lo.toFixed(3) + ", " + hi.toFixed(3) + "]" : "") +
            (isNum(p) ? ", Holm-adjusted p = " + p.toPrecision(3) : "") + (isNum(r.n_items) ? ", " + r.n_items + " items" : "");
          tr.appendChild(h("td", { class: "num" + (isNum(p) && p < sig.alpha ? " sig" : ""), title: title }, [(sign * r.diff >= 0 ? "+" : "") + fixed(sign * r.diff, 3)]));
        });
        tbody.appendChild(tr);
      });
      tbl.appendChild(tbody);
      clear(holder).appendChild(tbl);
    }
    select.addEventListener("change", draw);
    draw();
    return wrap;
  }

  function pageIndex() {
    var data = store.overview;
    document.title = "rmeval results: " + data.run;
    clear(main);
    main.appendChild(h("h1", {}, ["Run " + data.run + ": every benchmark"]));
    main.appendChild(h("h2", {}, ["Leaderboard across benchmarks"]));
    prose(data.text).forEach(function (n) { main.appendChild(n); });
    main.appendChild(leaderboardTable(data.leaderboard, "leaderboard"));
    main.appendChild(h("h2", {}, ["Benchmarks"]));
    var tbl = h("table", { class: "benchmarks" }, [h("thead", {}, [h("tr", {}, ["benchmark", "items", "unique texts", "RMs",
      "no non-baseline RM right", "identical texts", "label vs judge", "pages"].map(function (t) { return h("th", {}, [t]); }))])]);
    var tbody = h("tbody");
    data.benchmarks.forEach(function (b) {
      tbody.appendChild(h("tr", {}, [
        h("td", { title: b.description }, [b.benchmark]),
        h("td", { class: "num" }, [b.n_items.toLocaleString("en")]),
        h("td", { class: "num" }, [b.n_texts.toLocaleString("en")]),
        h("td", {}, [b.rms.join(", ")]),
        h("td", { class: "num" }, [String(b.suspect.all_wrong)]),
        h("td", { class: "num" }, [String(b.suspect.identical)]),
        h("td", { class: "num" }, [String(b.suspect.judge_conflict)]),
        h("td", {}, [h("a", { href: benchUrl(b.dir, "leaderboard") }, ["leaderboard"]), " · ",
          h("a", { href: benchUrl(b.dir, "items") }, ["items"]), " · ", h("a", { href: benchUrl(b.dir, "suspect") }, ["suspect items"])])
      ]));
    });
    tbl.appendChild(tbody);
    main.appendChild(tbl);
    if (data.figures.length) {
      main.appendChild(h("h2", {}, ["Figures across benchmarks"]));
      main.appendChild(figureGrid(data.figures, "assets/img/"));
    }
  }

  function pageLeaderboard() {
    var s = store.summary;
    clear(main);
    main.appendChild(h("h1", {}, [s.text.title || "Leaderboard: " + s.benchmark]));
    if (s.description) main.appendChild(h("p", { class: "lead" }, [s.description]));
    prose({ paragraphs: s.text.paragraphs }).forEach(function (n) { main.appendChild(n); });
    main.appendChild(leaderboardTable(s.leaderboard, "leaderboard"));
    if (s.text.notes.length) {
      main.appendChild(h("h3", {}, ["Notes"]));
      prose({ notes: s.text.notes }).forEach(function (n) { main.appendChild(n); });
    }
    main.appendChild(h("h2", {}, ["Paired tests between RMs"]));
    main.appendChild(significanceMatrix(s.significance, s.leaderboard.rows.map(function (r) { return String(r.rm); })));
    main.appendChild(h("h2", {}, ["Figures"]));
    main.appendChild(figureGrid(s.figures, "img/"));
  }

  // ------------------------------------------------------------------------------------------ items
  var FLAG_IDENTICAL = 1, FLAG_CONFLICT = 2, FLAG_ALL_WRONG = 4;
  var PAGE_SIZE = 25;

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var state = {};
    params.forEach(function (v, k) { state[k] = v; });
    return state;
  }

  function hashOf(state) {
    var params = new URLSearchParams();
    Object.keys(state).forEach(function (k) { if (state[k] !== "" && state[k] !== undefined && state[k] !== null) params.set(k, state[k]); });
    return params.toString();
  }

  var SHOW = [
    ["", "any item"],
    ["right", "the RM gets it right"],
    ["wrong", "the RM gets it wrong"],
    ["tie", "the RM ties"],
    ["invalid", "the RM's outcome is invalid"],
    ["disagree", "two RMs disagree (one right, one not)"],
    ["all_wrong", "every non-baseline RM wrong"],
    ["identical", "identical chosen and rejected texts"],
    ["conflict", "label vs judge score conflict"]
  ];
  var SHOW_CODE = { right: "R", wrong: "W", tie: "T", invalid: "I" };

  function matches(index, state) {
    var rms = Object.keys(index.outcomes);
    var rm = rms.indexOf(state.rm) >= 0 ? state.rm : rms[0];
    var rm2 = rms.indexOf(state.rm2) >= 0 ? state.rm2 : rms[1];
    var want = {};
    ["format", "goal", "task", "scenario"].forEach(function (col) {
      if (state[col] !== undefined && state[col] !== "") want[col] = index.vocab[col].indexOf(state[col]);
    });
    var out = [];
    for (var i = 0; i < index.ids.length; i++) {
      var ok = true;
      for (var col in want) { if (index[col][i] !== want[col]) { ok = false; break; } }
      if (!ok) continue;
      var show = state.show || "";
      if (SHOW_CODE[show]) ok = rm !== undefined && index.outcomes[rm][i] === SHOW_CODE[show];
      else if (show === "disagree") {
        var a = rm === undefined ? "-" : index.outcomes[rm][i], b = rm2 === undefined ? "-" : index.outcomes[rm2][i];
        ok = a !== "-" && b !== "-" && (a === "R") !== (b === "R");
      }
      else if (show === "all_wrong") ok = (index.flags[i] & FLAG_ALL_WRONG) !== 0;
      else if (show === "identical") ok = (index.flags[i] & FLAG_IDENTICAL) !== 0;
      else if (show === "conflict") ok = (index.flags[i] & FLAG_CONFLICT) !== 0;
      if (ok) out.push(i);
    }
    return out;
  }

  function selectControl(id, label, options, value, onchange) {
    var select = h("select", { id: id, name: id }, options.map(function (o) { return h("option", { value: o[0] }, [o[1]]); }));
    select.value = value || "";
    select.addEventListener("change", function () { onchange(select.value); });
    return h("label", {}, [label, select]);
  }

  function flagBadges(index, i) {
    var out = [];
    if (index.flags[i] & FLAG_IDENTICAL) out.push(h("span", { class: "badge warn" }, ["identical texts"]));
    if (index.flags[i] & FLAG_CONFLICT) out.push(h("span", { class: "badge warn" }, ["label vs judge"]));
    if (index.flags[i] & FLAG_ALL_WRONG) out.push(h("span", { class: "badge warn" }, ["no non-baseline RM right"]));
    return out;
  }

  function itemLink(state, id, label) {
    var next = Object.assign({}, state, { item: id });
    return h("a", { href: "#" + hashOf(next), class: "item-link", data: { item: id } }, [label || id]);
  }

  function itemTable(index, rows, state, pageLink) {
    var rms = Object.keys(index.outcomes);
    var tbl = h("table", { id: "item-list" });
    tbl.appendChild(h("thead", {}, [h("tr", {}, ["item", "format", "goal", "task", "scenario", "losers"].concat(rms).concat(["flags"]).map(function (t) {
      return h("th", {}, [t]);
    }))]));
    var tbody = h("tbody");
    rows.forEach(function (i) {
      var id = index.ids[i];
      var tr = h("tr", { data: { item: id } }, [
        h("td", {}, [pageLink(id)]),
        h("td", {}, [index.vocab.format[index.format[i]]]),
        h("td", {}, [index.vocab.goal[index.goal[i]]]),
        h("td", {}, [index.vocab.task[index.task[i]]]),
        h("td", {}, [index.vocab.scenario[index.scenario[i]]]),
        h("td", { class: "num" }, [String(index.losers[i])])
      ]);
      rms.forEach(function (rm) { tr.appendChild(outcomeCell(index.outcomes[rm][i], rm)); });
      tr.appendChild(h("td", {}, flagBadges(index, i)));
      tbody.appendChild(tr);
    });
    tbl.appendChild(tbody);
    return tbl;
  }

  function pager(total, page, size, go) {
    var pages = Math.max(1, Math.ceil(total / size));
    return h("div", { class: "pager" }, [
      h("button", { type: "button", id: "prev-page", disabled: page <= 1, onclick: function () { go(page - 1); } }, ["← previous"]),
      h("span", {}, ["page " + page + " of " + pages + " (" + total.toLocaleString("en") + (total === 1 ? " item)" : " items)")]),
      h("button", { type: "button", id: "next-page", disabled: page >= pages, onclick: function () { go(page + 1); } }, ["next →"])
    ]);
  }

  var chunkLoads = {};
  function loadChunk(k) {
    if (!chunkLoads[k]) chunkLoads[k] = loadScript("data/chunk-" + k + ".js").then(function () { return store["chunk-" + k]; });
    return chunkLoads[k];
  }

  function loadItem(index, i) {
    var id = index.ids[i];
    return loadChunk(index.chunk[i]).then(function (chunk) {
      var item = chunk.items[id];
      return Promise.all(item.more.map(loadChunk)).then(function (more) {
        var chunks = [chunk].concat(more);
        function find(kind, key) {
          for (var c = 0; c < chunks.length; c++) if (chunks[c][kind][key] !== undefined) return chunks[c][kind][key];
          return undefined;
        }
        return { item: item, text: function (tid) { return find("texts", tid); }, conversation: function (key) { return find("conversations", key); } };
      });
    });
  }

  function textBlock(text, attrs) { return h("pre", Object.assign({ class: "text" }, attrs || {}), [text]); }

  function drawItem(container, summary, index, i, loaded, state, nav) {
    var item = loaded.item, id = index.ids[i];
    var rms = summary.rms;
    clear(container);
    var links = [h("a", { href: "#" + hashOf(Object.assign({}, state, { item: "" })), id: "back" }, ["← back to the list"])];
    if (nav.prev !== null) links.push(" · ", itemLink(state, index.ids[nav.prev], "← previous item"));
    if (nav.next !== null) links.push(" · ", itemLink(state, index.ids[nav.next], "next item →"));
    container.appendChild(h("p", {}, links));
    container.appendChild(h("h2", { id: "item-title", data: { item: id } }, ["Item " + id]));
    var meta = h("dl", { class: "meta" });
    [["format", index.vocab.format[index.format[i]]], ["goal", index.vocab.goal[index.goal[i]]], ["task", index.vocab.task[index.task[i]]],
     ["scenario", index.vocab.scenario[index.scenario[i]]], ["prompt", item.prompt_id], ["source", item.source]].forEach(function (kv) {
      meta.appendChild(h("dt", {}, [kv[0]])); meta.appendChild(h("dd", {}, [kv[1]]));
    });
    Object.keys(item.details || {}).forEach(function (k) {
      var v = item.details[k];
      meta.appendChild(h("dt", {}, [k])); meta.appendChild(h("dd", {}, [typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)]));
    });
    container.appendChild(meta);
    var badges = flagBadges(index, i);
    if (badges.length) container.appendChild(h("p", {}, badges));

    // the conversation (the responses' shared context)
    var first = loaded.text(item.chosen[0]);
    var turns = first ? loaded.conversation(first.conversation) || [] : [];
    container.appendChild(h("h3", {}, ["Conversation"]));
    var conv = h("div", { id: "conversation" });
    turns.forEach(function (t) {
      conv.appendChild(h("div", { class: "turn " + t.role }, [h("div", { class: "role" }, [t.role]), textBlock(t.content)]));
    });
    container.appendChild(conv);

    // chosen vs rejected, side by side
    var slots = item.chosen.map(function (tid, k) {
      return { tid: tid, kind: "chosen", label: item.chosen.length > 1 ? "Chosen " + (k + 1) : "Chosen", judge: k === 0 ? item.chosen_score : null, model: k === 0 ? item.chosen_model : null };
    }).concat(item.rejected.map(function (tid, k) {
      return { tid: tid, kind: "rejected", label: item.rejected.length > 1 ? "Rejected " + (k + 1) : "Rejected",
        judge: item.rejected_scores[k], model: (item.rejected_models || [])[k] };
    }));
    container.appendChild(h("h3", {}, ["Responses"]));
    var cards = h("div", { class: "cards", id: "responses" });
    slots.forEach(function (slot) {
      var text = loaded.text(slot.tid) || { response: "", model: null, judge_score: null };
      var judge = slot.judge !== null && slot.judge !== undefined ? slot.judge : text.judge_score;
      var head = [h("b", {}, [slot.label]), " · " + (slot.model || text.model || "model not given")];
      if (judge !== null && judge !== undefined) head.push(" · judge score " + score(judge));
      head.push(h("span", { class: "ci" }, [" · text " + slot.tid]));
      if (slot.kind === "rejected" && item.chosen.indexOf(slot.tid) >= 0) head.push(" ", h("span", { class: "badge warn" }, ["identical to the chosen text"]));
      cards.appendChild(h("div", { class: "card " + slot.kind, data: { slot: slot.kind, textId: slot.tid } }, [
        h("div", { class: "head" }, head), textBlock(text.response, { data: { textId: slot.tid, role: "response" } })
      ]));
    });
    container.appendChild(cards);

    // every RM: its scores and which way it went
    container.appendChild(h("h3", {}, ["Reward models"]));
    var tbl = h("table", { id: "rm-scores" });
    tbl.appendChild(h("thead", {}, [h("tr", {}, [h("th", {}, ["RM"]), h("th", {}, ["outcome"])].concat(slots.map(function (s) {
      return h("th", {}, [s.label]);
    })).concat([h("th", {}, ["margin (chosen − best rejected)"])]))]));
    var tbody = h("tbody");
    rms.forEach(function (rm) {
      var tr = h("tr", { data: { rm: rm.name } }, [h("td", {}, [rm.name + (rm.baseline ? " (baseline)" : "")]), outcomeCell(index.outcomes[rm.name][i], rm.name)]);
      if (rm.kind === "comparisons") {
        tr.appendChild(h("td", { colspan: slots.length + 1, class: "note" }, ["pairwise judge: its verdicts are below"]));
      } else {
        var values = slots.map(function (s) { var t = loaded.text(s.tid); return t ? t.scores[rm.name] : null; });
        values.forEach(function (v, k) {
          tr.appendChild(h("td", { class: "num", data: { rm: rm.name, textId: slots[k].tid, value: v === null || v === undefined ? "" : v } }, [score(v)]));
        });
        var chosenVals = values.slice(0, item.chosen.length), rejVals = values.slice(item.chosen.length);
        var margin = chosenVals.every(isNum) && rejVals.length && rejVals.every(isNum) ? chosenVals[0] - Math.max.apply(null, rejVals) : null;
        tr.appendChild(h("td", { class: "num" }, [margin === null ? "–" : score(margin)]));
      }
      tbody.appendChild(tr);
    });
    tbl.appendChild(tbody);
    container.appendChild(tbl);

    // pairwise judges: both orders, the verdict and the raw output
    rms.filter(function (rm) { return rm.kind === "comparisons"; }).forEach(function (rm) {
      container.appendChild(h("h3", {}, ["Judge " + rm.name + ": verdicts"]));
      var rows = (item.verdicts || {})[rm.name] || [];
      if (!rows.length) { container.appendChild(h("p", { class: "note" }, ["No comparison of this item."])); return; }
      var vt = h("table", { class: "verdicts", data: { rm: rm.name } }, [h("thead", {}, [h("tr", {}, ["rejected", "order", "shown as A", "shown as B", "verdict", "chosen won", "raw output"].map(function (t) {
        return h("th", {}, [t]);
      }))])]);
      var vb = h("tbody");
      rows.forEach(function (r) {
        var loser = isNum(r.loser_index) ? r.loser_index + 1 : "?";
        var aIsChosen = r.chosen_is_a === true;
        var raw = h("details", { class: "raw" }, [h("summary", {}, ["show (" + String(r.raw || "").length + " characters)"]), textBlock(String(r.raw || ""), { data: { role: "raw" } })]);
        vb.appendChild(h("tr", {}, [
          h("td", { class: "num" }, [String(loser)]), h("td", {}, [String(r.order)]),
          h("td", {}, [aIsChosen ? "chosen" : "rejected " + loser]), h("td", {}, [aIsChosen ? "rejected " + loser : "chosen"]),
          h("td", {}, [String(r.verdict) + (r.error ? " (" + r.error + ")" : "")]),
          h("td", {}, [r.chosen_won ? "yes" : "no"]), h("td", {}, [raw])
        ]));
      });
      vt.appendChild(vb);
      container.appendChild(vt);
    });
  }

  function pageItems() {
    var summary = store.summary, index = store.index;
    var rmNames = Object.keys(index.outcomes);
    clear(main);
    main.appendChild(h("h1", {}, ["Items: " + summary.benchmark]));
    main.appendChild(h("p", { class: "lead" }, [summary.n_items.toLocaleString("en") + " items, " + summary.n_texts.toLocaleString("en") +
      " unique texts. Outcomes: ✓ right, ✗ wrong, = tie, ! invalid (ties and invalid count as wrong), n/a: not judged item by item. " +
      "Non-baseline RMs: " + (index.judged_rms.length ? index.judged_rms.join(", ") : "none in this run") + "."]));
    var filters = h("div", { class: "filters", id: "filters" });
    var view = h("div", { id: "view" });
    main.appendChild(filters);
    main.appendChild(view);

    function setState(changes, keepPage) {
      var state = Object.assign(readHash(), changes);
      if (!keepPage) state.page = "";
      location.hash = hashOf(state);
    }

    function drawFilters(state) {
      clear(filters);
      ["format", "goal", "task", "scenario"].forEach(function (col) {
        var options = [["", "any"]].concat(index.vocab[col].map(function (v) { return [v, v]; }));
        filters.appendChild(selectControl("filter-" + col, col, options, state[col], function (v) { var c = {}; c[col] = v; c.item = ""; setState(c); }));
      });
      filters.appendChild(selectControl("filter-show", "show", SHOW, state.show, function (v) { setState({ show: v, item: "" }); }));
      var rmOptions = rmNames.map(function (n) { return [n, n]; });
      filters.appendChild(selectControl("filter-rm", "RM", rmOptions, state.rm || rmNames[0], function (v) { setState({ rm: v, item: "" }); }));
      filters.appendChild(selectControl("filter-rm2", "second RM (disagree)", rmOptions, state.rm2 || rmNames[1] || rmNames[0], function (v) { setState({ rm2: v, item: "" }); }));
    }

    var token = 0;
    function route() {
      var state = readHash();
      var mine = ++token;
      drawFilters(state);
      var rows = matches(index, state);
      if (state.item) {
        var i = index.ids.indexOf(state.item);
        if (i < 0) { clear(view).appendChild(h("p", { class: "error" }, ["No item " + state.item + " in " + summary.benchmark + "."])); body.dataset.ready = "1"; return; }
        var at = rows.indexOf(i);
        var nav = { prev: at > 0 ? rows[at - 1] : null, next: at >= 0 && at + 1 < rows.length ? rows[at + 1] : null };
        body.dataset.ready = "";
        clear(view).appendChild(h("p", { class: "loading" }, ["Loading item " + state.item + "…"]));
        loadItem(index, i).then(function (loaded) {
          if (mine !== token) return;
          drawItem(view, summary, index, i, loaded, state, nav);
          body.dataset.ready = "1";
        }).catch(function (err) {
          clear(view).appendChild(h("p", { class: "error" }, [String(err.message || err)]));
          body.dataset.ready = "1";
        });
        return;
      }
      var pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
      var page = Math.min(Math.max(1, parseInt(state.page || "1", 10) || 1), pages);
      clear(view);
      var go = function (p) { setState({ page: String(p) }, true); };
      view.appendChild(pager(rows.length, page, PAGE_SIZE, go));
      view.appendChild(itemTable(index, rows.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE), state, function (id) { return itemLink(state, id); }));
      body.dataset.ready = "1";
    }
    window.addEventListener("hashchange", route);
    route();
  }

  function pageSuspect() {
    var summary = store.summary, index = store.index;
    clear(main);
    main.appendChild(h("h1", {}, ["Suspect items: " + summary.benchmark]));
    main.appendChild(h("p", { class: "lead" }, ["The first places to look for bad labels: items no non-baseline RM gets right, items whose chosen and rejected texts are identical (no scorer can get them right), and items whose label disagrees with the benchmark's own judge scores."]));
    var sections = [
      { flag: FLAG_ALL_WRONG, show: "all_wrong", id: "suspect-all-wrong", title: "No non-baseline RM gets it right",
        note: index.judged_rms.length ? "Every one of " + index.judged_rms.join(", ") + " is wrong, tied or invalid on these items (the random and length baselines are left out)."
          : "The run lists no RM besides the baselines, so no item is listed." },
      { flag: FLAG_IDENTICAL, show: "identical", id: "suspect-identical", title: "Identical chosen and rejected texts",
        note: "A rejected response (a best-of-N loser) is byte-identical to the chosen one: the item can never be scored right." },
      { flag: FLAG_CONFLICT, show: "conflict", id: "suspect-conflict", title: "Label vs judge score",
        note: "A rejected response has a judge score at or above the chosen one's (only benchmarks with judge scores can have these)." }
    ];
    sections.forEach(function (sec) {
      var rows = [];
      for (var i = 0; i < index.ids.length; i++) if (index.flags[i] & sec.flag) rows.push(i);
      var box = h("section", { id: sec.id, data: { count: rows.length } });
      var perFormat = {};
      rows.forEach(function (i) { var f = index.vocab.format[index.format[i]]; perFormat[f] = (perFormat[f] || 0) + 1; });
      var split = Object.keys(perFormat).length > 1 ? ": " + Object.keys(perFormat).map(function (f) { return perFormat[f].toLocaleString("en") + " " + f; }).join(", ") : "";
      box.appendChild(h("h2", {}, [sec.title + " (" + rows.length.toLocaleString("en") + split + ")"]));
      box.appendChild(h("p", { class: "note" }, [sec.note, " ", rows.length ? h("a", { href: "items.html#" + hashOf({ show: sec.show }) }, ["Browse them with their texts."]) : null]));
      var holder = h("div");
      box.appendChild(holder);
      var size = 50;
      function draw(page) {
        clear(holder);
        if (!rows.length) return;
        holder.appendChild(pager(rows.length, page, size, draw));
        var tbl = h("table", {}, [h("thead", {}, [h("tr", {}, ["item", "format", "goal", "scenario", "losers"].concat(sec.flag === FLAG_CONFLICT ? ["chosen judge score", "highest rejected"] : []).map(function (t) {
          return h("th", {}, [t]);
        }))])]);
        var tbody = h("tbody");
        rows.slice((page - 1) * size, page * size).forEach(function (i) {
          var tr = h("tr", {}, [
            h("td", {}, [h("a", { href: "items.html#" + hashOf({ show: sec.show, item: index.ids[i] }) }, [index.ids[i]])]),
            h("td", {}, [index.vocab.format[index.format[i]]]), h("td", {}, [index.vocab.goal[index.goal[i]]]),
            h("td", {}, [index.vocab.scenario[index.scenario[i]]]), h("td", { class: "num" }, [String(index.losers[i])])
          ]);
          if (sec.flag === FLAG_CONFLICT) {
            var c = index.conflicts[String(i)] || [null, null];
            tr.appendChild(h("td", { class: "num" }, [score(c[0])]));
            tr.appendChild(h("td", { class: "num" }, [score(c[1])]));
          }
          tbody.appendChild(tr);
        });
        tbl.appendChild(tbody);
        holder.appendChild(tbl);
      }
      draw(1);
      main.appendChild(box);
    });
  }

  // ------------------------------------------------------------------------------------------ start
  var PAGES = { index: [pageIndex, ["overview"]], leaderboard: [pageLeaderboard, ["summary"]],
    items: [pageItems, ["summary", "index"]], suspect: [pageSuspect, ["summary", "index"]] };

  function start() {
    drawNav();
    var page = PAGES[body.dataset.page];
    var missing = page ? page[1].filter(function (k) { return store[k] === undefined; }) : ["a page kind"];
    if (missing.length) {
      clear(main).appendChild(h("p", { class: "error" }, ["This page's data did not load (" + missing.join(", ") +
        "): the site's data/ files are missing or were not copied with the page."]));
      body.dataset.ready = "1";
      return;
    }
    page[0]();
    if (body.dataset.page !== "items") body.dataset.ready = "1";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
