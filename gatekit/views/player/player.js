// gatekit's player: plays a recorded run gate by gate, forward then back (or, with tangents,
// forward then the forward-mode pass).
//
// It runs inside a <div class="gatekit-player"> that holds the drawing (Graphviz's SVG), one
// <template class="gk-view"> per other view (a module use drawn open) and the run's steps as JSON;
// the data format is in gatekit/views/player/__init__.py. Every number and line of text was
// written by gatekit: this script only shows and hides them. A state s is "the first s steps
// done": 0 is the leaves only, steps.length the whole run.
"use strict";

(() => {
  const SPEEDS = [0.5, 1, 2, 4, 8, 16]; // steps per second
  const SVG = "http://www.w3.org/2000/svg";

  // A tag with a class and, optionally, its text.
  function tag(name, className, text) {
    const element = document.createElement(name);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function button(label, title, action) {
    const element = tag("button", "gk-button", label);
    element.type = "button";
    element.title = title;
    element.setAttribute("aria-label", title);
    element.addEventListener("click", action);
    return element;
  }

  // A LINE of the data as HTML: its text, each number with its full value as a tooltip.
  function lineElement(line, className) {
    const element = tag("div", className);
    for (const piece of line) {
      if (typeof piece === "string") {
        element.append(piece);
      } else {
        const number = tag("span", "gk-num", piece.text);
        number.title = piece.full;
        element.append(number);
      }
    }
    return element;
  }

  // The last of [[state, value], ...] reached by state s, or null.
  function latest(history, s) {
    let found = null;
    for (const [at, value] of history) {
      if (at <= s) found = value;
    }
    return found;
  }

  function player(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    const data = JSON.parse(root.querySelector("script.gk-data").textContent);
    const picture = root.querySelector(".gk-picture");
    const templates = [...root.querySelectorAll("template.gk-view")];
    const drawings = [picture.innerHTML, ...templates.map((template) => template.innerHTML)];

    let viewIndex = 0;
    let view = data.views[0];
    let state = 0;
    let timer = null;
    let selected = null; // the node whose details show
    let nodes = new Map(); // name -> its <g> in the drawing
    let wires = new Map(); // wire id -> its <g>
    let badges = new Map(); // name -> the <text> under its node showing its gradient so far

    // -- the controls, above the drawing; the step and the details, below it ------------------
    const bar = tag("div", "gk-bar");
    const toStart = button("|\u25C0", "back to the start (Home)", () => go(0));
    const back = button("\u25C0", "one step back (\u2190)", () => go(state - 1));
    const play = button("play", "play or pause (space)", () => toggle());
    const forward = button("\u25B6", "one step forward (\u2192)", () => go(state + 1));
    const toEnd = button("\u25B6|", "to the end (End)", () => go(steps().length));
    const speed = tag("select", "gk-speed");
    speed.title = "steps per second";
    for (const value of SPEEDS) {
      const option = tag("option", "", `${value}/s`);
      option.value = String(value);
      option.selected = value === 2;
      speed.append(option);
    }
    speed.addEventListener("change", () => {
      if (timer !== null) schedule();
    });
    const slider = tag("input", "gk-slider");
    slider.type = "range";
    slider.min = "0";
    slider.title = "every step of the run";
    slider.addEventListener("input", () => go(Number(slider.value)));
    const counter = tag("span", "gk-counter");
    const opened = tag("span", "gk-opened");
    bar.append(toStart, back, play, forward, toEnd, speed, slider, counter, opened);
    const stepPanel = tag("div", "gk-step");
    const details = tag("div", "gk-details");
    // the drawing's own title, in the page's font (Graphviz placed its words for Helvetica's widths)
    const heading = tag("div", "gk-heading", `${data.title}: `);
    heading.append(tag("span", "gk-forward", "values"));
    if (data.along !== null) {
      heading.append(" and ", tag("span", "gk-tangent", `tangents along ${data.along}`));
    }
    else if (data.grads) heading.append(" and ", tag("span", "gk-backward", `gradients of ${data.root}`));
    heading.append(", gate by gate");
    picture.before(heading, bar);
    picture.after(stepPanel, details);

    const steps = () => view.steps;

    // -- a view: its drawing in place, its elements found ---------------------------------------
    function load(index) {
      viewIndex = index;
      view = data.views[index];
      root.dataset.view = String(index);
      picture.innerHTML = drawings[index];
      nodes = new Map();
      wires = new Map();
      badges = new Map();
      const prefix = data.prefix;
      for (const group of picture.querySelectorAll("g[id]")) {
        const id = group.id;
        if (!id.startsWith(prefix)) continue; // Graphviz's own ids: the graph, the nodes' links
        const kind = id.slice(prefix.length, prefix.length + 2);
        if (kind === "n-") nodes.set(id.slice(prefix.length + 2), group);
        else if (kind === "w-" || kind === "o-") wires.set(id.slice(prefix.length), group);
      }
      for (const group of wires.values()) {
        for (const text of group.querySelectorAll("text")) {
          const fill = text.getAttribute("fill");
          if (fill === data.value_color) text.classList.add("gk-value");
          else if (fill === data.grad_color || fill === data.tangent_color) text.classList.add("gk-grad");
        }
      }
      for (const [name, group] of nodes) {
        if (!(name in view.nodes)) continue;
        group.addEventListener("click", () => select(name));
        const box = group.getBBox();
        const badge = document.createElementNS(SVG, "text");
        badge.setAttribute("class", "gk-badge");
        badge.setAttribute("x", String(box.x + box.width / 2));
        badge.setAttribute("y", String(box.y + box.height + 11));
        badge.setAttribute("text-anchor", "middle");
        group.append(badge);
        badges.set(name, badge);
      }
      for (const box of picture.querySelectorAll("g.cluster")) {
        box.addEventListener("click", () => select(view.opened));
      }
      slider.max = String(steps().length);
      opened.replaceChildren();
      if (view.opened !== null) {
        opened.append(`${view.opened} opened `, closeButton(view.opened));
      }
    }

    // Show another view, at the state that stands for the one shown now.
    function open(index) {
      const main = view.main[state];
      load(index);
      let at = 0;
      view.main.forEach((stands, s) => {
        if (stands <= main) at = s;
      });
      show(at);
    }

    // -- a state: every element shown or hidden as it says ------------------------------------
    function show(s) {
      state = s;
      const step = s > 0 ? steps()[s - 1] : null;
      const lit = new Set(step ? step.lit : []);
      for (const [name, node] of Object.entries(view.nodes)) {
        const group = nodes.get(name);
        if (!group) continue;
        group.classList.toggle("gk-pending", s < node.value_at);
        group.classList.toggle("gk-current", step !== null && step.node === name);
        group.classList.toggle("gk-sent", node.back_at !== null && s >= node.back_at);
        const badge = badges.get(name);
        if (data.along !== null) {
          const tangent = latest(node.tangents, s);
          badge.textContent = tangent === null ? "" : `tan ${tangent.text}`;
          badge.classList.add("gk-tan");
        } else {
          const grad = latest(node.grads, s);
          badge.textContent = grad === null ? "" : `grad ${grad.text}`;
        }
      }
      for (const wire of view.wires) {
        const group = wires.get(wire.id);
        if (!group) continue;
        group.classList.toggle("gk-no-value", s < wire.value_at);
        group.classList.toggle("gk-no-grad", wire.grad_at === null || s < wire.grad_at);
        group.classList.toggle("gk-lit", lit.has(wire.id));
      }
      root.dataset.state = String(s);
      root.dataset.pass = step ? step.pass : "start";
      root.classList.toggle("gk-backward", step !== null && step.pass === "backward");
      root.classList.toggle("gk-tangent", step !== null && step.pass === "tangent");
      slider.value = String(s);
      counter.textContent = `step ${s} of ${steps().length}`;
      back.disabled = toStart.disabled = s === 0;
      forward.disabled = toEnd.disabled = s === steps().length;
      showStep(step, s);
      showDetails();
    }

    function showStep(step, s) {
      stepPanel.replaceChildren();
      if (step === null) {
        stepPanel.dataset.node = "";
        stepPanel.append(tag("div", "gk-title", "start: the leaves' values; step forward to run the gates"));
        stepPanel.append(lineElement(view.start, "gk-line"));
        return;
      }
      stepPanel.dataset.node = step.node;
      const gate = step.module ? `module ${step.module}` : step.gate;
      const within = step.within ? `, in ${step.within.map((use) => use.join(": ")).join(" > ")}` : "";
      const headings = {
        forward: "forward",
        backward: `backward (gradient of ${data.root})`,
        tangent: `forward mode (tangents along ${data.along})`,
      };
      const heading = headings[step.pass];
      stepPanel.append(tag("div", "gk-title", `${heading}, step ${s}: ${step.node} (${gate}${within})`));
      step.lines.forEach((line, i) => {
        const kind = step.pass === "forward" ? "gk-forward" : i === 0 ? "gk-upstream" : `gk-${step.pass}`;
        stepPanel.append(lineElement(line, `gk-line ${kind}`));
      });
    }

    // -- the details of the node clicked ---------------------------------------------------------
    function select(name) {
      selected = name;
      showDetails();
    }

    function closeButton(name) {
      return button("close", `draw ${name} as one box`, () => open(0));
    }

    function row(label, content, className) {
      const element = tag("div", `gk-row ${className}`);
      element.append(tag("span", "gk-label", label));
      element.append(content);
      return element;
    }

    function shownElement(value) {
      const element = lineElement([value], "gk-value-text");
      if (value.shape) {
        const summary = `mean ${value.mean}, min ${value.min}, max ${value.max}`;
        element.append(tag("div", "gk-array", `shape (${value.shape.join(", ")}), ${summary}`));
      }
      return element;
    }

    function showDetails() {
      details.replaceChildren();
      const node = selected === null ? null : view.nodes[selected];
      if (!node) {
        details.dataset.node = "";
        const second = data.along !== null ? "tangent" : "gradient";
        details.append(tag("div", "gk-hint", `click a node to see its value and ${second}`));
        return;
      }
      details.dataset.node = selected;
      const kind = node.kind === "gate" || node.kind === "module" ? `${node.kind} ${node.gate}` : node.kind;
      details.append(tag("div", "gk-title", `${selected}: ${kind}`));
      const value =
        state >= node.value_at
          ? shownElement(node.value)
          : tag("span", "gk-hint", `not computed yet (step ${node.value_at})`);
      details.append(row("value", value, "gk-row-value"));
      if (data.along !== null) {
        const moved = latest(node.tangents, state);
        const tangent = moved !== null ? shownElement(moved) : tag("span", "gk-hint", "not reached yet");
        details.append(row(`tangent along ${data.along}`, tangent, "gk-row-tangent"));
      } else {
        const grad = latest(node.grads, state);
        const none = data.grads ? "none has come back yet" : "not played (--no-grads)";
        const gradient = grad !== null ? shownElement(grad) : tag("span", "gk-hint", none);
        details.append(row(`gradient of ${data.root}`, gradient, "gk-row-grad"));
      }
      if (node.locals && node.back_at !== null && state >= node.back_at) {
        const locals = tag("div", "gk-locals");
        for (const line of node.locals) locals.append(lineElement(line, "gk-line"));
        details.append(row("local gradients", locals, "gk-row-locals"));
      }
      if (node.kind === "module") {
        const index = data.views.findIndex((v) => v.opened === selected);
        if (index > 0 && index !== viewIndex) {
          details.append(button("open", `draw ${selected}'s gates`, () => open(index)));
        }
        else if (index < 0) details.append(tag("div", "gk-hint", "draw it with --expand to see its gates"));
      }
      if (view.opened !== null && selected === view.opened) details.append(closeButton(selected));
    }

    // -- moving: a step, the slider, playing ------------------------------------------------------
    function go(s) {
      show(Math.max(0, Math.min(steps().length, s)));
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(tick, 1000 / Number(speed.value));
    }

    function tick() {
      if (state >= steps().length) return pause();
      go(state + 1);
      if (state >= steps().length) pause();
      else schedule();
    }

    function pause() {
      clearTimeout(timer);
      timer = null;
      play.textContent = "play";
      root.dataset.playing = "";
    }

    function toggle() {
      if (timer !== null) return pause();
      if (state >= steps().length) go(0);
      play.textContent = "pause";
      root.dataset.playing = "1";
      schedule();
    }

    const keys = {
      ArrowRight: () => go(state + 1),
      ArrowLeft: () => go(state - 1),
      " ": () => toggle(),
      Home: () => go(0),
      End: () => go(steps().length),
    };
    const keyTarget = root.dataset.standalone ? document : root;
    keyTarget.addEventListener("keydown", (event) => {
      const action = keys[event.key];
      if (!action || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.target.tagName === "SELECT") return; // its arrows choose a speed
      event.preventDefault(); // the page does not scroll, a focused button is not pressed twice
      action();
    });

    load(0);
    show(0);
  }

  // The player this script belongs to (the <div> around it); in a viewer that runs scripts
  // another way, every player not yet started.
  const own = document.currentScript && document.currentScript.closest(".gatekit-player");
  for (const root of own ? [own] : document.querySelectorAll(".gatekit-player")) player(root);
})();
