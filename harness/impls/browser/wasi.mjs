// wasi.mjs — the few WASI preview1 imports the reference's wasm32-wasi module needs, for a
// browser (which has no node:wasi). The module is a reactor that never opens files from the
// host: it has no preopened directories, so path_open is never reached with a directory fd
// and every file open fails (load_model_file then reports IO_ERROR as a native load would).
// Of the 12 imports only fd_prestat_get (and clock_time_get, for a pool's time ceiling) runs (wasi-libc's preopen scan at
// _initialize); fd_write forwards stdout/stderr text (the module writes none in normal use).
const EBADF = 8;
const ENOSYS = 52;
const ESPIPE = 70;

export class BrowserWasi {
  constructor(log = (text) => console.warn(text)) {
    this.log = log;
    this.memory = null;
    const badf = () => EBADF;
    this.wasiImport = {
      fd_prestat_get: badf,          // no preopens: the scan ends at fd 3
      fd_prestat_dir_name: badf,
      fd_close: badf,
      fd_fdstat_get: (fd, buf) => (fd <= 2 ? this.fdstat(buf) : EBADF),
      fd_fdstat_set_flags: () => ENOSYS,
      fd_filestat_get: badf,
      fd_read: badf,
      fd_seek: (fd) => (fd <= 2 ? ESPIPE : EBADF),
      fd_write: (fd, iovs, n, nwritten) => this.write(fd, iovs, n, nwritten),
      path_open: badf,
      proc_exit: (code) => { throw new Error(`wasm module called proc_exit(${code})`); },
      // the pooled module's request time ceiling (reference/wasm/wasm_pool.c, R-POOL-022) reads
      // CLOCK_MONOTONIC (id 1); CLOCK_REALTIME is 0. u64 nanoseconds at time_ptr.
      clock_time_get: (id, precision, timePtr) => this.clock(id, timePtr),
    };
  }

  clock(id, timePtr) {
    if (id !== 0 && id !== 1) return 28; // EINVAL
    const ms = id === 0 ? Date.now() : performance.timeOrigin + performance.now();
    const ns = BigInt(Math.floor(ms * 1e6));
    new DataView(this.memory.buffer).setBigUint64(timePtr, ns, true);
    return 0;
  }

  initialize(instance) {
    this.memory = instance.exports.memory;
    instance.exports._initialize();
  }

  // stdin/stdout/stderr: a character device with no flags; all rights (24-byte fdstat).
  fdstat(buf) {
    const m = new Uint8Array(this.memory.buffer, buf, 24);
    m.fill(0);
    m[0] = 2; // __WASI_FILETYPE_CHARACTER_DEVICE
    m.fill(0xff, 8, 24);
    return 0;
  }

  write(fd, iovs, n, nwritten) {
    if (fd !== 1 && fd !== 2) return EBADF;
    const view = new DataView(this.memory.buffer);
    let total = 0;
    let text = '';
    const dec = new TextDecoder();
    for (let i = 0; i < n; i++) {
      const ptr = view.getUint32(iovs + 8 * i, true);
      const len = view.getUint32(iovs + 8 * i + 4, true);
      text += dec.decode(new Uint8Array(this.memory.buffer, ptr, len));
      total += len;
    }
    this.log(text);
    view.setUint32(nwritten, total, true);
    return 0;
  }
}
