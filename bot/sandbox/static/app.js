/* Dalyvauk sandbox page: three Telegram-like chats driven by the local JSON API.
 *
 * The page long-polls GET /api/state and redraws what changed; everything the person
 * types or presses is a POST that returns once the bot has handled it. No framework,
 * no build step: plain DOM code.
 */
"use strict";

(() => {
  const CHAT_KEYS = ["resident", "moderators", "organizer"];
  const PAGEGIAI = { latitude: 55.1372, longitude: 21.9106 }; // the 📍 button's fixed location
  const STORAGE_KEY = "dalyvauk-sandbox-resident";
  const NEAR_BOTTOM_PX = 80; // "already at the bottom" if this close to it
  const TOAST_MS = 3000;
  const RETRY_MS = 1000;
  const NARROW = window.matchMedia("(max-width: 1079px)"); // keep in sync with style.css

  const SUBTITLES = {
    resident: "Gyventojo privatus pokalbis su robotu",
    organizer: "Organizatoriaus privatus pokalbis su robotu",
  };
  const KIND_LABELS = { sticker: "lipdukas", voice: "balso žinutė", video: "vaizdo įrašas",
    audio: "garso įrašas", animation: "animacija", contact: "kontaktas", poll: "apklausa" };

  const DOCUMENT_ICON =
    '<svg class="icon document-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">' +
    '<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/>' +
    '<path d="M14 2v6h6M8 13h8M8 17h8"/></svg>';

  let state = null; // the last /api/state answer
  let version = -1; // its version; -1 asks for the state at once
  let selectedResident = readStoredResident();
  let pollGeneration = 0; // bumped to drop a long poll that is in flight
  let pollController = null;
  let residentsSignature = "";

  const residentSelect = document.getElementById("resident-select");
  const connection = document.getElementById("connection");
  const views = {};
  const tabs = {};

  // ---- small helpers ------------------------------------------------------------------
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function readStoredResident() {
    try {
      const value = Number(localStorage.getItem(STORAGE_KEY));
      return Number.isInteger(value) && value > 0 ? value : null;
    } catch (_) {
      return null; // storage may be disabled
    }
  }

  function storeResident(userId) {
    try {
      localStorage.setItem(STORAGE_KEY, String(userId));
    } catch (_) {
      /* not remembered; nothing else breaks */
    }
  }

  function humanSize(bytes) {
    const format = (n) => n.toLocaleString("lt-LT", { maximumFractionDigits: 1 });
    if (!Number.isFinite(bytes) || bytes < 0) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${format(bytes / 1024)} KB`;
    return `${format(bytes / (1024 * 1024))} MB`;
  }

  function isNearBottom(scroller) {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToBottom(view) {
    view.scroller.scrollTop = view.scroller.scrollHeight;
    view.autoScrollTop = view.scroller.scrollTop;
  }

  function isShown(view) {
    return !NARROW.matches || view.section.classList.contains("active");
  }

  // ---- one chat column ----------------------------------------------------------------
  function makeView(section) {
    const view = {
      key: section.dataset.chat,
      section,
      title: section.querySelector(".chat-title"),
      subtitle: section.querySelector(".chat-subtitle"),
      body: section.querySelector(".chat-body"),
      scroller: section.querySelector(".messages"),
      list: section.querySelector(".message-list"),
      emptyHint: section.querySelector(".empty-hint"),
      toasts: section.querySelector(".toasts"),
      error: section.querySelector(".error"),
      form: section.querySelector(".input-row"),
      input: section.querySelector(".message-input"),
      photoInput: section.querySelector(".photo-input"),
      replyKeyboard: section.querySelector(".reply-keyboard"),
      chatId: null, // the chat shown; a different one (another resident) starts afresh
      signatures: new Map(), // message_id -> JSON of what is drawn, to redraw only changes
      keyboardSignature: "",
      seenToasts: new Set(),
      pinned: true, // was the list scrolled to the bottom (follow new messages)?
      autoScrollTop: 0, // where the page itself last scrolled to
      forceScroll: false, // scroll down on the next redraw (after the person's own action)
      busy: false, // a POST is in flight
      queue: Promise.resolve(), // the actions of this chat, one after another
    };

    // The person scrolling up stops the list following new messages; content growing
    // under our own scroll position (a picture loading) does not.
    view.scroller.addEventListener("scroll", () => {
      view.pinned = isNearBottom(view.scroller) ||
        view.scroller.scrollTop >= view.autoScrollTop - 1;
    });
    // Pictures loading, the reply keyboard appearing, a hidden tab shown, the window
    // resized: stay at the bottom if we were there.
    const follow = new ResizeObserver(() => {
      if (view.pinned) scrollToBottom(view);
    });
    follow.observe(view.list);
    follow.observe(view.scroller);

    view.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = view.input.value.trim();
      if (!text) return;
      view.input.value = ""; // cleared at once, like Telegram; put back if sending fails
      post(view, "/api/send", { text }).then((ok) => {
        if (!ok && !view.input.value) view.input.value = text;
      });
    });

    section.querySelector(".photo-button").addEventListener("click", () => {
      view.photoInput.click();
    });
    view.photoInput.addEventListener("change", () => {
      const file = view.photoInput.files && view.photoInput.files[0];
      view.photoInput.value = ""; // so the same picture can be chosen again
      if (!file) return;
      // Whatever is typed in the input goes along as the photo's caption.
      const caption = view.input.value.trim();
      const form = new FormData();
      form.append("caption", caption);
      form.append("file", file, file.name || "nuotrauka.jpg");
      post(view, "/api/photo", form).then((ok) => {
        if (ok && caption && view.input.value.trim() === caption) view.input.value = "";
      });
    });

    section.querySelector(".location-button").addEventListener("click", () => {
      post(view, "/api/location", { ...PAGEGIAI });
    });

    section.querySelector(".start-button").addEventListener("click", () => {
      post(view, "/api/send", { text: "/start" });
    });

    // Inline buttons and spoilers, delegated because messages are redrawn.
    view.list.addEventListener("click", (event) => {
      const button = event.target.closest("button.inline-button");
      if (button && button.dataset.data !== undefined) {
        post(view, "/api/press", {
          message_id: Number(button.dataset.messageId),
          data: button.dataset.data,
        });
        return;
      }
      const spoiler = event.target.closest(".spoiler");
      if (spoiler) spoiler.classList.toggle("revealed");
    });

    view.replyKeyboard.addEventListener("click", (event) => {
      const button = event.target.closest("button.reply-button");
      if (!button) return;
      if (button.dataset.requestLocation === "true") {
        post(view, "/api/location", { ...PAGEGIAI });
      } else {
        post(view, "/api/send", { text: button.dataset.text });
      }
    });

    return view;
  }

  // ---- talking to the server ----------------------------------------------------------
  /**
   * POST an action for one chat; shows the server's error in that chat. Resolves to true if
   * done. One action at a time per chat: a second one waits for the first (the controls are
   * disabled meanwhile, so this only happens with, e.g., a file chosen in the meantime).
   */
  function post(view, url, body) {
    const run = () => postNow(view, url, body);
    const result = view.queue.then(run, run);
    view.queue = result.catch(() => {});
    return result;
  }

  async function postNow(view, url, body) {
    if (!state) return false;
    const focused = document.activeElement;
    const versionBefore = version;
    showError(view, "");
    view.forceScroll = true;
    setBusy(view, true);
    try {
      const init = { method: "POST" };
      if (body instanceof FormData) {
        body.set("chat", view.key);
        body.set("resident", String(selectedResident));
        init.body = body;
      } else {
        init.headers = { "Content-Type": "application/json" };
        init.body = JSON.stringify({ chat: view.key, resident: selectedResident, ...body });
      }
      const response = await fetch(url, init);
      let answer = null;
      try {
        answer = await response.json();
      } catch (_) {
        /* not JSON: reported below */
      }
      if (!answer || answer.ok !== true) {
        showError(view, (answer && answer.error) || `Serverio klaida (HTTP ${response.status}).`);
        return false;
      }
      return true;
    } catch (_) {
      showError(view, "Nepavyko susisiekti su serveriu. Pabandykite dar kartą.");
      return false;
    } finally {
      setBusy(view, false);
      // Give the focus back (disabling the input took it away), if it is still there.
      if (focused && focused !== document.body && focused.isConnected &&
          document.activeElement === document.body && !focused.disabled) {
        focused.focus();
      }
      // The long poll should bring the bot's answer; ask at once if it has not yet.
      if (version === versionBefore) restartPoll(false);
    }
  }

  /** Drop the long poll in flight and start another (from scratch if `full`). */
  function restartPoll(full) {
    if (full) version = -1;
    pollGeneration += 1;
    if (pollController) pollController.abort();
  }

  async function pollLoop() {
    for (;;) {
      const generation = pollGeneration;
      pollController = new AbortController();
      const params = new URLSearchParams({ since: String(version) });
      if (selectedResident !== null) params.set("resident", String(selectedResident));
      try {
        const response = await fetch(`/api/state?${params}`, {
          signal: pollController.signal,
          cache: "no-store",
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const answer = await response.json();
        if (generation !== pollGeneration) continue; // asked for something else meanwhile
        setConnected(true);
        applyState(answer);
      } catch (_) {
        if (generation !== pollGeneration) continue; // aborted on purpose
        setConnected(false);
        version = -1; // the server may have restarted with a new version counter
        await sleep(RETRY_MS);
      }
    }
  }

  /** The small status line in the top bar: hidden while all is well. */
  function setConnected(ok) {
    connection.hidden = ok;
    connection.classList.toggle("offline", !ok);
    if (!ok) connection.textContent = "Ryšys su serveriu nutrūko – jungiamasi iš naujo…";
  }

  // ---- drawing the state --------------------------------------------------------------
  function applyState(answer) {
    if (state && answer.version < state.version) {
      // The server restarted: message and toast ids start again, so draw everything afresh.
      for (const key of CHAT_KEYS) views[key].chatId = null;
    }
    state = answer;
    version = answer.version;
    if (answer.chats && answer.chats.resident) selectedResident = answer.chats.resident.user_id;
    updateResidentSelect(answer.personas || []);
    for (const key of CHAT_KEYS) {
      if (answer.chats && answer.chats[key]) renderChat(views[key], answer.chats[key]);
    }
  }

  function updateResidentSelect(personas) {
    const residents = personas.filter((p) => p.role === "resident");
    const signature = JSON.stringify(residents);
    if (signature !== residentsSignature) {
      residentsSignature = signature;
      residentSelect.replaceChildren(
        ...residents.map((p) => {
          const option = el("option", "", p.label || p.name);
          option.value = String(p.user_id);
          return option;
        })
      );
    }
    if (selectedResident !== null) residentSelect.value = String(selectedResident);
  }

  function personaLabel(userId) {
    const persona = state && (state.personas || []).find((p) => p.user_id === userId);
    return persona ? persona.label || persona.name : "";
  }

  function renderChat(view, chat) {
    const isGroup = chat.chat_id < 0;
    const fresh = view.chatId !== chat.chat_id;
    if (fresh) {
      // Another chat in this column (a different resident, or the first state): start clean;
      // callback answers already there are old news and are not shown.
      view.chatId = chat.chat_id;
      view.list.replaceChildren();
      view.signatures.clear();
      view.seenToasts = new Set((chat.toasts || []).map((t) => t.id));
      view.pinned = true;
      view.forceScroll = true;
    }

    view.title.textContent = chat.title || view.title.textContent;
    view.subtitle.textContent = isGroup
      ? `Grupės pokalbis · rašote kaip ${personaLabel(chat.user_id) || "moderatorius"}`
      : SUBTITLES[view.key] || "";

    const messages = (chat.messages || []).filter((m) => !m.deleted);
    const added = renderMessages(view, messages, isGroup);
    view.emptyHint.hidden = messages.length > 0;

    if (view.pinned || view.forceScroll) {
      scrollToBottom(view); // (a hidden tab: the resize observer does it once shown)
      view.pinned = true;
      view.forceScroll = false;
    }
    if (added && !fresh && !isShown(view)) tabs[view.key].classList.add("unread");

    renderReplyKeyboard(view, chat.reply_keyboard);

    for (const toast of chat.toasts || []) {
      if (view.seenToasts.has(toast.id)) continue;
      view.seenToasts.add(toast.id);
      showToast(view, toast);
      if (!isShown(view)) tabs[view.key].classList.add("unread");
    }
    setBusy(view, view.busy); // new buttons follow the chat's enabled/disabled state
  }

  /** Make the list match `messages`, redrawing only new or changed ones. Returns #added. */
  function renderMessages(view, messages, isGroup) {
    const existing = new Map();
    for (const node of view.list.children) existing.set(node.dataset.messageId, node);
    let added = 0;
    let previous = null;
    for (const message of messages) {
      const id = String(message.message_id);
      const signature = JSON.stringify(message);
      let node = existing.get(id);
      existing.delete(id);
      if (!node || view.signatures.get(id) !== signature) {
        const replacement = buildMessage(message, isGroup);
        if (node) node.replaceWith(replacement);
        else added += 1;
        node = replacement;
        view.signatures.set(id, signature);
      }
      const wanted = previous ? previous.nextSibling : view.list.firstChild;
      if (node !== wanted) view.list.insertBefore(node, wanted);
      previous = node;
    }
    for (const [id, node] of existing) {
      node.remove();
      view.signatures.delete(id);
    }
    return added;
  }

  function buildMessage(m, isGroup) {
    const kind = m.kind || "text";
    const node = el("div", `message ${m.from_bot ? "from-bot" : "from-user"} kind-${kind}`);
    node.dataset.messageId = String(m.message_id);
    if (isGroup && m.sender) node.append(el("div", "sender", m.sender));

    const bubble = el("div", "bubble");
    const caption = () => {
      if (!m.html) return null;
      const text = el("div", "text");
      text.innerHTML = m.html; // safe HTML made by the server
      for (const link of text.querySelectorAll("a[href]")) {
        link.target = "_blank";
        link.rel = "noopener";
      }
      return text;
    };

    if (kind === "text") {
      bubble.append(caption() || el("div", "text", ""));
    } else if (kind === "photo" && m.photo_url) {
      const img = el("img", "photo");
      img.src = m.photo_url;
      img.alt = "Nuotrauka";
      bubble.append(img);
      const text = caption();
      if (text) bubble.append(text);
    } else if (kind === "document" && m.document) {
      const link = el("a", "document");
      link.href = m.document.url;
      link.download = m.document.name || "";
      link.insertAdjacentHTML("beforeend", DOCUMENT_ICON);
      const info = el("span", "document-info");
      info.append(el("span", "document-name", m.document.name || "failas"));
      info.append(el("span", "document-size", humanSize(m.document.size)));
      link.append(info);
      bubble.append(link);
      const text = caption();
      if (text) bubble.append(text);
    } else if (kind === "location" && m.location) {
      const { latitude, longitude } = m.location;
      bubble.append(el("div", "text location",
        `📍 ${Number(latitude).toFixed(4)}, ${Number(longitude).toFixed(4)}`));
    } else {
      // Kinds the page does not draw (or photo/document without a file): a plain marker.
      bubble.append(el("div", "text unknown", `[${KIND_LABELS[kind] || kind}]`));
      const text = caption();
      if (text) bubble.append(text);
    }

    const meta = el("span", "meta");
    if (m.edited) meta.append(el("span", "edited", "redaguota"));
    if (m.time) meta.append(el("span", "time", m.time));
    bubble.append(meta);
    node.append(bubble);

    const rows = (m.buttons || []).filter((row) => row && row.length);
    if (rows.length) {
      node.classList.add("has-buttons");
      const keyboard = el("div", "inline-keyboard");
      for (const row of rows) {
        const line = el("div", "inline-row");
        for (const b of row) line.append(inlineButton(b, m.message_id));
        keyboard.append(line);
      }
      node.append(keyboard);
    }
    return node;
  }

  function inlineButton(b, messageId) {
    if (b.url) {
      const link = el("a", "inline-button url-button", b.text);
      link.href = b.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.title = "Atsidarys naujame skirtuke";
      return link;
    }
    const button = el("button", "inline-button", b.text);
    button.type = "button";
    button.dataset.messageId = String(messageId);
    if (b.data !== undefined && b.data !== null) {
      button.dataset.data = b.data;
    } else {
      button.classList.add("unsupported"); // e.g. a web app button: not in the sandbox
      button.title = "Smėlio dėžėje nepalaikoma";
    }
    return button;
  }

  function renderReplyKeyboard(view, rows) {
    const signature = JSON.stringify(rows || null);
    if (signature === view.keyboardSignature) return;
    view.keyboardSignature = signature;
    const keyboard = view.replyKeyboard;
    keyboard.replaceChildren();
    for (const row of rows || []) {
      const line = el("div", "reply-row");
      for (const b of row) {
        const button = el("button", "reply-button", b.text);
        button.type = "button";
        button.dataset.text = b.text;
        if (b.request_location) {
          button.dataset.requestLocation = "true";
          button.title = "Siunčiama vieta: Pagėgiai";
        }
        line.append(button);
      }
      keyboard.append(line);
    }
    keyboard.hidden = keyboard.children.length === 0;
  }

  function setBusy(view, busy) {
    view.busy = busy;
    const off = busy || !state;
    view.section.classList.toggle("busy", busy);
    view.section.setAttribute("aria-busy", busy ? "true" : "false");
    const controls = view.section.querySelectorAll(
      ".input-row button, .input-row input, .reply-button, .start-button, button.inline-button"
    );
    for (const control of controls) {
      control.disabled = off || control.classList.contains("unsupported");
    }
  }

  function showError(view, text) {
    view.error.textContent = text;
    view.error.hidden = !text;
  }

  function showToast(view, toast) {
    if (toast.show_alert) {
      // A box that stays until OK is pressed, over this chat only.
      const backdrop = el("div", "alert-backdrop");
      const box = el("div", "toast alert");
      box.setAttribute("role", "alert");
      box.append(el("p", "toast-text", toast.text));
      const ok = el("button", "alert-ok", "Gerai");
      ok.type = "button";
      ok.addEventListener("click", () => backdrop.remove());
      box.append(ok);
      backdrop.append(box);
      view.body.append(backdrop);
      return;
    }
    const node = el("div", "toast", toast.text);
    view.toasts.append(node);
    setTimeout(() => node.classList.add("hiding"), TOAST_MS);
    setTimeout(() => node.remove(), TOAST_MS + 600);
  }

  // ---- tabs (narrow screens) ----------------------------------------------------------
  function activateTab(key) {
    for (const k of CHAT_KEYS) {
      const active = k === key;
      views[k].section.classList.toggle("active", active);
      tabs[k].setAttribute("aria-selected", active ? "true" : "false");
      tabs[k].tabIndex = active ? 0 : -1;
    }
    tabs[key].classList.remove("unread");
  }

  // ---- start ----------------------------------------------------------------------------
  for (const section of document.querySelectorAll("section.chat[data-chat]")) {
    const view = makeView(section);
    views[view.key] = view;
    setBusy(view, false); // disabled until the first state arrives
  }

  for (const tab of document.querySelectorAll(".tab[data-tab]")) {
    tabs[tab.dataset.tab] = tab;
    tab.addEventListener("click", () => activateTab(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      // Arrow keys move between tabs (the usual tab list behaviour).
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = CHAT_KEYS[(CHAT_KEYS.indexOf(tab.dataset.tab) + step + 3) % 3];
      activateTab(next);
      tabs[next].focus();
    });
  }
  activateTab("resident");

  residentSelect.addEventListener("change", () => {
    const userId = Number(residentSelect.value);
    if (!userId || userId === selectedResident) return;
    selectedResident = userId;
    storeResident(userId);
    showError(views.resident, "");
    restartPoll(true); // the new resident's chat comes with the next state, at once
  });

  pollLoop();
})();
