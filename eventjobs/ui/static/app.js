// The eventjobs dashboard: plain JavaScript, no dependencies, no build step.
//
// Everything it shows comes from the server's API with the user's token
// (sessionStorage, sent as a Bearer header), so it sees exactly what the job
// API lets that user see. The DOM is built from text nodes only (never from
// HTML strings): paths, owners and bodies are whatever clients sent.
'use strict';

(() => {
  // The page lives at <prefix>/_eventjobs/ui; the API below the same prefix
  // (a reverse proxy's sub-path, or /_db/<name>).
  const BASE = location.pathname.replace(/\/_eventjobs\/ui\/?$/, '');
  const TOKEN_KEY = 'eventjobs.jwt';
  const ROW_LIMIT = 500;
  const PREVIEW_CHARS = 4000;
  const CHART_WINDOW_SECONDS = 600;
  const CHART_MIN_SPAN_SECONDS = 60;
  const SERIES = [
    { key: 'queued', label: 'Queued' },
    { key: 'running', label: 'Running' },
    { key: 'done', label: 'Done' },
    { key: 'failed', label: 'Failed (status ≥ 400)' },
  ];

  const state = {
    auth: false,
    checkpoints: false, // the server signs checkpoints: job pages show receipts
    token: sessionStorage.getItem(TOKEN_KEY),
    caller: null,
    counts: null,
    rows: { pending: [], done: [] },
    loaded: false, // the first answer with the rows has come
    matched: { pending: 0, done: 0 },
    clockOffset: 0, // server seconds minus browser seconds
    sort: { pending: { key: 'id', dir: -1 }, done: { key: 'finished', dir: -1 } },
    filters: { owner: '', path: '' },
    samples: [],
    jobId: null,
    stream: null,
    armed: null, // {id, until}: the delete button asked "sure?"
    unfolded: null, // the job whose every progress report is shown
  };

  const $ = (id) => document.getElementById(id);

  // -- DOM from text ----------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = value;
      else if (name === 'dataset') Object.assign(node.dataset, value);
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    return node;
  }

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  // -- formatting ---------------------------------------------------------------

  const serverNow = () => Date.now() / 1000 + state.clockOffset;

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return '–';
    if (seconds < 0) seconds = 0;
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
    return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
  }

  function clockTime(unix) {
    const date = new Date(unix * 1000);
    const pad = (n, width = 2) => String(n).padStart(width, '0');
    return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  }

  // One way for every absolute time, in the browser's time zone: ISO-like
  // (year first), never the locale's month/day order.
  function dateTime(unix) {
    const date = new Date(unix * 1000);
    const pad = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clockTime(unix)}`;
  }

  // No owner (submitted while authentication was off) is `-`, as the owner
  // filter names it: a real user may be called "anonymous".
  const NO_OWNER = '-';
  const ownerText = (owner) => (owner === null || owner === undefined ? NO_OWNER : owner);

  function statusClass(status) {
    if (status === null || status === undefined) return 'neutral';
    if (status < 300) return 'ok';
    if (status < 400) return 'neutral';
    if (status < 500) return 'warn';
    return 'bad';
  }

  function badge(text, kind) {
    return el('span', { class: `badge badge-${kind}`, text });
  }

  function progressBar(progress) {
    if (!progress) return null;
    const percent = Math.round(Math.max(0, Math.min(1, progress.fraction)) * 100);
    const fill = el('span', { class: 'bar-fill' });
    fill.style.width = `${percent}%`;
    return el(
      'span',
      { class: 'progress', title: progress.message || `${percent}%` },
      el('span', { class: 'bar', role: 'progressbar', 'aria-valuenow': percent, 'aria-valuemin': 0, 'aria-valuemax': 100 }, fill),
      el('span', { class: 'progress-text', text: progress.message ? `${percent}% · ${progress.message}` : `${percent}%` }),
    );
  }

  // -- the API --------------------------------------------------------------------

  class Unauthorized extends Error {}

  function headers() {
    return state.token ? { Authorization: `Bearer ${state.token}` } : {};
  }

  async function api(method, path, { body, allow = [] } = {}) {
    const init = { method, headers: headers(), credentials: 'omit', cache: 'no-store' };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(BASE + path, init);
    if (response.status === 401 && state.auth) {
      signOut('Your session has ended: sign in again.');
      throw new Unauthorized();
    }
    if (!response.ok && !allow.includes(response.status)) {
      let message = `${method} ${path}: ${response.status}`;
      try {
        const error = await response.json();
        if (error && error.errorMessage) message += ` ${error.errorMessage}`;
      } catch (_) { /* not JSON */ }
      throw new Error(message);
    }
    return response;
  }

  function reportError(error) {
    if (error instanceof Unauthorized) return;
    const banner = $('error-banner');
    banner.textContent = String(error && error.message ? error.message : error);
    banner.hidden = false;
    clearTimeout(reportError.timer);
    reportError.timer = setTimeout(() => { banner.hidden = true; }, 6000);
  }

  // -- signing in and out -------------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const error = $('login-error');
    error.hidden = true;
    const username = $('login-user').value;
    const password = $('login-password').value;
    if (!username) {
      error.textContent = 'Enter your user name.';
      error.hidden = false;
      return;
    }
    $('login-submit').disabled = true;
    try {
      const response = await fetch(`${BASE}/_open/auth`, {
        method: 'POST',
        credentials: 'omit',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      if (response.status === 401) throw new Error('Wrong user name or password.');
      if (!response.ok) throw new Error(`The server answered ${response.status}.`);
      const { jwt } = await response.json();
      state.token = jwt;
      sessionStorage.setItem(TOKEN_KEY, jwt);
      $('login-password').value = '';
      start();
    } catch (problem) {
      error.textContent = problem.message;
      error.hidden = false;
    } finally {
      $('login-submit').disabled = false;
    }
  }

  function signOut(message) {
    state.token = null;
    state.caller = null;
    sessionStorage.removeItem(TOKEN_KEY);
    stopStream();
    state.loaded = false;
    state.rows = { pending: [], done: [] };
    state.matched = { pending: 0, done: 0 };
    renderTables();
    showLogin(message);
  }

  function showLogin(message) {
    for (const id of ['loading-view', 'list-view', 'job-view', 'who', 'logout']) show(id, false);
    show('login-view', true);
    const error = $('login-error');
    error.textContent = message || '';
    error.hidden = !message;
    setLive('signedout');
    $('login-user').focus();
  }

  function showWho() {
    const who = $('who');
    who.replaceChildren();
    if (!state.caller) return;
    if (!state.auth) {
      who.append(el('span', { class: 'muted', text: 'authentication off' }));
    } else {
      who.append(el('span', { class: 'who-name', text: ownerText(state.caller.name) }));
      if (state.caller.superuser) who.append(badge('superuser', 'accent'));
    }
    who.hidden = false;
    $('logout').hidden = !state.auth;
  }

  // -- live updates -------------------------------------------------------------------

  // "offline" only once a connection has failed: before that the page is
  // loading or connecting, which is not a failure.
  function setLive(mode) {
    const live = $('live');
    live.dataset.state = mode;
    $('live-text').textContent = {
      loading: 'loading…', connecting: 'connecting…', on: 'live', off: 'offline', signedout: 'signed out',
    }[mode];
  }

  function stopStream() {
    if (state.stream) state.stream.stop();
    state.stream = null;
  }

  // Reads /_eventjobs/events (NDJSON) with fetch, which can send the token
  // (EventSource cannot). Reconnects with a growing pause when the
  // connection breaks, or falls silent for longer than the server's
  // heartbeat allows (a connection that died without closing).
  const SILENCE_MS = 40000;

  async function follow() {
    stopStream();
    const session = { stopped: false, attempt: null };
    session.stop = () => {
      session.stopped = true;
      if (session.attempt) session.attempt.abort();
    };
    state.stream = session;
    let pause = 500;
    let failed = false;
    while (!session.stopped) {
      if (!failed) setLive('connecting');
      const attempt = new AbortController();
      session.attempt = attempt;
      let heard = Date.now();
      const watchdog = setInterval(() => {
        if (Date.now() - heard > SILENCE_MS) attempt.abort();
      }, 5000);
      try {
        const response = await fetch(`${BASE}/_eventjobs/events`, {
          headers: headers(), credentials: 'omit', cache: 'no-store', signal: attempt.signal,
        });
        if (response.status === 401 && state.auth) {
          signOut('Your session has ended: sign in again.');
          return;
        }
        if (!response.ok) throw new Error(`events: ${response.status}`);
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffered = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          heard = Date.now();
          buffered += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, end);
            buffered = buffered.slice(end + 1);
            if (line) onLine(JSON.parse(line));
          }
          pause = 500;
        }
      } catch (_) {
        // Broken, aborted or silent: try again below (unless stopped).
      } finally {
        clearInterval(watchdog);
      }
      if (session.stopped) return;
      // Offline until the next attempt's hello (onLine says live again).
      failed = true;
      setLive('off');
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 10000);
    }
  }

  function onLine(line) {
    if (line.type === 'hello') {
      setLive('on');
      refreshLists();
      if (state.jobId !== null) refreshJob();
      return;
    }
    if (line.type === 'heartbeat') return;
    refreshLists();
    if (line.type === 'overflow' || (state.jobId !== null && String(line.job) === state.jobId)) refreshJob();
  }

  // Coalesces requests: at most one load in flight, and one more after it
  // when something happened meanwhile. The pause after a load is at least
  // *gap*, and four times what the load took: a server with many jobs is
  // asked less often.
  function throttled(load, gap) {
    let running = false;
    let again = false;
    const run = async () => {
      running = true;
      again = false;
      const started = performance.now();
      try {
        await load();
      } catch (error) {
        reportError(error);
      }
      setTimeout(() => {
        running = false;
        if (again) run();
      }, Math.max(gap, 4 * (performance.now() - started)));
    };
    return () => {
      if (running) again = true;
      else run();
    };
  }

  // -- the lists ------------------------------------------------------------------------

  const refreshLists = throttled(loadLists, 200);

  async function loadLists() {
    const params = new URLSearchParams({ limit: String(ROW_LIMIT) });
    if (state.filters.owner) params.set('owner', state.filters.owner);
    if (state.filters.path) params.set('path', state.filters.path);
    const answer = await (await api('GET', `/_eventjobs/jobs?${params}`)).json();
    const { pending, done } = answer;
    state.clockOffset = answer.now - Date.now() / 1000;
    state.caller = answer.caller;
    state.counts = answer.counts;
    state.rows = { pending: pending.jobs, done: done.jobs };
    state.matched = { pending: pending.matched, done: done.matched };
    state.loaded = true;
    showWho();
    renderCounters();
    renderTables();
    updateOwners();
    renderChart(); // also sizes it, now that the list is laid out
  }

  function renderCounters() {
    for (const key of ['queued', 'running', 'cancelling', 'done', 'failed']) {
      $(`count-${key}`).textContent = state.counts ? String(state.counts[key]) : '–';
    }
  }

  function updateOwners() {
    const owners = new Set();
    for (const row of [...state.rows.pending, ...state.rows.done]) owners.add(ownerText(row.owner));
    const list = $('owners');
    list.replaceChildren(...[...owners].sort().map((owner) => el('option', { value: owner })));
  }

  const COLUMNS = {
    pending: [
      { key: 'id', label: 'ID' },
      { key: 'owner', label: 'Owner' },
      { key: 'method', label: 'Method' },
      { key: 'path', label: 'Path' },
      { key: 'created', label: 'Age' },
      { key: 'state', label: 'State' },
      { key: 'progress', label: 'Progress' },
    ],
    done: [
      { key: 'id', label: 'ID' },
      { key: 'owner', label: 'Owner' },
      { key: 'method', label: 'Method' },
      { key: 'path', label: 'Path' },
      { key: 'finished', label: 'Finished' },
      { key: 'runtime', label: 'Run time' },
      { key: 'status', label: 'Status' },
    ],
  };

  const runTime = (row) => (row.started !== null && row.finished !== null ? row.finished - row.started : null);

  function sortValue(row, key) {
    switch (key) {
      case 'id': return Number(row.id);
      case 'owner': return ownerText(row.owner);
      case 'progress': return row.progress ? row.progress.fraction : -1;
      case 'runtime': return runTime(row) ?? -1;
      case 'status': return row.status ?? -1;
      case 'created': return -row.created; // sorting by age: oldest is largest
      case 'finished': return row.finished ?? 0;
      default: return row[key] ?? '';
    }
  }

  function sorted(which) {
    const { key, dir } = state.sort[which];
    return [...state.rows[which]].sort((a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return dir * (order || Number(a.id) - Number(b.id));
    });
  }

  function setSort(which, key) {
    const current = state.sort[which];
    state.sort[which] = { key, dir: current.key === key ? -current.dir : (key === 'id' ? -1 : 1) };
    renderTable(which);
  }

  function renderTables() {
    renderTable('pending');
    renderTable('done');
  }

  function renderTable(which) {
    const table = $(`${which}-table`);
    const columns = COLUMNS[which];
    const { key, dir } = state.sort[which];
    const head = el('tr', {}, columns.map((column) => el(
      'th',
      { scope: 'col', 'aria-sort': column.key === key ? (dir > 0 ? 'ascending' : 'descending') : 'none' },
      el('button', { type: 'button', class: 'sort', onclick: () => setSort(which, column.key) },
        column.label, el('span', { class: 'sort-mark', 'aria-hidden': 'true', text: column.key === key ? (dir > 0 ? '▲' : '▼') : '' })),
    )));
    const rows = sorted(which).map((row) => jobRow(which, row, columns));
    if (!rows.length) {
      const filtered = state.filters.owner || state.filters.path;
      rows.push(el('tr', { class: 'empty' }, el('td', {
        colspan: columns.length,
        text: !state.loaded ? 'Loading…' : filtered ? 'No job matches the filters.' : (which === 'pending' ? 'No job is queued or running.' : 'No finished job is waiting to be fetched.'),
      })));
    }
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, rows));
    $(`${which}-count`).textContent = String(state.matched[which]);
    const shown = state.rows[which].length;
    $(`${which}-note`).textContent = state.matched[which] > shown ? `showing the newest ${shown} of ${state.matched[which]}` : '';
  }

  function jobRow(which, row, columns) {
    const cells = {
      id: el('a', { href: `#/jobs/${row.id}`, class: 'job-link', text: row.id }),
      owner: el('span', { class: row.owner === null ? 'muted' : '', text: ownerText(row.owner) }),
      method: el('span', { class: 'method', text: row.method }),
      path: el('span', { class: 'path', text: row.path }),
      created: el('span', { class: 'age', dataset: { since: row.created }, text: duration(serverNow() - row.created) }),
      finished: el('span', { class: 'age', dataset: { since: row.finished }, text: `${duration(serverNow() - row.finished)} ago` }),
      state: badge(row.state, row.state),
      progress: progressBar(row.progress) || el('span', { class: 'muted', text: '–' }),
      runtime: el('span', { text: duration(runTime(row)) }),
      status: badge(String(row.status), statusClass(row.status)),
    };
    const tr = el('tr', { class: 'job-row', dataset: { job: row.id, state: row.state } },
      columns.map((column) => el('td', { dataset: { label: column.label }, class: `col-${column.key}` }, cells[column.key])));
    tr.addEventListener('click', (event) => {
      if (event.target.closest('a')) return;
      location.hash = `#/jobs/${row.id}`;
    });
    return tr;
  }

  function tickAges() {
    for (const node of document.querySelectorAll('.age[data-since]')) {
      const since = Number(node.dataset.since);
      const ago = node.closest('.col-finished') ? ' ago' : '';
      node.textContent = duration(serverNow() - since) + ago;
    }
  }

  // -- the chart --------------------------------------------------------------------------

  function sample() {
    if (!state.counts) return;
    const counts = state.counts;
    const now = Date.now() / 1000;
    state.samples.push({
      t: now,
      queued: counts.queued,
      running: counts.running + counts.cancelling,
      done: counts.done,
      failed: counts.failed,
    });
    while (state.samples.length && state.samples[0].t < now - CHART_WINDOW_SECONDS) state.samples.shift();
    renderChart();
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  function renderChart() {
    const chart = $('chart');
    // Drawn at the element's own size, so that text is never stretched.
    const width = Math.max(200, chart.clientWidth || 720);
    const height = Math.max(100, chart.clientHeight || 180);
    const left = 40;
    const right = 8;
    const top = 10;
    const bottom = 22;
    const now = Date.now() / 1000;
    const first = state.samples.length ? state.samples[0].t : now;
    const span = Math.min(CHART_WINDOW_SECONDS, Math.max(CHART_MIN_SPAN_SECONDS, now - first));
    const peak = Math.max(0, ...state.samples.map((s) => Math.max(...SERIES.map(({ key }) => s[key]))));
    const top_value = niceMax(peak);
    const x = (t) => left + ((t - (now - span)) / span) * (width - left - right);
    const y = (v) => top + (1 - v / top_value) * (height - top - bottom);
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart-svg' });
    for (const fraction of [0, 0.5, 1]) {
      const value = top_value * fraction;
      root.append(svg('line', { x1: left, x2: width - right, y1: y(value), y2: y(value), class: 'grid' }));
      const label = svg('text', { x: left - 6, y: y(value) + 4, class: 'axis', 'text-anchor': 'end' });
      label.textContent = String(Math.round(value));
      root.append(label);
    }
    const minutes = Math.round(span / 60);
    for (const [t, text, anchor] of [[now - span, `−${minutes} min`, 'start'], [now, 'now', 'end']]) {
      const label = svg('text', { x: x(t), y: height - 6, class: 'axis', 'text-anchor': anchor });
      label.textContent = text;
      root.append(label);
    }
    for (const { key } of SERIES) {
      if (!state.samples.length) break;
      // Steps: a count holds until the next sample.
      let points = '';
      state.samples.forEach((s, i) => {
        if (i > 0) points += `${x(s.t).toFixed(1)},${y(state.samples[i - 1][key]).toFixed(1)} `;
        points += `${x(s.t).toFixed(1)},${y(s[key]).toFixed(1)} `;
      });
      root.append(svg('polyline', { points, class: `series series-${key}` }));
    }
    chart.replaceChildren(root);
    $('chart-span').textContent = `last ${minutes} min`;
  }

  function renderLegend() {
    $('legend').replaceChildren(...SERIES.map(({ key, label }) => el('span', { class: 'legend-item' },
      el('span', { class: `swatch swatch-${key}` }), label)));
  }

  // -- one job's page -----------------------------------------------------------------------

  const refreshJob = throttled(loadJob, 300);

  const ENDINGS = { done: 'done', cancelled: 'cancelled', timed_out: 'timed out', interrupted: 'interrupted' };

  // The job's story, folded from its journal records (the same fold as the server's).
  function story(history) {
    const job = { id: String(history.job), owner: history.owner, events: history.events, visible: true, progress: null };
    for (const event of history.events) {
      switch (event.type) {
        case 'queued':
          job.queued = event.time; job.request = event.request; job.store = event.store;
          job.visible = event.store;
          break;
        case 'started': job.started = event.time; break;
        case 'requeued': job.started = undefined; job.cancelling = false; job.progress = null; break;
        case 'retrying': job.started = undefined; job.cancelling = false; job.progress = null; break;
        case 'progress': job.progress = { fraction: event.fraction, message: event.message }; break;
        case 'cancelling': job.cancelling = true; break;
        case 'fetched': job.visible = false; job.gone = 'fetched'; break;
        case 'deleted': job.visible = false; job.gone = 'deleted'; break;
        default:
          if (event.type in ENDINGS) {
            job.ended = event.time; job.ending = event.type; job.response = event.response;
            job.cancelling = false; job.progress = null;
          }
      }
    }
    if (job.ended) job.label = ENDINGS[job.ending];
    else if (job.gone) job.label = 'deleted while pending';
    else if (job.cancelling) job.label = 'cancelling';
    else if (job.started !== undefined) job.label = 'running';
    else job.label = 'queued';
    return job;
  }

  async function loadJob() {
    const id = state.jobId;
    if (id === null) return;
    const response = await api('GET', `/_eventjobs/jobs/${encodeURIComponent(id)}/history`, { allow: [404] });
    if (state.jobId !== id) return;
    if (response.status === 404) {
      $('job-content').replaceChildren(el('div', { class: 'card' },
        el('h1', { text: `Job ${id}` }),
        el('p', { class: 'muted', text: 'No such job is visible to you: it does not exist, or it belongs to another user.' })));
      return;
    }
    renderJob(story(await response.json()));
    if (state.checkpoints) loadReceipt(id);
  }

  // The job's receipt status: the newest signed checkpoint that holds its
  // records. The page shows what the server says and does not check the
  // proofs or the signature itself: an auditor checks the receipt with
  // 'eventjobs journal verify-receipt' and the verifier key.
  async function loadReceipt(id) {
    const response = await api('GET', `/_eventjobs/jobs/${encodeURIComponent(id)}/receipt`, { allow: [404] });
    if (state.jobId !== id) return;
    const place = $('job-receipt');
    if (!place) return;
    if (response.status === 404) {
      place.textContent = 'not in a signed checkpoint yet';
      return;
    }
    const receipt = await response.json();
    const count = receipt.records.length;
    place.textContent = `in checkpoint ${receipt.tree_size} (${count} record${count === 1 ? '' : 's'} with inclusion proofs; not verified here: use journal verify-receipt)`;
  }

  // Long runs of progress reports are folded: the first, a button saying how
  // many more, and the last two (all of them once the button is pressed).
  const FOLD_PROGRESS_OVER = 5;

  function timelineItems(job, eventItem) {
    const items = [];
    const events = job.events;
    for (let i = 0; i < events.length;) {
      let end = i;
      while (end < events.length && events[end].type === 'progress') end += 1;
      const run = end - i;
      if (run > FOLD_PROGRESS_OVER && state.unfolded !== job.id) {
        items.push(eventItem(events[i]));
        items.push(el('li', { class: 'event event-folded' },
          el('span', { class: 'event-dot', 'aria-hidden': 'true' }),
          el('button', { type: 'button', class: 'button button-quiet fold', onclick: () => { state.unfolded = job.id; refreshJob(); } },
            `${run - 3} more progress reports`)));
        items.push(eventItem(events[end - 2]), eventItem(events[end - 1]));
        i = end;
      } else {
        items.push(eventItem(events[i]));
        i += 1;
      }
    }
    return items;
  }

  // A duration that goes on growing (tickAges updates it every second).
  function ticking(since) {
    return el('span', { class: 'age', dataset: { since }, text: duration(serverNow() - since) });
  }

  function fact(label, value) {
    return el('div', { class: 'fact' }, el('dt', { text: label }), el('dd', {}, value));
  }

  function renderJob(job) {
    const now = serverNow();
    const end = job.ended ?? (job.gone ? undefined : now);
    const wait = job.started !== undefined ? job.started - job.queued : (job.ended ? null : now - job.queued);
    const run = job.started !== undefined ? (end ?? job.started) - job.started : null;
    const labelKind = { done: statusClass(job.response && job.response.status), cancelled: 'neutral', 'timed out': 'bad', interrupted: 'bad' }[job.label] || job.label;

    const actions = el('div', { class: 'actions' });
    const pending = !job.ended && !job.gone;
    if (job.visible && pending) {
      actions.append(el('button', { class: 'button button-warn', type: 'button', id: 'job-cancel', disabled: job.cancelling, onclick: () => cancelJob(job.id) }, job.cancelling ? 'Cancelling…' : 'Cancel'));
    }
    if (job.visible) {
      actions.append(el('button', { class: 'button button-danger', type: 'button', id: 'job-delete', onclick: (event) => deleteJob(job.id, event.currentTarget) }, armed(job.id) ? 'Delete: sure?' : 'Delete'));
    }

    const request = job.request;
    const target = request ? request.path + (request.query ? `?${request.query}` : '') : '';
    const summary = el('div', { class: 'card job-head' },
      el('div', { class: 'job-title' },
        el('h1', {}, `Job ${job.id} `, el('span', { id: 'job-state', class: `badge badge-${labelKind}`, text: job.label }),
          job.gone ? el('span', { id: 'job-gone', class: 'badge badge-gone', text: job.gone }) : null),
        actions),
      el('p', { class: 'job-target' }, el('span', { class: 'method', text: request ? request.method : '' }), ' ', el('span', { class: 'path', text: target })),
      job.progress ? el('div', { class: 'job-progress' }, progressBar(job.progress)) : null,
      el('dl', { class: 'facts' },
        fact('Owner', ownerText(job.owner)),
        fact('Queued', dateTime(job.queued)),
        fact('Queue wait', job.started === undefined && !job.ended && !job.gone ? ticking(job.queued) : duration(wait)),
        fact('Run time', job.started !== undefined && !job.ended && !job.gone ? ticking(job.started) : duration(run)),
        fact('Result', job.response ? badge(String(job.response.status), statusClass(job.response.status)) : (job.store === false ? 'fire and forget' : '–')),
        fact('Client', request && request.client ? request.client : '–'),
        state.checkpoints ? fact('Receipt', el('span', { id: 'job-receipt', text: '…' })) : null));

    const eventItem = (event) => {
      const details = [];
      if (event.type === 'progress') details.push(`${Math.round(event.fraction * 100)}%${event.message ? ` · ${event.message}` : ''}`);
      if (event.response) details.push(`result ${event.response.status}`);
      if (event.reason) details.push(event.reason);
      if (event.type === 'timed_out') details.push(`after ${duration(event.timeout)}`);
      if (event.type === 'started') details.push(`waited ${duration(event.time - job.queued)} in the queue`);
      if (event.type in ENDINGS && job.started !== undefined && event.time >= job.started) details.push(`ran ${duration(event.time - job.started)}`);
      let actor = 'the server';
      if (event.type === 'queued') actor = ownerText(event.owner);
      else if ('by' in event) actor = event.by === null && event.type === 'deleted' && event.reason !== 'id' && event.reason !== 'all' && event.reason !== 'expired' ? 'the server (retention)' : ownerText(event.by);
      else if (event.type === 'progress') actor = 'the job';
      return el('li', { class: `event event-${event.type}` },
        el('span', { class: 'event-dot', 'aria-hidden': 'true' }),
        el('div', { class: 'event-body' },
          el('div', { class: 'event-line' },
            el('span', { class: 'event-type', text: event.type.replace('_', ' ') }),
            el('span', { class: 'event-who', text: actor }),
            el('time', { class: 'event-time', datetime: new Date(event.time * 1000).toISOString(), title: new Date(event.time * 1000).toISOString(), text: `${dateTime(event.time)} (+${duration(event.time - job.queued)})` })),
          details.length ? el('div', { class: 'event-detail', text: details.join(' · ') }) : null));
    };
    const timeline = el('ol', { class: 'timeline' }, timelineItems(job, eventItem));

    const sections = [
      summary,
      el('section', { class: 'card' }, el('h2', { text: 'Timeline' }), timeline),
      el('div', { class: 'previews' },
        el('section', { class: 'card' }, el('h2', { text: 'Request' }), request ? message(request.headers, request.body) : el('p', { class: 'muted', text: 'Not in the journal (pruned).' })),
        el('section', { class: 'card' }, el('h2', {}, 'Response ', job.response ? badge(String(job.response.status), statusClass(job.response.status)) : null),
          job.response ? message(job.response.headers, job.response.body) : el('p', { class: 'muted', text: pending ? 'Not finished yet.' : 'No result.' }))),
    ];
    $('job-content').replaceChildren(...sections);
  }

  function message(headerList, body) {
    const rows = (headerList || []).map(([name, value]) => el('tr', {}, el('th', { scope: 'row', text: name }), el('td', { text: value })));
    return el('div', { class: 'message' },
      rows.length ? el('table', { class: 'headers' }, el('tbody', {}, rows)) : el('p', { class: 'muted', text: 'No headers.' }),
      bodyPreview(body));
  }

  function bodyPreview(body) {
    if (!body || body.data === '') return el('p', { class: 'muted', text: 'Empty body.' });
    if (body.encoding !== 'utf-8') {
      const bytes = Math.floor((body.data.length * 3) / 4);
      return el('p', { class: 'muted', text: `Binary body, about ${bytes} bytes.` });
    }
    let text = body.data;
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) { /* shown as it is */ }
    const cut = text.length > PREVIEW_CHARS;
    return el('div', {},
      el('pre', { class: 'body', text: cut ? text.slice(0, PREVIEW_CHARS) : text }),
      cut ? el('p', { class: 'muted', text: `… ${text.length - PREVIEW_CHARS} more characters not shown.` }) : null);
  }

  async function cancelJob(id) {
    try {
      await api('PUT', `/_api/job/${encodeURIComponent(id)}/cancel`);
    } catch (error) {
      reportError(error);
    }
    refreshJob();
    refreshLists();
  }

  // Two clicks: a deleted result cannot be fetched any more. The first arms
  // the button for a few seconds (kept in the state: the page may be
  // redrawn by a live update in between).
  const ARMED_MS = 5000;
  const armed = (id) => state.armed && state.armed.id === id && Date.now() < state.armed.until;

  async function deleteJob(id, button) {
    if (!armed(id)) {
      state.armed = { id, until: Date.now() + ARMED_MS };
      button.textContent = 'Delete: sure?';
      setTimeout(() => {
        const current = $('job-delete');
        if (current && !armed(id)) current.textContent = 'Delete';
      }, ARMED_MS + 50);
      return;
    }
    state.armed = null;
    try {
      await api('DELETE', `/_api/job/${encodeURIComponent(id)}`);
    } catch (error) {
      reportError(error);
    }
    refreshJob();
    refreshLists();
  }

  // -- navigation -------------------------------------------------------------------------------

  function route() {
    if (!state.caller && state.auth && !state.token) return;
    const match = location.hash.match(/^#\/jobs\/([0-9]{1,20})$/);
    state.jobId = match ? match[1] : null;
    show('loading-view', false);
    show('login-view', false);
    show('list-view', state.jobId === null);
    show('job-view', state.jobId !== null);
    if (state.jobId !== null) {
      $('job-content').replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
      document.title = `Job ${state.jobId} · eventjobs`;
      refreshJob();
    } else {
      document.title = 'eventjobs dashboard';
    }
  }

  // The rows are loaded at once, not only on the feed's hello: a feed that
  // cannot be opened (a buffering proxy) still leaves a page with its rows.
  function start() {
    show('login-view', false);
    route();
    refreshLists();
    follow();
  }

  function bindFilters() {
    let timer;
    const changed = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        state.filters.owner = $('filter-owner').value.trim();
        state.filters.path = $('filter-path').value.trim();
        refreshLists();
      }, 200);
    };
    $('filter-owner').addEventListener('input', changed);
    $('filter-path').addEventListener('input', changed);
    $('filter-clear').addEventListener('click', () => {
      $('filter-owner').value = '';
      $('filter-path').value = '';
      changed();
    });
  }

  async function boot() {
    renderLegend();
    renderTables();
    renderChart();
    bindFilters();
    $('login-form').addEventListener('submit', signIn);
    $('logout').addEventListener('click', () => signOut());
    window.addEventListener('hashchange', route);
    window.addEventListener('resize', renderChart);
    setInterval(() => { tickAges(); }, 1000);
    setInterval(sample, 1000);
    try {
      const response = await fetch(`${BASE}/_eventjobs/ui/config.json`, { credentials: 'omit', cache: 'no-store' });
      if (!response.ok) throw new Error(`The server answered ${response.status}.`);
      const config = await response.json();
      state.auth = config.auth;
      state.checkpoints = config.checkpoints === true;
    } catch (error) {
      setLive('off');
      const loading = $('loading-view');
      loading.textContent = `Cannot load the dashboard: ${error.message || error}`;
      loading.dataset.failed = '';
      return;
    }
    if (state.auth && !state.token) showLogin();
    else start();
  }

  document.addEventListener('DOMContentLoaded', boot);
})();
