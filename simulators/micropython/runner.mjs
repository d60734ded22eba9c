// Runs sqjz code under the official MicroPython WebAssembly port (Node.js).
//
// The repository's MicroPython-side folders are copied into the port's in-memory
// filesystem at their real paths (/sqjz/protocol/frame.py is imported as
// protocol.frame), and the hardware stand-ins in simulators/micropython/lib are put
// on sys.path as top-level modules (machine, bluetooth), as on a board.
//
//   node runner.mjs [--heap BYTES] [--root DIR] [--mount REL]... SCRIPT.py [ARGS...]
//   node runner.mjs [--heap BYTES] --serve      (JSON lines on stdin/stdout)
//
// In --serve mode each input line is {"id": any, "code": str}; each answer is one
// line {"id", "ok", "stdout", "error", "error_type"}. One interpreter serves every
// request, so state (imported modules, objects) persists between them.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_ROOT = path.resolve(HERE, "..", "..");
const DEFAULT_MOUNTS = ["protocol", "firmware"];
const STANDINS = path.join(HERE, "lib");

function parseArgs(argv) {
  const opts = { heap: 256 * 1024, root: DEFAULT_ROOT, mounts: [], serve: false, script: null, args: [] };
  let i = 0;
  while (i < argv.length) {
    const a = argv[i];
    if (opts.script !== null) { opts.args.push(a); i += 1; continue; }
    if (a === "--heap") { opts.heap = parseInt(argv[i + 1], 10); i += 2; }
    else if (a === "--root") { opts.root = path.resolve(argv[i + 1]); i += 2; }
    else if (a === "--mount") { opts.mounts.push(argv[i + 1]); i += 2; }
    else if (a === "--serve") { opts.serve = true; i += 1; }
    else if (a.startsWith("--")) { throw new Error(`unknown option ${a}`); }
    else { opts.script = a; i += 1; }
  }
  if (opts.mounts.length === 0) opts.mounts = DEFAULT_MOUNTS;
  if (!opts.serve && opts.script === null) throw new Error("give a SCRIPT.py or --serve");
  return opts;
}

// Copy a host folder into the MicroPython filesystem, skipping caches.
function copyTree(FS, hostDir, mpDir) {
  if (!fs.existsSync(hostDir)) return;
  FS.mkdirTree(mpDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (entry.name === "__pycache__" || entry.name.startsWith(".")) continue;
    const src = path.join(hostDir, entry.name);
    const dst = `${mpDir}/${entry.name}`;
    if (entry.isDirectory()) copyTree(FS, src, dst);
    else if (entry.isFile()) FS.writeFile(dst, fs.readFileSync(src));
  }
}

async function boot(opts, sink) {
  const mp = await loadMicroPython({
    heapsize: opts.heap,
    stdout: (line) => sink.out(line),
    stderr: (line) => sink.err(line),
  });
  for (const rel of opts.mounts) copyTree(mp.FS, path.join(opts.root, rel), `/sqjz/${rel}`);
  copyTree(mp.FS, STANDINS, "/lib");
  mp.runPython("import sys\nsys.path[:] = ['', '/sqjz', '/lib', '.frozen']\n");
  return mp;
}

// The port line-buffers output; hand over a last line that had no newline.
function flushPartial(mp) {
  const m = mp._module;
  for (const [buf, fn] of [[m._stdoutBuffer, m.stdout], [m._stderrBuffer, m.stderr]]) {
    if (buf && buf.length) fn(10);
  }
}

function pythonErrorText(e) {
  return e && e.name === "PythonError" ? { type: e.type, text: e.message } : { type: "JSError", text: String(e && e.stack || e) };
}

async function runScript(opts) {
  const mp = await boot(opts, {
    out: (line) => process.stdout.write(line + "\n"),
    err: (line) => process.stderr.write(line + "\n"),
  });
  const code = fs.readFileSync(opts.script, "utf8");
  mp.globals.set("__sqjz_argv__", JSON.stringify([opts.script, ...opts.args]));
  mp.runPython("import json as _j, sys as _s\n_s.argv[:] = _j.loads(__sqjz_argv__)\ndel _j, _s\n");
  try {
    mp.runPython(code);
    flushPartial(mp);
  } catch (e) {
    flushPartial(mp);
    const err = pythonErrorText(e);
    if (err.type === "SystemExit") {
      const m = /SystemExit:?\s*(\d+)?/.exec(err.text);
      process.exitCode = m && m[1] ? parseInt(m[1], 10) : 0;
      return;
    }
    process.stderr.write(err.text);
    process.exitCode = 1;
  }
}

async function serve(opts) {
  let captured = [];
  const mp = await boot(opts, {
    out: (line) => captured.push(line),
    err: (line) => captured.push(line),
  });
  const reply = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
  reply({ id: null, ok: true, ready: true });
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let req;
    try { req = JSON.parse(line); } catch (e) { reply({ id: null, ok: false, error: `bad request: ${e}`, error_type: "BadRequest" }); continue; }
    captured = [];
    try {
      mp.runPython(req.code);
      flushPartial(mp);
      reply({ id: req.id, ok: true, stdout: captured.join("\n") });
    } catch (e) {
      flushPartial(mp);
      const err = pythonErrorText(e);
      reply({ id: req.id, ok: false, stdout: captured.join("\n"), error: err.text, error_type: err.type });
    }
  }
}

const opts = parseArgs(process.argv.slice(2));
await (opts.serve ? serve(opts) : runScript(opts));
