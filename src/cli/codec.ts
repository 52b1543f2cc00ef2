/**
 * Loading jsquash's Emscripten codecs (MozJPEG, libwebp built to wasm) in Node: the factories' own
 * loaders fetch a URL, which Node cannot, so the .wasm is read from the package and compiled here.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/** Messages the codec wrote to stderr during one call, so a failure can say why. */
export interface CodecLog {
  errors: string[];
}

/** Compiled codec wasm by package path: compiled once per process. */
const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * A fresh instance of a jsquash Emscripten codec: `factory` is the package's codec .js, `wasmPath`
 * its .wasm (a package path such as '@jsquash/webp/codec/dec/webp_dec.wasm'), read through
 * createRequire and compiled once, then handed over with `instantiateWasm`. One instance per call: a codec error
 * exits the instance, and a large image's grown wasm memory is freed with it.
 */
export async function instantiateCodec<M>(factory: (options: object) => Promise<unknown>, wasmPath: string, log: CodecLog): Promise<M> {
  let wasm = compiled.get(wasmPath);
  if (!wasm) {
    wasm = readFile(createRequire(import.meta.url).resolve(wasmPath)).then((b) => WebAssembly.compile(b));
    compiled.set(wasmPath, wasm);
  }
  const module = await wasm;
  const options = {
    noInitialRun: true,
    printErr: (s: string) => log.errors.push(s),
    instantiateWasm: (imports: WebAssembly.Imports, done: (m: WebAssembly.Module) => void) => {
      const instance = new WebAssembly.Instance(module, imports);
      done(instance as unknown as WebAssembly.Module); // Emscripten's callback takes the instance
      return instance.exports;
    },
  };
  return (await factory(options)) as M;
}
