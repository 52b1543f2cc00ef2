/**
 * GpuContext memory accounting (Dawn): live / persistent / pooled bytes, the per-stage peaks, the
 * pool's reuse limit (longest-free buffers destroyed first) and trimPool. Sizes are whole 16-byte
 * multiples (storageBytes), so every expected number is exact.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from '../testing/gpu';

const KiB = 1024;

describe('GpuContext memory accounting', () => {
  it('tracks live, persistent and pooled bytes and the stage peaks', async () => {
    const ctx = await testGpu();
    ctx.pool.trim();
    ctx.pool.limitBytes = Infinity;
    const live0 = ctx.pool.liveBytes;
    const w = ctx.upload(new Float32Array(KiB), [KiB], 'f32', 'w', true); // 4 KiB weight
    ctx.pool.resetStagePeak();
    expect(ctx.pool.stagePeak).toEqual({ live: live0 + 4 * KiB, allocated: ctx.pool.persistentBytes + ctx.pool.pooledBytes });
    const a = ctx.alloc([2 * KiB], 'a'); // 8 KiB
    const b = ctx.alloc([KiB], 'b'); // 4 KiB
    ctx.release(a);
    ctx.release(b);
    expect(ctx.pool.liveBytes).toBe(live0 + 4 * KiB);
    expect(ctx.pool.pooledBytes).toBe(12 * KiB);
    expect(ctx.pool.stagePeak.live).toBe(live0 + 16 * KiB);
    const again = ctx.alloc([2 * KiB], 'again'); // reuses a's buffer: nothing new allocated
    expect(ctx.pool.pooledBytes).toBe(12 * KiB);
    ctx.release(again);
    ctx.release(w);
    expect(ctx.pool.persistentBytes).toBe(0);
    expect(ctx.pool.stagePeak.allocated).toBe(16 * KiB);
    ctx.pool.resetStagePeak();
    expect(ctx.pool.stagePeak).toEqual({ live: live0, allocated: 12 * KiB });
    ctx.pool.trim();
    expect(ctx.pool.pooledBytes).toBe(0);
  });

  it('tidy releases what its body allocated when the body throws, in nested scopes too', async () => {
    const ctx = await testGpu();
    const live0 = ctx.pool.liveBytes;
    const kept = ctx.tidy(() => {
      const outer = ctx.alloc([KiB], 'outer');
      expect(() =>
        ctx.tidy(() => {
          ctx.alloc([2 * KiB], 'inner');
          ctx.tidy(() => ctx.alloc([KiB], 'innermost')); // returned into the throwing scope
          throw new Error('failed step');
        }),
      ).toThrow('failed step');
      expect(ctx.pool.liveBytes).toBe(live0 + 4 * KiB); // only `outer` is live
      return outer;
    });
    expect(ctx.pool.liveBytes).toBe(live0 + 4 * KiB);
    ctx.release(kept);
    expect(ctx.pool.liveBytes).toBe(live0);
    // a throw in the outermost scope leaves nothing live either
    expect(() => ctx.tidy(() => { ctx.alloc([KiB], 'x'); throw new Error('boom'); })).toThrow('boom');
    expect(ctx.pool.liveBytes).toBe(live0);
  });

  it('keeps at most poolLimitBytes of free buffers, destroying the longest-free first', async () => {
    const ctx = await testGpu();
    ctx.pool.trim();
    ctx.pool.limitBytes = 10 * KiB;
    const [a, b, c] = [ctx.alloc([KiB], 'a'), ctx.alloc([KiB / 2], 'b'), ctx.alloc([KiB], 'c')]; // 4 + 2 + 4 KiB
    ctx.release(a);
    ctx.release(b);
    ctx.release(c);
    expect(ctx.pool.pooledBytes).toBe(10 * KiB); // at the limit: all kept
    const d = ctx.alloc([KiB / 4], 'd'); // 1 KiB, new
    ctx.release(d); // 11 KiB free > 10: a (freed first) goes
    expect(ctx.pool.pooledBytes).toBe(7 * KiB);
    const e = ctx.alloc([KiB], 'e'); // reuses c's buffer (the 4 KiB one left)
    expect(e.buffer).toBe(c.buffer);
    expect(ctx.pool.pooledBytes).toBe(7 * KiB);
    ctx.release(e);
    ctx.pool.limitBytes = 0;
    const f = ctx.alloc([KiB / 4], 'f'); // reuses d's 1 KiB buffer, then frees everything on release
    ctx.release(f);
    expect(ctx.pool.pooledBytes).toBe(0);

    // a reused buffer is no longer free: evicting everything free must spare it
    ctx.pool.limitBytes = Infinity;
    const [g, h] = [ctx.alloc([KiB], 'g'), ctx.alloc([KiB / 2], 'h')];
    ctx.release(g);
    ctx.release(h);
    const live = ctx.upload(new Float32Array(KiB).fill(7), [KiB], 'f32', 'live'); // g's buffer again
    expect(live.buffer).toBe(g.buffer);
    ctx.pool.limitBytes = 0;
    ctx.release(ctx.alloc([KiB / 4], 'i'));
    expect(ctx.pool.pooledBytes).toBe(4 * KiB);
    expect((await ctx.read(live))[KiB - 1]).toBe(7);
    ctx.release(live);
    ctx.pool.limitBytes = Infinity;
    await ctx.sync(); // no command used a destroyed buffer
  });
});
