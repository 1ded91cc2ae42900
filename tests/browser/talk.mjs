#!/usr/bin/env node
// Drives the voiceblox web page in headless Chromium with a fake microphone fed from a WAV file.
// Spawned by the Rust integration tests; see README.md next to this file for the interface.
//
// stdout: exactly one JSON line (the result). stderr: progress log.
// Exit codes: 0 all expectations matched, 3 timeout (or stop did not end the session),
//             2 usage error, 4 page/browser crash or the page lacks an element we need.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const EXIT_OK = 0;
const EXIT_USAGE = 2;
const EXIT_TIMEOUT = 3;
const EXIT_CRASH = 4;

const USAGE = `usage: node talk.mjs --url URL --wav PATH [options]
  --url URL            page to open (http://127.0.0.1:PORT/ or http://localhost:PORT/ preferred)
  --wav PATH           fake microphone: RIFF/WAVE PCM (16-bit mono 48 kHz is ideal; Chromium
                       resamples other rates and loops the file)
  --example NAME       select this option (value or label) in #example-select
  --config PATH        put this JSON file's text into #config-editor (instead of an example)
  --until-json JSON    wait until window.voiceblox.events has an element matching this JSON subset
                       (repeatable; all must be seen), e.g. '{"type":"transcript","role":"assistant","final":true}'
  --until SPEC         shorthand for --until-json: TYPE[:FIELD=VALUE,...], values parsed as JSON when
                       they can be (true, 3, null) else taken as strings, e.g. transcript:role=assistant,final=true
  --duration SECONDS   stay in the session at least this long (default 0)
  --hold-to-talk SECONDS
                       once the agent is listening, press #talk-button (mouse down), hold it this
                       long, release it; result.talk = {pressedAtEvent, releasedAtEvent} (how many
                       events the page had then)
  --timeout SECONDS    give up waiting after this long (default 60); exit 3
  --screenshot PATH    screenshot of the page once waiting is over
  --stop               click #stop-button at the end and wait for body[data-session-state="ended"]
  --close              close the page at the end instead (as a user closing the tab; the page
                       ends its session with a keepalive request on pagehide)
  --validate-only      click #validate-button instead of #test-button, wait for the answer, report
                       the page (no session, no expectations)
  --chromium PATH      browser binary (default $VOICEBLOX_CHROMIUM or /usr/bin/chromium)
  -h, --help           this text`;

const t0 = Date.now();
function log(...a) {
  process.stderr.write(`[talk +${((Date.now() - t0) / 1000).toFixed(2)}s] ${a.join(' ')}\n`);
}

class UsageError extends Error {}

// ---------- arguments ----------

function parseSpec(spec) {
  // TYPE[:FIELD=VALUE,FIELD=VALUE]
  const [type, rest] = spec.split(/:(.*)/s, 2);
  if (!type) throw new UsageError(`--until ${JSON.stringify(spec)}: missing type`);
  const out = { type };
  if (rest) {
    for (const kv of rest.split(',')) {
      const i = kv.indexOf('=');
      if (i <= 0) throw new UsageError(`--until ${JSON.stringify(spec)}: expected FIELD=VALUE, got ${JSON.stringify(kv)}`);
      const k = kv.slice(0, i), v = kv.slice(i + 1);
      try { out[k] = JSON.parse(v); } catch { out[k] = v; }
    }
  }
  return out;
}

function parseArgs(argv) {
  const o = { until: [], timeout: 60, duration: 0, stop: false,
    chromium: process.env.VOICEBLOX_CHROMIUM || '/usr/bin/chromium' };
  const need = (i, flag) => {
    if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i], inline;
    if (a.startsWith('--') && a.includes('=')) { inline = a.slice(a.indexOf('=') + 1); a = a.slice(0, a.indexOf('=')); }
    const val = () => (inline !== undefined ? inline : (i++, need(i - 1, a)));
    switch (a) {
      case '-h': case '--help': o.help = true; break;
      case '--url': o.url = val(); break;
      case '--wav': o.wav = val(); break;
      case '--example': o.example = val(); break;
      case '--config': o.config = val(); break;
      case '--screenshot': o.screenshot = val(); break;
      case '--chromium': o.chromium = val(); break;
      case '--stop': o.stop = true; break;
      case '--validate-only': o.validateOnly = true; break;
      case '--close': o.close = true; break;
      case '--timeout': case '--duration': case '--hold-to-talk': {
        const s = val(), n = Number(s);
        if (!Number.isFinite(n) || n < 0) throw new UsageError(`${a}: not a number of seconds: ${JSON.stringify(s)}`);
        o[a === '--hold-to-talk' ? 'holdToTalk' : a.slice(2)] = n; break;
      }
      case '--until-json': {
        const s = val();
        let j;
        try { j = JSON.parse(s); } catch (e) { throw new UsageError(`--until-json: invalid JSON ${JSON.stringify(s)}: ${e.message}`); }
        if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new UsageError(`--until-json: must be a JSON object: ${s}`);
        o.until.push(j); break;
      }
      case '--until': o.until.push(parseSpec(val())); break;
      default: throw new UsageError(`unknown argument ${JSON.stringify(argv[i])}`);
    }
  }
  if (o.help) return o;
  if (!o.url) throw new UsageError('--url is required');
  if (!o.wav) throw new UsageError('--wav is required');
  let u;
  try { u = new URL(o.url); } catch { throw new UsageError(`--url: not a URL: ${o.url}`); }
  o.origin = u.origin;
  o.insecureRemote = u.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  o.wav = path.resolve(o.wav);
  o.wavInfo = checkWav(o.wav); // Chromium silently plays silence for a missing or unreadable file
  if (o.config !== undefined) {
    try { o.configText = fs.readFileSync(o.config, 'utf8'); } catch (e) { throw new UsageError(`--config: ${e.message}`); }
    try { JSON.parse(o.configText); } catch (e) { throw new UsageError(`--config ${o.config}: not JSON: ${e.message}`); }
  }
  if (o.config !== undefined && o.example !== undefined) throw new UsageError('give --example or --config, not both');
  return o;
}

function checkWav(p) {
  let buf;
  try { buf = fs.readFileSync(p); } catch (e) { throw new UsageError(`--wav: ${e.message}`); }
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new UsageError(`--wav ${p}: not a RIFF/WAVE file`);
  }
  let off = 12, fmt = null, dataBytes = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4), size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ' && off + 24 <= buf.length) {
      fmt = { format: buf.readUInt16LE(off + 8), channels: buf.readUInt16LE(off + 10),
        sampleRate: buf.readUInt32LE(off + 12), bitsPerSample: buf.readUInt16LE(off + 22) };
    } else if (id === 'data') { dataBytes = Math.min(size, buf.length - off - 8); break; }
    off += 8 + size + (size & 1);
  }
  if (!fmt || dataBytes === null) throw new UsageError(`--wav ${p}: no fmt/data chunk`);
  // 1 = integer PCM, 3 = IEEE float, 0xFFFE = WAVE_FORMAT_EXTENSIBLE
  if (![1, 3, 0xfffe].includes(fmt.format)) throw new UsageError(`--wav ${p}: unsupported WAVE format tag ${fmt.format} (want PCM)`);
  const frameBytes = fmt.channels * fmt.bitsPerSample / 8;
  return { ...fmt, seconds: frameBytes ? +(dataBytes / frameBytes / fmt.sampleRate).toFixed(3) : 0 };
}

// ---------- matching ----------

function matches(expected, actual) {
  if (expected === null || typeof expected !== 'object') return Object.is(expected, actual) || expected === actual;
  if (actual === null || typeof actual !== 'object') return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && expected.every((e, i) => matches(e, actual[i]));
  }
  return Object.keys(expected).every((k) => matches(expected[k], actual[k]));
}

// ---------- in-page instrumentation (runs before any page script) ----------

function pageInit() {
  const h = (window.__vbHarness = { states: [], micLevelMax: null, pcs: [] });
  // Every RTCPeerConnection the page makes, so we can read inbound-rtp stats ourselves.
  const Orig = window.RTCPeerConnection;
  if (Orig) {
    class HarnessRTCPeerConnection extends Orig {
      constructor(...a) { super(...a); h.pcs.push(this); }
    }
    window.RTCPeerConnection = HarnessRTCPeerConnection;
    if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = HarnessRTCPeerConnection;
  }
  const seeState = () => {
    const s = document.body && document.body.getAttribute('data-session-state');
    if (s != null && h.states[h.states.length - 1] !== s) h.states.push(s);
  };
  const seeLevel = (el) => {
    const v = parseFloat(el.getAttribute('data-level'));
    if (Number.isFinite(v) && (h.micLevelMax === null || v > h.micLevelMax)) h.micLevelMax = v;
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      if (m.type === 'attributes' && m.attributeName === 'data-session-state' && m.target === document.body) seeState();
      if (m.type === 'attributes' && m.attributeName === 'data-level' && m.target.id === 'mic-level') seeLevel(m.target);
      if (m.type === 'childList') {
        seeState();
        const el = document.getElementById('mic-level');
        if (el) seeLevel(el);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-session-state', 'data-level'] });
}

// Runs in the page on every poll.
async function pagePoll({ from, withStats }) {
  const h = window.__vbHarness || { states: [], micLevelMax: null, pcs: [] };
  const vb = window.voiceblox;
  const all = vb && Array.isArray(vb.events) ? vb.events : [];
  const start = all.length < from ? 0 : from;
  let events;
  try { events = JSON.parse(JSON.stringify(all.slice(start))); } catch { events = all.slice(start).map((e) => String(e)); }
  const el = document.getElementById('mic-level');
  if (el) {
    const v = parseFloat(el.getAttribute('data-level'));
    if (Number.isFinite(v) && (h.micLevelMax === null || v > h.micLevelMax)) h.micLevelMax = v;
  }
  const state = document.body ? document.body.getAttribute('data-session-state') : null;
  if (state != null && h.states[h.states.length - 1] !== state) h.states.push(state);
  let pageAudioStats = null;
  try { pageAudioStats = vb && vb.audioStats !== undefined ? JSON.parse(JSON.stringify(vb.audioStats)) : null; } catch { /* not JSON-able */ }
  let inbound = null;
  if (withStats) {
    for (const pc of h.pcs) {
      if (pc.connectionState === 'closed') continue;
      try {
        const st = await pc.getStats();
        st.forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'audio') {
            inbound = inbound || { bytesReceived: 0, packetsReceived: 0, totalAudioEnergy: 0, totalSamplesDuration: 0 };
            inbound.bytesReceived += r.bytesReceived || 0;
            inbound.packetsReceived += r.packetsReceived || 0;
            inbound.totalAudioEnergy += r.totalAudioEnergy || 0;
            inbound.totalSamplesDuration += r.totalSamplesDuration || 0;
          }
        });
      } catch { /* closed meanwhile */ }
    }
  }
  return { reset: start === 0 && from > 0, events, total: all.length, states: h.states.slice(),
    micLevelMax: h.micLevelMax, pageAudioStats, inbound, pcCount: h.pcs.length };
}

// ---------- what the page shows ----------

/** The page's visible state, as a person would read it: problems, steps, transcript, tools, metrics. */
function readView(page) {
  return page.evaluate(() => {
    const all = (sel) => [...document.querySelectorAll(sel)];
    const text = (el) => el.textContent.replace(/\s+/g, ' ').trim();
    return {
      problems: all('#problems li.problem').map((li) => ({ path: li.dataset.path, text: text(li) })),
      steps: all('#steps li[data-step-id]').map((li) => li.dataset.stepId),
      activeStep: document.querySelector('#steps li.active')?.dataset.stepId ?? null,
      agentState: text(document.querySelector('#agent-state') ?? document.body).slice(0, 40),
      transcript: all('#transcript .utterance').map((u) => ({
        role: u.classList.contains('user') ? 'user' : 'assistant',
        interim: u.classList.contains('interim'),
        text: text(u),
      })),
      tools: all('#tools li[data-call-id]').map((li) => ({
        callId: li.dataset.callId,
        ok: li.classList.contains('ok'),
        failed: li.classList.contains('failed'),
        text: text(li),
      })),
      metricsRows: all('#metrics tbody tr').length,
    };
  });
}

// ---------- main ----------

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`talk.mjs: ${e.message}\n${USAGE}\n`);
    console.log(JSON.stringify({ ok: false, error: `usage: ${e.message}`, events: [], sessionStates: [], consoleErrors: [], micLevelMax: null, audioReceived: null }));
    return EXIT_USAGE;
  }
  if (opts.help) { process.stderr.write(USAGE + '\n'); return EXIT_OK; }
  log(`wav ${opts.wav}: ${JSON.stringify(opts.wavInfo)}`);

  const result = {
    ok: false, events: [], sessionStates: [], consoleErrors: [], micLevelMax: null, audioReceived: null,
    audioEnergy: null, pageAudioStats: null, unmatched: opts.until.slice(), error: null, elapsedMs: 0,
    view: null,
  };
  let exitCode = EXIT_TIMEOUT;
  let crashed = null;
  let closing = false;
  let crashWake = () => {};
  const crashPromise = new Promise((r) => { crashWake = r; });
  const crash = (why) => { if (!crashed && !closing) { crashed = why; log(`CRASH: ${why}`); crashWake(); } };

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'voiceblox-chromium-'));
  const args = [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${opts.wav}`,
    '--autoplay-policy=no-user-gesture-required',
    // Chromium keeps only the LAST --disable-features, and Playwright passes its own list first, so
    // we repeat Playwright's (1.65.2, chromiumSwitches.ts) and add ours. WebRtcHideLocalIpsWithMdns
    // off: host ICE candidates carry real IPs instead of <uuid>.local names, so a server that does
    // not resolve mDNS can still connect (granted mic permission also turns the hiding off, but the
    // page may gather candidates before getUserMedia).
    '--disable-features=' + [
      'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
      'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding',
      'ThirdPartyStoragePartitioning', 'AvoidCorsURLLoaderRestartOnRedirect', 'TcpPortRandomizationWin',
      'OptimizationHints', 'NetworkTimeServiceQuerying', 'AimEnabled', 'PreconnectToSearch',
      'WebRtcHideLocalIpsWithMdns',
    ].join(','),
  ];
  // getUserMedia exists only in secure contexts; plain http is one only on localhost.
  if (opts.insecureRemote) args.push(`--unsafely-treat-insecure-origin-as-secure=${opts.origin}`);

  let ctx = null;
  const cleanup = async () => {
    closing = true;
    if (ctx) { try { await ctx.close(); } catch { /* already gone */ } }
    try { fs.rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
  };
  let printed = false;
  const printResult = () => {
    if (printed) return;
    printed = true;
    result.elapsedMs = Date.now() - t0;
    process.stdout.write(JSON.stringify(result) + '\n');
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      log(`got ${sig}; closing the browser`);
      result.ok = false;
      result.error = `killed by ${sig}`;
      printResult(); // partial result, still one line
      cleanup().finally(() => process.exit(128 + os.constants.signals[sig]));
    });
  }

  let from = 0;
  let lastInbound = null;
  const poll = async (page, withStats) => {
    const p = await page.evaluate(pagePoll, { from, withStats });
    if (p.reset) { result.events = []; from = 0; }
    result.events.push(...p.events);
    from = p.total;
    result.sessionStates = p.states;
    result.micLevelMax = p.micLevelMax;
    if (p.pageAudioStats !== null) result.pageAudioStats = p.pageAudioStats;
    if (p.inbound) lastInbound = p.inbound;
    result.unmatched = opts.until.filter((u) => !result.events.some((e) => matches(u, e)));
    return p;
  };

  try {
    log(`launching ${opts.chromium}`);
    ctx = await chromium.launchPersistentContext(userDataDir, {
      executablePath: opts.chromium,
      headless: false, // --headless=new is in args; Playwright's headless mode would add --mute-audio
      args,
      viewport: { width: 1280, height: 900 },
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
      timeout: 30_000,
    });
    ctx.on('close', () => crash('browser closed'));
    try { await ctx.grantPermissions(['microphone'], { origin: opts.origin }); } catch (e) { log(`grantPermissions: ${e.message}`); }
    await ctx.addInitScript(pageInit);
    const page = ctx.pages()[0] || (await ctx.newPage());
    page.on('crash', () => crash('page crashed'));
    page.on('console', (m) => {
      if (m.type() === 'error') {
        const loc = m.location();
        result.consoleErrors.push(loc && loc.url ? `${m.text()} (${loc.url}:${loc.lineNumber})` : m.text());
        log(`console.error: ${m.text()}`);
      }
    });
    page.on('pageerror', (e) => { result.consoleErrors.push(`pageerror: ${e.message}`); log(`pageerror: ${e.message}`); });
    const orCrash = (p) => Promise.race([p, crashPromise.then(() => { throw new Error(crashed); })]);

    log(`opening ${opts.url}`);
    const resp = await orCrash(page.goto(opts.url, { waitUntil: 'load', timeout: 30_000 }));
    if (resp && !resp.ok()) throw Object.assign(new Error(`GET ${opts.url}: HTTP ${resp.status()}`), { code: EXIT_CRASH });

    if (opts.example !== undefined) {
      log(`selecting example ${opts.example}`);
      // Options may be filled in asynchronously: wait for one whose value or label is the name.
      const found = await orCrash(page.waitForFunction((name) => {
        const sel = document.querySelector('#example-select');
        return sel && [...sel.options].some((o) => o.value === name || o.label === name || o.text.trim() === name);
      }, opts.example, { timeout: 10_000 }).then(() => true, (e) => { if (crashed) throw e; return false; }));
      if (!found) {
        const have = await page.evaluate(() => [...(document.querySelector('#example-select')?.options || [])].map((o) => o.value));
        throw Object.assign(new Error(`--example ${JSON.stringify(opts.example)}: no such option in #example-select; have ${JSON.stringify(have)}`), { code: EXIT_USAGE });
      }
      const chosen = await orCrash(page.selectOption('#example-select', opts.example, { timeout: 10_000 }));
      log(`selected ${JSON.stringify(chosen)}`);
    }
    if (opts.configText !== undefined) {
      log(`putting ${opts.config} into #config-editor`);
      await orCrash(page.fill('#config-editor', opts.configText, { timeout: 10_000 }));
    }
    if (opts.validateOnly) {
      // The page validates what it loads by itself; let that settle so the answer read below is
      // the one for this click (the page shows only its latest validation).
      await orCrash(page.waitForLoadState('networkidle', { timeout: 10_000 }));
      log('clicking #validate-button');
      await orCrash(page.click('#validate-button', { timeout: 10_000 }));
      await orCrash(page.waitForFunction(() => {
        const status = document.querySelector('#validation-summary')?.dataset.status;
        return status !== undefined && status !== 'pending';
      }, null, { timeout: 10_000 }));
      result.view = await orCrash(readView(page));
      if (opts.screenshot) await orCrash(page.screenshot({ path: opts.screenshot, fullPage: true }));
      result.ok = true;
      await cleanup();
      printResult();
      return EXIT_OK;
    }
    log('clicking #test-button');
    await orCrash(page.click('#test-button', { timeout: 10_000 }));

    const startedAt = Date.now();
    const deadline = startedAt + opts.timeout * 1000;
    let lastStatsAt = 0;
    let lastLogged = -1;
    let pressedAt = null;
    for (;;) {
      if (crashed) throw new Error(crashed);
      if (opts.holdToTalk !== undefined && !result.talk?.releasedAtEvent) {
        const listening = result.events.some((e) => e?.type === 'agent_state' && e?.state === 'listening');
        if (pressedAt === null && listening) {
          const box = await orCrash(page.locator('#talk-button').boundingBox());
          if (!box) throw new Error('#talk-button is not shown');
          await orCrash(page.mouse.move(box.x + box.width / 2, box.y + box.height / 2));
          await orCrash(page.mouse.down());
          pressedAt = Date.now();
          result.talk = { pressedAtEvent: result.events.length };
          log(`talk button pressed (event ${result.events.length})`);
        } else if (pressedAt !== null && Date.now() - pressedAt >= opts.holdToTalk * 1000) {
          await orCrash(page.mouse.up());
          result.talk.releasedAtEvent = result.events.length;
          log(`talk button released (event ${result.events.length})`);
        }
      }
      const withStats = Date.now() - lastStatsAt >= 500;
      if (withStats) lastStatsAt = Date.now();
      await orCrash(poll(page, withStats));
      if (result.events.length !== lastLogged) {
        for (const e of result.events.slice(Math.max(lastLogged, 0))) log(`event ${JSON.stringify(e).slice(0, 300)}`);
        lastLogged = result.events.length;
      }
      const satisfied = result.unmatched.length === 0;
      if (satisfied && Date.now() - startedAt >= opts.duration * 1000) { result.ok = true; exitCode = EXIT_OK; break; }
      if (Date.now() >= deadline) {
        result.error = satisfied ? null : `timeout after ${opts.timeout}s; not seen: ${JSON.stringify(result.unmatched)}`;
        if (satisfied) { result.ok = true; exitCode = EXIT_OK; } else { log(result.error); }
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    log(result.ok ? 'all expectations seen' : 'giving up');
    result.view = await orCrash(readView(page));

    if (opts.screenshot) {
      fs.mkdirSync(path.dirname(path.resolve(opts.screenshot)), { recursive: true });
      await orCrash(page.screenshot({ path: opts.screenshot, fullPage: true }));
      log(`screenshot ${opts.screenshot}`);
    }
    if (opts.stop) {
      log('clicking #stop-button');
      await orCrash(page.click('#stop-button', { timeout: 10_000 }));
      try {
        await orCrash(page.waitForSelector('body[data-session-state="ended"]', { state: 'attached', timeout: 15_000 }));
        log('session ended');
      } catch (e) {
        if (crashed) throw e;
        result.ok = false;
        exitCode = EXIT_TIMEOUT;
        result.error = (result.error ? result.error + '; ' : '') + 'stop: body[data-session-state="ended"] not seen within 15s';
        log(result.error);
      }
    }
    await orCrash(poll(page, true));
    if (opts.close) {
      log('closing the page');
      closing = true;
      await page.close({ runBeforeUnload: true });
      // The keepalive request leaves with the page; give it a moment before the browser goes.
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (e) {
    result.ok = false;
    // crash, failed navigation, or a needed element never appeared; an unknown --example is a usage error
    exitCode = !crashed && e.code === EXIT_USAGE ? EXIT_USAGE : EXIT_CRASH;
    result.error = crashed ? `${crashed}: ${e.message}` : e.message.split('\n')[0];
    log(`error: ${e.stack || e.message}`);
  }

  if (lastInbound) {
    result.audioReceived = lastInbound.bytesReceived;
    result.audioEnergy = lastInbound.totalAudioEnergy;
  } else if (result.pageAudioStats && typeof result.pageAudioStats === 'object') {
    const s = result.pageAudioStats;
    result.audioReceived = typeof s.bytesReceived === 'number' ? s.bytesReceived : null;
    result.audioEnergy = typeof s.totalAudioEnergy === 'number' ? s.totalAudioEnergy : null;
  }
  await cleanup();
  printResult();
  return exitCode;
}

main().then(
  (code) => { process.exitCode = code; },
  (e) => { log(`internal error: ${e.stack || e}`); console.log(JSON.stringify({ ok: false, error: String(e) })); process.exitCode = EXIT_CRASH; },
);
