/**
 * Binds checkpoint tensors to typed model weights: every tensor is fetched on its own (one range
 * read), its shape checked against what the config implies, then handed to `ops.weight` (GPU:
 * uploaded in its storage dtype). Errors: WeightMismatch `name, expected, got`.
 */
import { WeightMismatch } from '../errors';
import type { Ops } from '../ops/ops';
import { fmtShape } from '../util/assert';
import { type QuantFormat, decodeToF32 } from '../util/dtype';
import { isQuantLayoutFormat, quantize } from '../util/quant';
import { type Checkpoint, weightFormatOf } from './safetensors';
import { EmbeddingRows } from './embeddingRows';
import type { StorageFormat, WeightGetter } from './weightGetter';
import { quantFormatFor } from './quantRule';
import type { Component } from './sourceTensor';

/**
 * Quantize-on-load for the weights of `component`: each weight gets the format quantRule.ts
 * `quantFormatFor(component, name, shape, format)` names (2-D weights `format`, in a q4 model the
 * transformer's sensitive ones q8; quantized with src/util/quant.ts `quantize` before upload); the
 * rest keep their checkpoint dtype, as do tensors the checkpoint already stores quantized.
 */
export interface QuantizeOnLoad {
  format: QuantFormat;
  component: Component;
}

export class WeightLoader<T> implements WeightGetter<T> {
  /** Bytes read so far through this loader. */
  loadedBytes = 0;
  private readonly embeddings = new Map<string, EmbeddingRows>();

  constructor(
    private readonly ops: Ops<T>,
    private readonly ckpt: Checkpoint,
    private readonly onBytes?: (loadedBytes: number, name: string) => void,
    private readonly quant?: QuantizeOnLoad,
  ) {}

  /** The total bytes of the tensors whose names pass `filter` (for progress). */
  bytesOf(filter: (name: string) => boolean): number {
    let n = 0;
    for (const [name, info] of this.ckpt.tensors) if (filter(name)) n += info.end - info.start;
    return n;
  }

  has(name: string): boolean {
    return this.ckpt.tensors.has(name);
  }

  /** Loads `name`, checking it has exactly `shape`. */
  async get(name: string, shape: readonly number[]): Promise<T> {
    const info = this.ckpt.tensors.get(name);
    if (!info) throw new WeightMismatch(name, fmtShape(shape), 'missing');
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new WeightMismatch(name, fmtShape(shape), fmtShape(info.shape));
    }
    const bytes = await this.ckpt.read(name);
    this.loadedBytes += bytes.byteLength;
    this.onBytes?.(this.loadedBytes, name);
    const format = weightFormatOf(info);
    // pack tensors already in a quantized format (src/weights/pack.ts) go to the GPU as they are
    if (isQuantLayoutFormat(format)) return this.ops.weight(bytes, format, shape, name, info.group);
    const q = this.quantFormat(name, shape);
    if (q) {
      const [rows, cols] = shape as [number, number];
      return this.ops.weight(quantize(decodeToF32(bytes, format), rows, cols, q).data, q, shape, name);
    }
    return this.ops.weight(bytes, format, shape, name);
  }

  /** The quantize-on-load format of a plain-dtype tensor (quantRule.ts), or null to keep its dtype. */
  private quantFormat(name: string, shape: readonly number[]): QuantFormat | null {
    return this.quant ? quantFormatFor(this.quant.component, name, shape, this.quant.format) : null;
  }

  /** The format `get(name, shape)` uploads: the checkpoint's, or the quantize-on-load format for 2-D weights it selects. */
  storageFormat(name: string, shape: readonly number[]): StorageFormat {
    const info = this.ckpt.tensors.get(name);
    if (!info) throw new WeightMismatch(name, fmtShape(shape), 'missing');
    const format = weightFormatOf(info);
    if (isQuantLayoutFormat(format)) return info.group === undefined ? { format } : { format, group: info.group };
    return { format: this.quantFormat(name, shape) ?? format };
  }

  /** Rows of `name` read per lookup (EmbeddingRows, one per name); its bytes are not in `loadedBytes`. */
  tokenEmbedding(name: string, shape: readonly [number, number]): EmbeddingRows {
    const info = this.ckpt.tensors.get(name);
    if (!info) throw new WeightMismatch(name, fmtShape(shape), 'missing');
    if (info.shape.length !== 2 || info.shape[0] !== shape[0] || info.shape[1] !== shape[1]) {
      throw new WeightMismatch(name, fmtShape(shape), fmtShape(info.shape));
    }
    let e = this.embeddings.get(name);
    if (!e) {
      e = new EmbeddingRows(this.ckpt, name, weightFormatOf(info), shape);
      this.embeddings.set(name, e);
    }
    return e;
  }

  /** `get` for a linear layer's weight [out, in] and, when `bias`, its bias [out]. */
  async linear(prefix: string, out: number, inp: number, bias = false): Promise<{ weight: T; bias: T | null }> {
    return {
      weight: await this.get(`${prefix}.weight`, [out, inp]),
      bias: bias ? await this.get(`${prefix}.bias`, [out]) : null,
    };
  }
}
