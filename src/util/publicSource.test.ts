import { describe, expect, it } from 'vitest';
import { publicSource } from './publicSource';

describe('publicSource', () => {
  it('drops credentials, query and fragment of an http(s) URL', () => {
    expect(publicSource('https://user:secret@models.example.com/klein/q4?X-Amz-Signature=abc&X-Amz-Credential=k#frag')).toBe('https://models.example.com/klein/q4');
    expect(publicSource('http://127.0.0.1:4180/model-a?token=hf_xyz')).toBe('http://127.0.0.1:4180/model-a');
    expect(publicSource('HTTPS://tok@Host.example/a/b/')).toBe('https://host.example/a/b/');
  });

  it('keeps hub ids, store ids and plain URLs as they are', () => {
    for (const s of ['black-forest-labs/FLUX.2-klein-4B', 'owner/name@v1.0', 'store:abc123', 'https://huggingface.co/owner/name']) expect(publicSource(s)).toBe(s);
  });

  it('an unparsable URL is still cut at the query and loses its userinfo', () => {
    expect(publicSource('https://us er:pw@ho st/x?sig=1')).toBe('https://ho st/x');
  });
});
